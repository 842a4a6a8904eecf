// Markers are untrusted input (issue 13, item 2). A forged or corrupted marker of a dead owner names victims the
// test itself made (a namespace with a process in it, a directory under /tmp, a process reachable through
// /proc/<pid>/ns/net): sweep({ force: true }) and the reaper must act on nothing in it, report it by file
// name, and go on with the other markers. The dry run lists exactly what --force does. Markers and their temp
// files are never written through a planted symlink.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest'
import { Lab, sweep } from 'netspec'
import { LABS_DIR, STATE_DIR, markerPath } from '../../src/lab/owner.js'
import { formatSweepReport } from '../../src/lab/sweep.js'
import { buildDist, ROOT } from '../fixtures/dist.js'
import { netnsNames, running } from '../fixtures/kernel.js'

const tag = `${process.pid}${Math.random().toString(36).slice(2, 6)}`
const victimNs = `victim-${tag}`
let victimSleeper: ChildProcess
let scratch: string
let holder: Lab // keeps /etc/netns in existence, as any live lab does
const cleanups: (() => void)[] = []

// A process that has come and gone: its PID and start time, as a dead owner's marker records them.
function deadOwner(): { pid: number; start: number } {
  const stat = spawnSync('sh', ['-c', 'cat /proc/self/stat'], { encoding: 'utf8' }).stdout
  return { pid: Number(stat.split(' ')[0]), start: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) }
}

function forge(labId: string, body: Record<string, unknown>): string {
  mkdirSync(LABS_DIR, { recursive: true })
  const file = join(LABS_DIR, `${labId}.json`)
  writeFileSync(file, JSON.stringify({ version: 1, labId, label: 'forged', createdAt: '', ...body }))
  cleanups.push(() => rmSync(file, { force: true }))
  return file
}

async function sleeperIn(netns: string): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', netns, 'sleep', '300'], { stdio: 'ignore' })
  // Entered once /proc says so (ip execs sleep inside the namespace).
  const want = execFileSync('stat', ['-L', '-c', '%i', `/run/netns/${netns}`], { encoding: 'utf8' }).trim()
  for (let i = 0; i < 500; i++) {
    try {
      if (execFileSync('readlink', [`/proc/${child.pid}/ns/net`], { encoding: 'utf8' }).trim() === `net:[${want}]` && readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() === 'sleep') return child
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 5))
  }
  throw new Error(`sleeper did not enter ${netns}`)
}

beforeAll(async () => {
  await buildDist()
  execFileSync('ip', ['netns', 'add', victimNs])
  victimSleeper = await sleeperIn(victimNs)
  scratch = mkdtempSync(join(tmpdir(), 'netspec-trust-'))
  mkdirSync(join(scratch, 'victim'))
  writeFileSync(join(scratch, 'victim', 'precious'), 'keep me\n')
  holder = await Lab.create({ label: 'holder of /etc/netns' })
  await holder.namespace('h', { files: { hosts: '10.0.0.1 h\n' } })
}, 180_000)

afterEach(() => {
  for (const f of cleanups.splice(0)) f()
})

afterAll(async () => {
  await holder?.destroy()
  victimSleeper?.kill('SIGKILL')
  if (netnsNames().includes(victimNs)) execFileSync('ip', ['netns', 'del', victimNs])
  rmSync(scratch, { recursive: true, force: true })
})

function victimsIntact() {
  expect(netnsNames()).toContain(victimNs)
  expect(running(victimSleeper.pid!)).toBe(true)
  expect(readFileSync(join(scratch, 'victim', 'precious'), 'utf8')).toBe('keep me\n')
}

test('a forged marker naming a foreign namespace, a path out of /etc/netns and /proc/<pid>/ns/net: nothing is touched, the marker is reported', async () => {
  const dead = deadOwner()
  const labId = `${dead.pid}-${dead.start.toString(36)}-77`
  const rel = join('../..', scratch, 'victim')
  const file = forge(labId, { ownerPid: dead.pid, ownerStart: dead.start, namespaces: [victimNs, rel, `../../proc/${victimSleeper.pid}/ns/net`] })

  const report = await sweep({ force: true, owner: dead.pid })

  victimsIntact()
  expect(existsSync(file)).toBe(true) // left for a human to look at
  expect(report.removed).toEqual([])
  expect(report.bad).toContainEqual({ file: `${labId}.json`, reason: `namespaces entry "${victimNs}" is not a kernel name of lab ${labId}` })
  expect(formatSweepReport(report, false)).toContain(`bad marker ${labId}.json: namespaces entry`)
})

test('entries that look like our names but belong to another lab id, and adopted/etc/containers entries, are refused too', async () => {
  const dead = deadOwner()
  const labId = `${dead.pid}-${dead.start.toString(36)}-78`
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ namespaces: [`ns-1-abc-1-x`] }, /not a kernel name of lab/],
    [{ namespaces: [], adopted: [victimNs] }, /adopted entry/],
    [{ namespaces: [`ns-${labId}-a`], etc: { [`ns-${labId}-a`]: ['../../../tmp/x'] } }, /not a plain file name/],
    [{ namespaces: [], containers: ['$(reboot)'] }, /never lists containers/],
    [{ namespaces: [], containers: ['0123456789ab'] }, /never lists containers/],
    [{ namespaces: null }, /namespaces is not a list/],
    [{ namespaces: [], ownerStart: dead.start + 1 }, /ownerStart does not match/],
  ]
  for (const [body, why] of cases) {
    const file = forge(labId, { ownerPid: dead.pid, ownerStart: dead.start, ...body })
    const report = await sweep({ force: true, owner: dead.pid })
    expect(report.bad.find((b) => b.file === `${labId}.json`)?.reason).toMatch(why)
    expect(report.removed).toEqual([])
    expect(existsSync(file)).toBe(true)
    rmSync(file)
  }
  victimsIntact()
})

test('a bad marker never stops the sweep of the others; the dry run lists exactly what --force then does', async () => {
  const dead = deadOwner()
  const tagd = dead.start.toString(36)
  forge(`${dead.pid}-${tagd}-1`, { ownerPid: dead.pid, ownerStart: dead.start, namespaces: null })
  forge(`${dead.pid}-${tagd}-2`, { ownerPid: dead.pid, ownerStart: dead.start, namespaces: [`../../proc/1/ns/net`] })
  const goodId = `${dead.pid}-${tagd}-3`
  const name = `ns-${goodId}-x`
  execFileSync('ip', ['netns', 'add', name])
  cleanups.push(() => netnsNames().includes(name) && execFileSync('ip', ['netns', 'del', name]))
  const sleeper = await sleeperIn(name)
  cleanups.push(() => sleeper.kill('SIGKILL'))
  mkdirSync(`/etc/netns/${name}`)
  writeFileSync(`/etc/netns/${name}/hosts`, '10.0.0.2 x\n')
  cleanups.push(() => rmSync(`/etc/netns/${name}`, { recursive: true, force: true }))
  const good = forge(goodId, { ownerPid: dead.pid, ownerStart: dead.start, namespaces: [name], etc: { [name]: ['hosts'] } })

  const dry = await sweep({ force: false, owner: dead.pid })
  const plan = {
    labId: goodId,
    label: 'forged',
    ownerPid: dead.pid,
    namespaces: [name],
    adopted: [],
    processes: [sleeper.pid],
    etc: [`/etc/netns/${name}/hosts`, `/etc/netns/${name}`],
    marker: good,
  }
  expect(dry.removed).toEqual([plan])
  expect(dry.bad.map((b) => b.file).filter((f) => f.startsWith(`${dead.pid}-`)).sort()).toEqual([`${dead.pid}-${tagd}-1.json`, `${dead.pid}-${tagd}-2.json`])
  expect(formatSweepReport(dry, true).split('\n')).toEqual(
    expect.arrayContaining([
      `    kill process ${sleeper.pid}`,
      `    delete namespace ${name}`,
      `    remove /etc/netns/${name}/hosts`,
      `    remove /etc/netns/${name}`,
      `    remove marker ${good}`,
    ]),
  )
  // Nothing happened in the dry run.
  expect(netnsNames()).toContain(name)
  expect(running(sleeper.pid!)).toBe(true)
  expect(existsSync(good)).toBe(true)

  const done = await sweep({ force: true, owner: dead.pid })
  expect(done.removed).toEqual([plan])
  expect(done.failed).toEqual([])
  expect(netnsNames()).not.toContain(name)
  await expect.poll(() => running(sleeper.pid!)).toBe(false)
  expect(existsSync(`/etc/netns/${name}`)).toBe(false)
  expect(existsSync(good)).toBe(false)
  victimsIntact()
})

test("a dead owner's reaper ignores a forged marker of that owner and still reaps the real lab", async () => {
  // A real owner (this test's child) builds a lab; a forged marker with its PID and start time names the victims.
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    import { Lab } from './dist/index.js'
    const lab = await Lab.create({ label: 'reaped' })
    await lab.namespace('a')
    console.log(JSON.stringify({ pid: process.pid, labId: lab.id, namespaces: lab.marker.namespaces }))
    setInterval(() => {}, 60_000)`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (b: Buffer) => resolve(b.toString()))
    child.once('exit', (c) => reject(new Error(`owner exited ${c}`)))
  })
  cleanups.push(() => child.kill('SIGKILL'))
  const owner = JSON.parse(line) as { pid: number; labId: string; namespaces: string[] }
  const start = Number(readFileSync(`/proc/${owner.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19])
  const forgedId = `${owner.pid}-${start.toString(36)}-99`
  const forged = forge(forgedId, { ownerPid: owner.pid, ownerStart: start, namespaces: [victimNs, join('../..', scratch, 'victim'), `../../proc/${victimSleeper.pid}/ns/net`] })

  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGKILL')
  await exited
  await expect.poll(() => netnsNames().filter((n) => owner.namespaces.includes(n)), { timeout: 10_000 }).toEqual([])
  await expect.poll(() => existsSync(markerPath(owner.labId)), { timeout: 10_000 }).toBe(false)
  victimsIntact()
  expect(existsSync(forged)).toBe(true)
}, 60_000)

test('a symlink planted at the marker temp file is not written through; the marker directory is root-only', async () => {
  const lab = await Lab.create({ label: 'planted symlink' })
  try {
    const target = join(scratch, 'target')
    writeFileSync(target, 'original\n')
    mkdirSync(LABS_DIR, { recursive: true })
    const tmp = `${markerPath(lab.id)}.${process.pid}.tmp`
    symlinkSync(target, tmp)
    cleanups.push(() => rmSync(tmp, { force: true }))
    await lab.namespace('a')
    await lab.namespace('b') // the second write goes through the temp file
    expect(readFileSync(target, 'utf8')).toBe('original\n')
    expect(JSON.parse(readFileSync(markerPath(lab.id), 'utf8')).namespaces).toHaveLength(2)
    expect((statSync(LABS_DIR).mode & 0o777).toString(8)).toBe('700')
    expect(statSync(STATE_DIR).mode & 0o022).toBe(0)
  } finally {
    await lab.destroy()
  }
})

// Review findings (adversarial pass): a marker's temp directory is removed only where its whole path is real,
// and the dry run says so first.
test('a temp directory reached through a symlinked parent is never removed, and the dry run does not list it', async () => {
  const root = mkdtempSync(join(tmpdir(), 'netspec-victim-'))
  const { pid, start } = deadOwner()
  const labId = `${pid}-${start.toString(36)}-79`
  const real = join(root, 'real', `netspec-lab-${labId}-abcdef`)
  mkdirSync(real, { recursive: true })
  writeFileSync(join(real, 'precious'), 'keep me\n')
  symlinkSync(join(root, 'real'), join(root, 'link'))
  const marker = { version: 1, labId, label: 'forged temp dir', ownerPid: pid, ownerStart: start, createdAt: new Date().toISOString(), namespaces: [], tempDir: join(root, 'link', `netspec-lab-${labId}-abcdef`) }
  writeFileSync(markerPath(labId), `${JSON.stringify(marker)}\n`, { flag: 'wx' })
  try {
    const plan = await sweep({ dryRun: true, owner: pid })
    expect(plan.removed.find((p) => p.labId === labId)?.tempDir).toBeUndefined()
    await sweep({ force: true, owner: pid })
    expect(existsSync(join(real, 'precious'))).toBe(true)
  } finally {
    rmSync(markerPath(labId), { force: true })
    rmSync(root, { recursive: true, force: true })
  }
})
