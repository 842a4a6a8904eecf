// Names that cannot collide (issue 13, item 3), on both kernel paths. A namespace that already has the exact
// kernel name a lab picks is foreign: creating it fails with "already exists", the name leaves the lab and its
// marker, and teardown neither kills the process inside nor deletes it. A marker already at the lab's path
// (a kept lab's) is never overwritten. Lab ids carry the owner's start time: a reused PID gets other names.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { afterEach, describe, expect, test } from 'vitest'
import { Lab, isNetspecError } from 'netspec'
import { kernelName, markerPath, processStartTime } from '../../src/lab/owner.js'
import { netnsNames, running } from '../fixtures/kernel.js'

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const f of cleanups.splice(0).reverse()) f()
})

async function foreignWithProcess(name: string): Promise<ChildProcess> {
  execFileSync('ip', ['netns', 'add', name])
  cleanups.push(() => netnsNames().includes(name) && execFileSync('ip', ['netns', 'del', name]))
  const child = spawn('ip', ['netns', 'exec', name, 'sleep', '300'], { stdio: 'ignore' })
  cleanups.push(() => child.kill('SIGKILL'))
  const ino = execFileSync('stat', ['-L', '-c', '%i', `/run/netns/${name}`], { encoding: 'utf8' }).trim()
  for (let i = 0; i < 500; i++) {
    try {
      if (readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() === 'sleep' && execFileSync('readlink', [`/proc/${child.pid}/ns/net`], { encoding: 'utf8' }).trim() === `net:[${ino}]`) return child
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 5))
  }
  throw new Error('sleeper did not start')
}

describe.each([
  ['netlink', undefined],
  ['NETSPEC_NO_NETLINK=1', '1'],
])('kernel path: %s', (_path, noNetlink) => {
  async function create(label: string): Promise<Lab> {
    const before = process.env.NETSPEC_NO_NETLINK
    if (noNetlink === undefined) delete process.env.NETSPEC_NO_NETLINK
    else process.env.NETSPEC_NO_NETLINK = noNetlink
    try {
      return await Lab.create({ label })
    } finally {
      if (before === undefined) delete process.env.NETSPEC_NO_NETLINK
      else process.env.NETSPEC_NO_NETLINK = before
    }
  }

  test('a namespace of the exact kernel name exists: not adopted, not killed, not deleted', async () => {
    const lab = await create('collision')
    const name = kernelName(lab.id, 'x')
    const sleeper = await foreignWithProcess(name)
    try {
      await lab.namespace('a')
      const e = await lab.namespace('x').catch((x: unknown) => x)
      expect(isNetspecError(e)).toBe(true)
      expect((e as Error).message).toContain(`a network namespace named ${name} already exists (not owned by this lab)`)
      expect((e as { hint?: string }).hint).toContain(`ip netns pids ${name}`)
      expect(lab.marker.namespaces).toEqual([kernelName(lab.id, 'a')])
      expect(JSON.parse(readFileSync(markerPath(lab.id), 'utf8')).namespaces).toEqual([kernelName(lab.id, 'a')])
      expect(lab.namespaces.map((n) => n.label)).toEqual(['a'])
      // The label is free again: nothing of it stayed in the lab.
    } finally {
      await lab.destroy()
    }
    expect(netnsNames()).toContain(name)
    expect(running(sleeper.pid!)).toBe(true)
    expect(netnsNames()).not.toContain(kernelName(lab.id, 'a'))
  })
})

test('a marker already at the lab’s path (a kept lab’s) is never overwritten', async () => {
  const lab = await Lab.create({ label: 'second owner' })
  const path = markerPath(lab.id)
  const kept = `{"version":1,"labId":"${lab.id}","kept":true}\n`
  writeFileSync(path, kept, { flag: 'wx' })
  cleanups.push(() => rmSync(path, { force: true }))
  try {
    await expect(lab.namespace('a')).rejects.toThrow(/exists already: refusing to overwrite it/)
    expect(readFileSync(path, 'utf8')).toBe(kept)
  } finally {
    await lab.destroy().catch(() => undefined)
  }
  expect(netnsNames()).not.toContain(kernelName(lab.id, 'a'))
  expect(readFileSync(path, 'utf8')).toBe(kept) // nor removed at teardown: it was never this lab's
})

test('lab ids and kernel names carry the owner’s start time: an earlier process with the same PID had other ones', async () => {
  const lab = await Lab.create({ label: 'ids' })
  try {
    const start = processStartTime(process.pid)!
    expect(lab.id).toMatch(new RegExp(`^${process.pid}-${start.toString(36)}-\\d+$`))
    const ns = await lab.namespace('a')
    expect(ns.name).toBe(`ns-${lab.id}-a`)
    expect(existsSync(`/run/netns/${ns.name}`)).toBe(true)
  } finally {
    await lab.destroy()
  }
})
