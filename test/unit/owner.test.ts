import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { kernelName, nextLabId, ownerAlive, parseKernelName, processStartTime } from '../../src/lab/owner.js'

describe('kernel names', () => {
  test('carry the owner PID, the lab number and the label', () => {
    expect(kernelName('4711-3', 'router')).toBe('ns-4711-3-router')
    expect(parseKernelName('ns-4711-3-router')).toEqual({ pid: 4711, lab: 3, label: 'router' })
  })

  test('a label with dashes survives the round trip', () => {
    expect(parseKernelName(kernelName('12-1', 'ns-1-host'))).toEqual({ pid: 12, lab: 1, label: 'ns-1-host' })
  })

  test('characters a file name should not carry are replaced, and long labels are cut to 32', () => {
    expect(kernelName('1-1', 'a:b@c')).toBe('ns-1-1-a_b_c')
    expect(kernelName('1-1', 'x'.repeat(64))).toBe(`ns-1-1-${'x'.repeat(32)}`)
  })

  test.each(['foreign-xyz', 'ns-abc-1-x', 'ns-1-x', 'ns-1-2-', 'myns-1-2-x'])('%s is not one of ours', (name) => {
    expect(parseKernelName(name)).toBeUndefined()
  })

  test('lab ids are unique within a process and start with its PID', () => {
    const a = nextLabId()
    const b = nextLabId()
    expect(a).not.toBe(b)
    expect(a.startsWith(`${process.pid}-`)).toBe(true)
    expect(nextLabId(99)).toMatch(/^99-\d+$/)
  })
})

describe('owners', () => {
  test('the start time of a live process is a number of clock ticks', () => {
    const start = processStartTime(process.pid)
    expect(Number.isInteger(start)).toBe(true)
    expect(start).toBeGreaterThan(0)
    expect(processStartTime(process.pid)).toBe(start)
  })

  test('a process that has exited has no start time', () => {
    const child = spawnSync('true')
    expect(child.pid).toBeGreaterThan(0)
    expect(processStartTime(child.pid!)).toBeUndefined()
  })

  test('a command name with spaces and parentheses does not shift the fields', async () => {
    // The kernel names a process after the file it executed: here a link called 'a) b (c'.
    const dir = mkdtempSync(join(tmpdir(), 'netspec-comm-'))
    symlinkSync('/bin/sleep', join(dir, 'a) b (c'))
    const child = spawn(join(dir, 'a) b (c'), ['5'])
    try {
      await new Promise((r) => child.once('spawn', r))
      expect(readFileSync(`/proc/${child.pid}/stat`, 'utf8')).toContain('(a) b (c)')
      const start = processStartTime(child.pid!)!
      const ticksNow = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 100
      expect(start).toBeGreaterThanOrEqual(processStartTime(process.pid)!)
      expect(start).toBeLessThanOrEqual(ticksNow + 1)
    } finally {
      child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('an owner is alive only if the PID runs and started when the marker says', () => {
    const start = processStartTime(process.pid)
    expect(ownerAlive({ ownerPid: process.pid, ownerStart: start })).toBe(true)
    expect(ownerAlive({ ownerPid: process.pid, ownerStart: undefined })).toBe(true)
    expect(ownerAlive({ ownerPid: process.pid, ownerStart: start! + 1 })).toBe(false) // a reused PID
    const gone = spawnSync('true').pid!
    expect(ownerAlive({ ownerPid: gone, ownerStart: undefined })).toBe(false)
  })
})
