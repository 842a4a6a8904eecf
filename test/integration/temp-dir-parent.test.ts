// The lab's temp directory (its files, captures, relay sockets) is made only where no other user can move it: under
// `sudo -E`, TMPDIR may be the invoking user's own directory (pam_tmpdir's /tmp/user/1000), where that user could
// rename the lab's 0700 directory and put a symlink to /etc in its place before root writes into it. Such a TMPDIR
// is refused before anything is made there; /tmp (root's, sticky) is fine.
import { spawn, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, expect, test } from 'vitest'
import { Lab, isNetspecError, sweep } from 'netspec'
import { markerPath } from '../../src/lab/owner.js'
import { buildDist, ROOT } from '../fixtures/dist.js'

const userTmp = mkdtempSync('/tmp/netspec-usertmp-')
chownSync(userTmp, 65534, 65534) // the invoking user's TMPDIR
afterAll(() => rmSync(userTmp, { recursive: true, force: true }))

test("a TMPDIR another user owns is refused for the lab's temp directory, its files and its captures", async () => {
  const before = process.env.TMPDIR
  process.env.TMPDIR = userTmp
  const lab = await Lab.create({ label: 'user tmpdir' })
  try {
    const a = await lab.namespace('a')
    const e = await lab.tempDir().catch((x: unknown) => x)
    expect(isNetspecError(e, 'not-permitted'), String(e)).toBe(true)
    expect((e as Error).message).toContain(`refusing to make the lab's temp directory in ${userTmp}: ${userTmp} belongs to uid 65534`)
    await expect(a.writeFile('bird.conf', 'x')).rejects.toThrow(/refusing to make the lab's temp directory/)
    await expect(a.capture('lo')).rejects.toThrow(/refusing to make the lab's temp directory/)
    expect(readdirSync(userTmp)).toEqual([]) // nothing was made there
    expect(lab.marker.tempDir).toBeUndefined()
  } finally {
    if (before === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = before
    await lab.destroy()
  }
  // With TMPDIR back at /tmp the same calls work.
  const ok = await Lab.create({ label: 'tmp tmpdir' })
  try {
    const dir = await ok.tempDir()
    expect(dir.startsWith('/tmp/netspec-lab-')).toBe(true)
    expect(ok.marker.tempDir).toBe(dir)
  } finally {
    await ok.destroy()
  }
})

// A marker's temp directory is removed only if it is as netspec makes it: ours and 0700, in a parent no other user
// can change (the sweep: markedTempDir; the reaper: the same check in its own program). A forged or stale marker
// naming another user's directory, or one in a parent that user owns, makes neither remove it.
function deadOwner(): { pid: number; start: number } {
  const stat = spawnSync('sh', ['-c', 'cat /proc/self/stat'], { encoding: 'utf8' }).stdout
  return { pid: Number(stat.split(' ')[0]), start: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) }
}

test("the sweep leaves a marked temp directory alone that is another user's, or sits in another user's directory", async () => {
  const { pid, start } = deadOwner()
  const labId = `${pid}-${start.toString(36)}-7`
  const theirs = join(tmpdir(), `netspec-lab-${labId}-AbCd12`) // the right name, in /tmp, but uid 65534's
  mkdirSync(theirs, { mode: 0o700 })
  writeFileSync(join(theirs, 'precious'), 'keep me\n')
  chownSync(theirs, 65534, 65534)
  const labId2 = `${pid}-${start.toString(36)}-8`
  const inTheirs = join(userTmp, `netspec-lab-${labId2}-AbCd12`) // root's and 0700, but in uid 65534's directory
  mkdirSync(inTheirs, { mode: 0o700 })
  writeFileSync(join(inTheirs, 'precious'), 'keep me\n')
  const markers = [
    [labId, theirs],
    [labId2, inTheirs],
  ] as const
  for (const [id, dir] of markers)
    writeFileSync(markerPath(id), `${JSON.stringify({ version: 1, labId: id, label: 'forged', ownerPid: pid, ownerStart: start, createdAt: '', namespaces: [], tempDir: dir })}\n`, { flag: 'wx' })
  try {
    const plan = await sweep({ dryRun: true, owner: pid })
    for (const [id] of markers) expect(plan.removed.find((p) => p.labId === id)?.tempDir, id).toBeUndefined()
    await sweep({ force: true, owner: pid })
    expect(readFileSync(join(theirs, 'precious'), 'utf8')).toBe('keep me\n')
    expect(readFileSync(join(inTheirs, 'precious'), 'utf8')).toBe('keep me\n')
  } finally {
    for (const [id] of markers) rmSync(markerPath(id), { force: true })
    rmSync(theirs, { recursive: true, force: true })
    rmSync(inTheirs, { recursive: true, force: true })
  }
})

test("the reaper leaves a marked temp directory alone that sits in another user's directory", async () => {
  await buildDist()
  const OWNER = `
    import { Lab } from './dist/index.js'
    const lab = await Lab.create({ label: 'reaper temp dir check' })
    const a = await lab.namespace('a')
    await a.writeFile('x.conf', 'x')
    console.log(JSON.stringify({ labId: lab.id, temp: lab.marker.tempDir, namespaces: lab.marker.namespaces }))
    setInterval(() => {}, 60_000)`
  const child = spawn(process.execPath, ['--input-type=module', '-e', OWNER], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`owner exited early with ${code}`)))
  })
  const r = JSON.parse(line) as { labId: string; temp: string; namespaces: string[] }
  // The marker is rewritten to name a directory of the right name in uid 65534's directory (root's, 0700).
  const victim = join(userTmp, `netspec-lab-${r.labId}-ZyXw98`)
  mkdirSync(victim, { mode: 0o700 })
  writeFileSync(join(victim, 'precious'), 'keep me\n')
  const marker = JSON.parse(readFileSync(markerPath(r.labId), 'utf8')) as Record<string, unknown>
  writeFileSync(markerPath(r.labId), `${JSON.stringify({ ...marker, tempDir: victim })}\n`)
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
  try {
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline && (existsSync(markerPath(r.labId)) || r.namespaces.some((n) => existsSync(`/run/netns/${n}`)))) await new Promise((ok) => setTimeout(ok, 50))
    for (const n of r.namespaces) expect(existsSync(`/run/netns/${n}`), n).toBe(false) // the reaper did its work
    expect(existsSync(markerPath(r.labId))).toBe(false)
    expect(readFileSync(join(victim, 'precious'), 'utf8')).toBe('keep me\n') // but not on that directory
  } finally {
    rmSync(r.temp, { recursive: true, force: true }) // the lab's real one, which the rewritten marker no longer named
    rmSync(victim, { recursive: true, force: true })
  }
}, 180_000)
