// A process that builds a lab is SIGKILLed mid-test, and no reaper is watching it (NETSPEC_REAPER=off,
// as when the reaper died too): its namespaces, /etc/netns files, processes and marker outlive it.
// sweep() removes exactly those, and leaves namespaces that are not ours alone, even one named like ours.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { sweep } from 'netspec'
import { markerPath } from '../../src/lab/owner.js'
import { buildDist, ROOT } from '../fixtures/dist.js'
import { etcNetnsEntries, leftovers, netnsNames, running } from '../fixtures/kernel.js'

interface ChildReport {
  pid: number
  labId: string
  namespaces: string[]
  pids: number[]
  ping: number
}

// Look-alikes of our own making: one named like ours whose "owner" (PID 1) is alive, one not ours at all.
const lookalike = `ns-1-a-1-foreign${process.pid}`
const foreign = `foreign-xyz${process.pid}`

let crashed: ChildReport
let afterKill: { leftovers: string[]; running: boolean[]; marker: boolean }
let hadEtcNetns: boolean

beforeAll(async () => {
  await buildDist()
  hadEtcNetns = existsSync('/etc/netns')
  // No reaper for this owner: the sweep is the second line of defence, for when the reaper died too.
  const env = { ...process.env, NETSPEC_REAPER: 'off' }
  const child = spawn('node', ['test/fixtures/build-lab.mjs', 'hang'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] })
  const firstLine = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`build-lab.mjs exited early with ${code}`)))
  })
  crashed = JSON.parse(firstLine) as ChildReport
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGKILL')
  await exited
  // Seen at once (other test runs may sweep too): what the dead owner left.
  afterKill = { leftovers: leftovers(crashed.namespaces), running: crashed.pids.map(running), marker: existsSync(markerPath(crashed.labId)) }
  for (const name of [lookalike, foreign]) execFileSync('ip', ['netns', 'add', name])
}, 180_000)

afterAll(() => {
  for (const name of [lookalike, foreign]) if (netnsNames().includes(name)) execFileSync('ip', ['netns', 'del', name])
})

test('a SIGKILLed owner leaves its lab behind: namespaces, files, processes and marker', () => {
  expect(crashed.ping).toBe(0)
  expect(running(crashed.pid)).toBe(false)
  expect(afterKill.leftovers).toEqual([
    `netns ${crashed.namespaces[0]}`,
    `/etc/netns/${crashed.namespaces[0]}`,
    `netns ${crashed.namespaces[1]}`,
    `/etc/netns/${crashed.namespaces[1]}`, // its default resolv.conf and hosts
  ])
  expect(afterKill.running).toEqual([true, true])
  expect(afterKill.marker).toBe(true)
})

test('sweep() with no options is a dry run, as `netspec sweep` is: it plans the dead lab and removes nothing', async () => {
  const report = await sweep({ owner: crashed.pid })

  expect(report.dryRun).toBe(true)
  expect(report.removed.map((r) => r.labId)).toEqual([crashed.labId])
  expect(report.removed[0]).toMatchObject({ namespaces: crashed.namespaces, processes: expect.arrayContaining(crashed.pids) })
  // The kernel still has all of it: namespaces, their processes, the marker.
  expect(leftovers(crashed.namespaces)).toEqual(afterKill.leftovers)
  expect(crashed.pids.map(running)).toEqual([true, true])
  expect(existsSync(markerPath(crashed.labId))).toBe(true)
  await expect(sweep({ force: true, dryRun: true })).rejects.toMatchObject({ kind: 'invalid-input', message: expect.stringMatching(/contradict/) })
})

test('sweep() removes the dead owner’s lab and only that, and reports the look-alike', async () => {
  // Only this test's dead owner: other runs' leftovers are not this test's to remove.
  const report = await sweep({ force: true, owner: crashed.pid })
  expect(report.dryRun).toBe(false)

  // (Another run's sweep may have been first: then the kernel's state below is what counts.)
  for (const r of report.removed.filter((x) => x.labId === crashed.labId))
    expect(r).toMatchObject({ labId: crashed.labId, label: `child ${crashed.pid} (hang)`, ownerPid: crashed.pid, namespaces: crashed.namespaces, processes: expect.arrayContaining(crashed.pids) })
  expect(leftovers(crashed.namespaces)).toEqual([])
  expect(crashed.pids.map(running)).toEqual([false, false])
  expect(existsSync(markerPath(crashed.labId))).toBe(false)
  // /etc/netns is as before: the dead lab created it, so it goes (unless another lab has files in it now).
  if (!hadEtcNetns) expect(!existsSync('/etc/netns') || etcNetnsEntries().length > 0).toBe(true)

  expect(netnsNames()).toEqual(expect.arrayContaining([lookalike, foreign]))
  expect(report.lookalikes).toContain(lookalike)
  expect(report.lookalikes).not.toContain(foreign)
  expect(report.removed.flatMap((r) => r.namespaces)).not.toContain(lookalike)
})

test('a second sweep finds nothing more of that lab, and still leaves the foreign namespaces alone', async () => {
  const report = await sweep({ force: true, owner: crashed.pid })

  expect(report.removed.map((r) => r.labId)).not.toContain(crashed.labId)
  expect(netnsNames()).toEqual(expect.arrayContaining([lookalike, foreign]))
})

test('a dry run reports without removing', async () => {
  const report = await sweep({ force: false })

  expect(report.lookalikes).toContain(lookalike)
  expect(netnsNames()).toEqual(expect.arrayContaining([lookalike, foreign]))
})
