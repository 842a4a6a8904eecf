// Foreign objects survive: namespaces, a veth pair, a bridge and a process created outside netspec,
// including namespaces named exactly like ours (a dead owner's PID, a live owner's PID) that no marker
// lists, are untouched by a lab's teardown, by sweep() and by a dead owner's reaper.
// (The veth and bridge live in a foreign namespace: tests never add links to the machine's root namespace.)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { Lab, sweep } from 'netspec'
import { buildDist, ROOT } from '../fixtures/dist.js'
import { alive, leftoversOf } from './leftovers.js'

const TAG = `netspec-foreign-${process.pid}`
let victim: { pid: number; labId: string; reaper: number }
let victimChild: ChildProcess
let foreign: string[] = []
let foreignSleeper: ChildProcess

// What a foreign namespace holds, as the kernel says: its links (name, kind) and whether a process lives in it.
function state(name: string) {
  const links = JSON.parse(execFileSync('ip', ['-n', name, '-j', '-d', 'link', 'show'], { encoding: 'utf8' })) as {
    ifname: string
    linkinfo?: { info_kind?: string }
  }[]
  return links.map((l) => `${l.ifname}:${l.linkinfo?.info_kind ?? ''}`).sort()
}

beforeAll(async () => {
  await buildDist()
  // An owner whose PID the look-alike borrows; it builds a lab and waits to be killed.
  victimChild = spawn(process.execPath, ['test/torture/fixtures/worker.mjs', 'pair', TAG], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: victimChild.stdout! })
  const reaper = await new Promise<number>((resolve) => lines.on('line', (l) => /^reaper (\d+)/.test(l) && resolve(Number(l.split(' ')[1]))))
  await new Promise<void>((resolve) => lines.on('line', (l) => l === 'phase check' && resolve()))
  victim = { pid: victimChild.pid!, labId: '', reaper }
  victimChild.kill('SIGSTOP') // holds it mid-lifecycle while the look-alikes are made

  const start = readFileSync(`/proc/${victim.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]!
  foreign = [`ns-${victim.pid}-${Number(start).toString(36)}-9-lookalike`, `ns-1-a-1-foreign${process.pid}`, `foreign-${process.pid}`]
  for (const name of foreign) {
    execFileSync('ip', ['netns', 'add', name])
    execFileSync('ip', ['-n', name, '-batch', '-'], {
      input: 'link add fv0 type veth peer name fv1\nlink add fbr0 type bridge\nlink set fv1 master fbr0\nlink set fv0 up\n',
    })
  }
  foreignSleeper = spawn('ip', ['netns', 'exec', foreign[0]!, 'sleep', '300'], { stdio: 'ignore' })
}, 180_000)

afterAll(() => {
  foreignSleeper?.kill('SIGKILL')
  victimChild?.kill('SIGKILL')
  for (const name of foreign) execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' })
})

const expected = ['fbr0:bridge', 'fv0:veth', 'fv1:veth', 'lo:'].sort()

test('a lab built and torn down next to them leaves them alone', async () => {
  const lab = await Lab.create({ label: 'beside foreign objects' })
  const a = await lab.namespace('lookalike')
  const b = await lab.namespace('b')
  await lab.veth([a, 'fv0', '10.0.12.1/24'], [b, 'fv1', '10.0.12.2/24']) // the same interface names as theirs
  await lab.destroy()

  for (const name of foreign) expect(state(name)).toEqual(expected)
})

test("a dead owner's reaper removes its lab and not the look-alike carrying its PID", async () => {
  victimChild.kill('SIGKILL')
  // The look-alike is named ns-<dead pid>-9-…: only the marker-listed namespaces go.
  await expect.poll(() => alive([victim.reaper]), { timeout: 5000 }).toEqual([])
  expect(leftoversOf([victim.pid], TAG)).toEqual({
    namespaces: [foreign[0]],
    etcNetns: [],
    markers: [],
    mounts: [expect.stringContaining(`/run/netns/${foreign[0]} `)],
    processes: [],
    rootLinks: [],
  })
  for (const name of foreign) expect(state(name)).toEqual(expected)
  expect(alive([foreignSleeper.pid!])).toEqual([foreignSleeper.pid])
})

test('sweep() reports the look-alikes and removes none of them', async () => {
  const report = await sweep({ force: true, owner: victim.pid }) // only this test's dead owner: other runs' leftovers are not ours to remove

  expect(report.lookalikes).toEqual(expect.arrayContaining(foreign.slice(0, 2)))
  expect(report.removed.flatMap((r) => r.namespaces)).not.toEqual(expect.arrayContaining([foreign[0]]))
  for (const name of foreign) expect(state(name)).toEqual(expected)
  expect(alive([foreignSleeper.pid!])).toEqual([foreignSleeper.pid])
})
