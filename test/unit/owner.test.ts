import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test, vi } from 'vitest'
import { checkMarker, kernelName, nextLabId, ownerAlive, ownerTag, parseKernelName, processStartTime } from '../../src/lab/owner.js'

describe('kernel names', () => {
  test('carry the owner PID, its start-time tag, the lab number and the label', () => {
    expect(kernelName('4711-k3x9q-3', 'router')).toBe('ns-4711-k3x9q-3-router')
    expect(parseKernelName('ns-4711-k3x9q-3-router')).toEqual({ pid: 4711, tag: 'k3x9q', lab: 3, label: 'router' })
  })

  test('a label with dashes survives the round trip', () => {
    expect(parseKernelName(kernelName('12-ab-1', 'ns-1-host'))).toEqual({ pid: 12, tag: 'ab', lab: 1, label: 'ns-1-host' })
  })

  test('characters a file name should not carry are replaced, and long labels are cut to 32', () => {
    expect(kernelName('1-a-1', 'a:b@c')).toBe('ns-1-a-1-a_b_c')
    expect(kernelName('1-a-1', 'x'.repeat(64))).toBe(`ns-1-a-1-${'x'.repeat(32)}`)
  })

  test.each(['foreign-xyz', 'ns-abc-1-1-x', 'ns-1-x', 'ns-1-a-2-', 'myns-1-a-2-x', 'ns-1-a-1-x/y', 'ns-1-A-1-x'])('%s is not one of ours', (name) => {
    expect(parseKernelName(name)).toBeUndefined()
  })

  test('lab ids are unique within a process and start with its PID and start time', () => {
    const a = nextLabId()
    const b = nextLabId()
    expect(a).not.toBe(b)
    expect(a.startsWith(`${process.pid}-${processStartTime(process.pid)!.toString(36)}-`)).toBe(true)
    expect(nextLabId(99, 1234)).toMatch(/^99-ya-\d+$/)
  })

  test('a reused PID gets other ids: the start time differs', () => {
    expect(nextLabId(4711, 100_000).split('-')[1]).not.toBe(nextLabId(4711, 100_001).split('-')[1])
    expect(ownerTag(4711, 100_000)).toBe((100_000).toString(36))
  })
})

describe('marker schema', () => {
  const base = { version: 1, labId: '4711-2s-3', label: 'x', ownerPid: 4711, ownerStart: 100, createdAt: '', namespaces: ['ns-4711-2s-3-a'] }
  test('a marker as a lab writes it is valid', () => {
    expect(checkMarker('4711-2s-3.json', base)).toBeUndefined()
    expect(checkMarker('4711-2s-3.json', { ...base, adopted: ['ns-4711-2s-3-c'], etc: { 'ns-4711-2s-3-a': ['hosts', 'resolv.conf'] }, kept: true })).toBeUndefined()
  })
  test.each([
    [{ ...base, namespaces: null }, 'namespaces is not a list'],
    [{ ...base, namespaces: ['../../tmp/x/victim'] }, 'is not a kernel name of lab'],
    [{ ...base, namespaces: ['../../proc/1/ns/net'] }, 'is not a kernel name of lab'],
    [{ ...base, namespaces: ['ns-4711-2s-3-a/../../x'] }, 'is not a kernel name of lab'],
    [{ ...base, namespaces: ['ns-4711-2s-4-a'] }, 'is not a kernel name of lab'],
    [{ ...base, namespaces: ['ns-4711-2s-3-' + 'y'.repeat(33)] }, 'is not a kernel name of lab'],
    [{ ...base, adopted: ['victim'] }, 'adopted entry'],
    [{ ...base, etc: { 'ns-4711-2s-3-b': ['hosts'] } }, 'is not a namespace of lab'],
    [{ ...base, etc: { 'ns-4711-2s-3-a': ['../hosts'] } }, 'not a plain file name'],
    [{ ...base, etc: { 'ns-4711-2s-3-a': ['.hidden'] } }, 'not a plain file name'],
    [{ ...base, containers: ['--rm'] }, 'never lists containers'],
    [{ ...base, containers: ['0123456789ab'] }, 'never lists containers'],
    [{ ...base, containers: [] }, 'never lists containers'],
    [{ ...base, labId: '4711-x' }, 'is not <pid>-<tag>-<n>'],
    [{ ...base, labId: '4711-ab-3/..' }, 'is not <pid>-<tag>-<n>'],
    [{ ...base, ownerPid: 1 }, 'ownerPid 1 does not match'],
    [{ ...base, ownerStart: 101 }, 'ownerStart does not match'],
    [{ ...base, version: 2 }, 'unknown version'],
    [[1], 'not a JSON object'],
    [null, 'not a JSON object'],
  ])('refused: %j', (m, why) => {
    expect(checkMarker('4711-2s-3.json', m)).toContain(why)
  })
  test("an id without the tag (<pid>-<n>, netspec before it) is refused: its names could be another lab's", () => {
    // 'ns-4711-123-1-victim' is lab 4711-123-1's 'victim', and would be lab 4711-123's '1-victim'.
    const legacy = { ...base, labId: '4711-123', namespaces: ['ns-4711-123-1-victim'] }
    expect(checkMarker('4711-123.json', legacy)).toContain('is not <pid>-<tag>-<n>')
  })
  test('a marker whose file name is not its lab id is refused', () => {
    expect(checkMarker('4711-2s-4.json', base)).toContain('file name does not match')
  })
})

describe('state directory', () => {
  test('created root-only; a symlink or a directory others may write is refused', async () => {
    const root = mkdtempSync(join(tmpdir(), 'netspec-state-'))
    try {
      vi.stubEnv('NETSPEC_STATE_DIR', join(root, 'state'))
      vi.resetModules()
      const owner = await import('../../src/lab/owner.js')
      const m = { version: 1 as const, labId: `${process.pid}-a-1`, label: 'x', ownerPid: process.pid, ownerStart: undefined, createdAt: '', namespaces: [] }
      owner.writeMarker(m)
      expect((statSync(join(root, 'state')).mode & 0o777).toString(8)).toBe('700')
      expect((statSync(join(root, 'state', 'labs')).mode & 0o777).toString(8)).toBe('700')
      // A planted symlink at the temp file is removed, never written through.
      writeFileSync(join(root, 'target'), 'original')
      symlinkSync(join(root, 'target'), `${owner.markerPath(m.labId)}.${process.pid}.tmp`)
      owner.writeMarker({ ...m, label: 'y' })
      expect(readFileSync(join(root, 'target'), 'utf8')).toBe('original')
      expect(owner.readMarkerFiles()).toEqual({ markers: [{ ...m, label: 'y' }], bad: [] })

      rmSync(join(root, 'state'), { recursive: true })
      mkdirSync(join(root, 'elsewhere'))
      symlinkSync(join(root, 'elsewhere'), join(root, 'state'))
      expect(() => owner.ensureLabsDir()).toThrow(/is a symbolic link: refusing to write lab markers there/)
      rmSync(join(root, 'state'))
      mkdirSync(join(root, 'state'), { mode: 0o777 })
      chmodSync(join(root, 'state'), 0o777)
      expect(() => owner.ensureLabsDir()).toThrow(/is writable by others \(mode 777\)/)
    } finally {
      vi.unstubAllEnvs()
      vi.resetModules()
      rmSync(root, { recursive: true, force: true })
    }
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
