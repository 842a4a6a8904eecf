// The reaper program on its own, against a scratch state directory: when its pipe closes it removes the
// markers and /etc/netns entries of its dead owner's labs, and touches nothing else (kept labs, other
// owners, a reused PID, files without a marker). No namespaces are involved: names that do not exist.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { processStartTime } from '../../src/lab/owner.js'
import { REAPER_SOURCE } from '../../src/reaper/script.js'
import { reaperDisabled } from '../../src/reaper/index.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function scratch() {
  const root = mkdtempSync(join(tmpdir(), 'netspec-reaper-'))
  dirs.push(root)
  const labs = join(root, 'state', 'labs')
  const etc = join(root, 'etc-netns')
  mkdirSync(labs, { recursive: true })
  mkdirSync(etc)
  return { labs, etc }
}

function marker(labs: string, etc: string, m: { labId: string; ownerPid: number; ownerStart: number | undefined; kept?: boolean }) {
  const ns = `ns-${m.labId}-a`
  writeFileSync(join(labs, `${m.labId}.json`), JSON.stringify({ version: 1, label: 'x', createdAt: '', namespaces: [ns], etc: { [ns]: ['hosts'] }, ...m }))
  mkdirSync(join(etc, ns))
  writeFileSync(join(etc, ns, 'hosts'), '10.0.0.1 a\n')
}

// Runs the reaper for `owner` and closes its pipe at once; resolves when it has exited.
function reap(owner: { pid: number; start: number | undefined }, labs: string, etc: string): Promise<number | null> {
  const child = spawn(process.execPath, ['-e', REAPER_SOURCE, String(owner.pid), String(owner.start), labs, etc], {
    stdio: ['pipe', 'ignore', 'inherit'],
  })
  child.stdin.end()
  return new Promise((resolve) => child.once('exit', resolve))
}

// A process that has come and gone: its PID and start time, as a dead owner's marker records them.
function deadProcess(): { pid: number; start: number | undefined } {
  const r = spawnSync('sh', ['-c', 'cat /proc/self/stat'], { encoding: 'utf8' })
  const stat = r.stdout
  return { pid: Number(stat.split(' ')[0]), start: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) }
}

test("a dead owner's labs go: markers (also half-written ones) and /etc/netns entries; kept labs, other owners and strays stay", async () => {
  const { labs, etc } = scratch()
  const dead = deadProcess()
  const t = dead.start!.toString(36)
  const earlier = (dead.start! + 1).toString(36)
  const mine = processStartTime(process.pid)!.toString(36)
  marker(labs, etc, { labId: `${dead.pid}-${t}-1`, ownerPid: dead.pid, ownerStart: dead.start })
  marker(labs, etc, { labId: `${dead.pid}-${t}-2`, ownerPid: dead.pid, ownerStart: dead.start })
  marker(labs, etc, { labId: `${dead.pid}-${t}-3`, ownerPid: dead.pid, ownerStart: dead.start, kept: true })
  marker(labs, etc, { labId: `${dead.pid}-${earlier}-4`, ownerPid: dead.pid, ownerStart: (dead.start ?? 0) + 1 }) // an earlier process with that PID
  marker(labs, etc, { labId: `${process.pid}-${mine}-1`, ownerPid: process.pid, ownerStart: processStartTime(process.pid) })
  mkdirSync(join(etc, `ns-${dead.pid}-${t}-9-nomarker`)) // named like the owner's, but no marker lists it
  // A forged marker of the dead owner naming a directory outside: refused by the schema, nothing removed.
  mkdirSync(join(etc, 'victim'))
  writeFileSync(join(labs, `${dead.pid}-${t}-6.json`), JSON.stringify({ version: 1, labId: `${dead.pid}-${t}-6`, label: 'x', ownerPid: dead.pid, ownerStart: dead.start, namespaces: ['../victim'] }))
  writeFileSync(join(labs, `${dead.pid}-${t}-5.json.${dead.pid}.tmp`), '{"version":') // the owner died mid-write
  writeFileSync(join(labs, `${process.pid}-${mine}-5.json.${process.pid}.tmp`), '{"version":') // a live writer's

  expect(await reap(dead, labs, etc)).toBe(0)

  expect(readdirSync(labs).sort()).toEqual(
    [`${dead.pid}-${t}-3.json`, `${dead.pid}-${earlier}-4.json`, `${dead.pid}-${t}-6.json`, `${process.pid}-${mine}-1.json`, `${process.pid}-${mine}-5.json.${process.pid}.tmp`].sort(),
  )
  expect(readdirSync(etc).sort()).toEqual(
    [`ns-${dead.pid}-${t}-3-a`, `ns-${dead.pid}-${earlier}-4-a`, `ns-${process.pid}-${mine}-1-a`, `ns-${dead.pid}-${t}-9-nomarker`, 'victim'].sort(),
  )
})

test('a pipe closed while the owner lives on: nothing is touched', async () => {
  const { labs, etc } = scratch()
  const me = { pid: process.pid, start: processStartTime(process.pid) }
  const id = `${me.pid}-${me.start!.toString(36)}-7`
  marker(labs, etc, { labId: id, ownerPid: me.pid, ownerStart: me.start })

  // The reaper waits (bounded, 5 s) for the owner to go; this one stays, so it leaves everything.
  expect(await reap(me, labs, etc)).toBe(0)

  expect(readdirSync(labs)).toEqual([`${id}.json`])
  expect(existsSync(join(etc, `ns-${id}-a`, 'hosts'))).toBe(true)
}, 15_000)

test('NETSPEC_REAPER=off turns it off; anything else keeps it on', () => {
  expect(reaperDisabled({ NETSPEC_REAPER: 'off' })).toBe(true)
  expect(reaperDisabled({ NETSPEC_REAPER: '0' })).toBe(true)
  expect(reaperDisabled({})).toBe(false)
  expect(reaperDisabled({ NETSPEC_REAPER: 'on' })).toBe(false)
})
