// REVIEW-6: an owner SIGKILLed with a live capture and an exposed port (relay) left files outside its lab: the
// capture's /tmp/netspec-capture-*/ directory and the relay socket $NETSPEC_STATE_DIR/expose/<pid>-<n>.sock, named
// by no marker, so neither the reaper nor a sweep removed them. Now both live inside the lab's temp directory,
// which the marker names before it is made: the reaper removes it with the namespaces. Proven on both kernel paths
// (in-process netlink and `ip -batch`) from what is on disk and in /run/netns before and after the kill.
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { childProject, type ChildProject } from '../fixtures/child-project.js'

const SPEC = `
import { test } from 'netspec/vitest'
import { readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
test('killed', async ({ lab }) => {
  const a = await lab.namespace('crashcap')
  const b = await lab.namespace('b')
  await lab.veth([a, 'eth0', '10.0.12.1/24'], [b, 'eth0', '10.0.12.2/24'])
  const cap = await a.capture('eth0')
  await lab.expose(b, 8080, { via: 'relay' })
  const temp = lab.marker.tempDir
  const sockets = readdirSync(temp).filter((n) => statSync(join(temp, n)).isSocket())
  writeFileSync(process.env.REPORT_FILE, JSON.stringify({ names: [a.name, b.name], temp, capFile: cap.file, sockets, capExists: statSync(cap.file).isFile() }))
  process.kill(process.pid, 'SIGKILL')
})
`

const projects: ChildProject[] = []
afterAll(() => {
  for (const p of projects) p.remove()
})
const captureDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith('netspec-capture-crashcap-'))

async function until(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
}

describe.each([['netlink', '0'], ['ip', '1']])('an owner SIGKILLed with a capture and a relay (%s path)', (_path, noNetlink) => {
  test('leaves no capture directory, no relay socket and no temp directory behind', async () => {
    const project = childProject({ 'k.spec.ts': SPEC })
    projects.push(project)
    const before = new Set(captureDirs())
    const reportFile = join(project.dir, 'report-k.json')
    await project.run(['k.spec.ts'], { REPORT_FILE: reportFile, NETSPEC_NO_NETLINK: noNetlink }).catch(() => undefined)
    expect(existsSync(reportFile)).toBe(true)
    const r = JSON.parse(readFileSync(reportFile, 'utf8')) as { names: string[]; temp: string; capFile: string; sockets: string[]; capExists: boolean }
    // While the owner lived: the pcap and the relay socket were inside the lab's temp directory, which its marker named.
    expect(r.capExists).toBe(true)
    expect(r.capFile.startsWith(`${r.temp}/`)).toBe(true)
    expect(r.sockets).toEqual(['expose-1.sock'])
    // The reaper (no sweep): namespaces, then the temp directory with everything in it.
    const markers = () => readdirSync(join(project.dir, 'state', 'labs')).filter((n) => n.endsWith('.json'))
    await until(() => r.names.every((n) => !existsSync(`/run/netns/${n}`)) && !existsSync(r.temp) && markers().length === 0, 10_000)
    for (const n of r.names) expect(existsSync(`/run/netns/${n}`), n).toBe(false)
    expect(existsSync(r.temp), r.temp).toBe(false)
    expect(existsSync(r.capFile)).toBe(false)
    const left = captureDirs().filter((n) => !before.has(n))
    for (const n of left) rmSync(join(tmpdir(), n), { recursive: true, force: true })
    expect(left, 'capture directories left in /tmp').toEqual([])
    const exposeDir = join(project.dir, 'state', 'expose')
    expect(existsSync(exposeDir) ? readdirSync(exposeDir) : [], 'relay sockets left in the state dir').toEqual([])
    expect(markers(), 'markers left').toEqual([])
  }, 120_000)
})

// Without a reaper (NETSPEC_REAPER=off), a later sweep finds them through the marker: the dry run lists the capture
// and the relay socket with the temp directory, --force removes them.
const OWNER = `
  import { Lab } from './dist/index.js'
  const lab = await Lab.create({ label: 'crash files sweep' })
  const a = await lab.namespace('a')
  const b = await lab.namespace('b')
  await lab.veth([a, 'eth0', '10.0.13.1/24'], [b, 'eth0', '10.0.13.2/24'])
  const cap = await a.capture('eth0')
  await lab.expose(b, 8080, { via: 'relay' })
  console.log(JSON.stringify({ labId: lab.id, temp: lab.marker.tempDir, capFile: cap.file, namespaces: lab.marker.namespaces }))
  setInterval(() => {}, 60_000)`

describe.each([['netlink', '0'], ['ip', '1']])('an owner SIGKILLed without a reaper (%s path)', (_path, noNetlink) => {
  test('the sweep dry run lists its capture and relay socket, and --force removes them', async () => {
    const { spawn } = await import('node:child_process')
    const { createInterface } = await import('node:readline')
    const { buildDist, ROOT } = await import('../fixtures/dist.js')
    const { sweep, formatSweepReport } = await import('../../src/lab/sweep.js')
    await buildDist()
    const child = spawn(process.execPath, ['--input-type=module', '-e', OWNER], {
      cwd: ROOT,
      env: { ...process.env, NETSPEC_REAPER: 'off', NETSPEC_NO_NETLINK: noNetlink },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve)
      child.once('exit', (code) => reject(new Error(`owner exited early with ${code}`)))
    })
    const r = JSON.parse(line) as { labId: string; temp: string; capFile: string; namespaces: string[] }
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
    const socket = join(r.temp, 'expose-1.sock')
    expect(existsSync(r.capFile)).toBe(true)
    expect(existsSync(socket)).toBe(true)
    const owner = Number(r.labId.split('-')[0])
    const plan = await sweep({ dryRun: true, owner })
    const text = formatSweepReport(plan, true)
    const rel = r.capFile.slice(r.temp.length + 1)
    expect(text).toContain(`remove temp directory ${r.temp}`)
    expect(text).toContain(`with capture ${rel}`)
    expect(text).toContain('with relay socket expose-1.sock')
    expect(existsSync(r.capFile)).toBe(true) // a dry run removes nothing
    await sweep({ force: true, owner })
    expect(existsSync(r.temp)).toBe(false)
    for (const n of r.namespaces) expect(existsSync(`/run/netns/${n}`), n).toBe(false)
  }, 180_000)
})

// Not a lab's, but a file of the run outside any lab: the drop-reason hub's socket (one per Vitest run, in the state
// directory). A run whose main process was SIGKILLed leaves it; the next hub removes the dead runs' sockets, never a
// live run's, and never anything but a socket.
test("the next drop-reason hub removes a SIGKILLed run's hub socket, and only that", async () => {
  const { spawn } = await import('node:child_process')
  const net = await import('node:net')
  const { mkdtempSync, writeFileSync, symlinkSync, lstatSync } = await import('node:fs')
  const { removeDeadHubSockets } = await import('../../src/drops/hub.js')
  const dir = mkdtempSync(join(tmpdir(), 'netspec-hub-sockets-'))
  try {
    // A "run" that listens on its hub socket and is SIGKILLed: the socket file stays.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(process.argv[1] + '/drops-' + process.pid + '.sock', () => console.log('ready'))`, dir], { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()))
    const dead = `drops-${child.pid}.sock`
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
    expect(lstatSync(join(dir, dead)).isSocket()).toBe(true)
    // A live run's socket (this process), and look-alikes that are not sockets.
    const live = net.createServer()
    await new Promise<void>((resolve) => live.listen(join(dir, `drops-${process.pid}.sock`), resolve))
    writeFileSync(join(dir, 'drops-999999999.sock'), 'not a socket')
    symlinkSync('/etc/hostname', join(dir, 'drops-999999998.sock'))
    expect(removeDeadHubSockets(dir)).toEqual([dead])
    expect(readdirSync(dir).sort()).toEqual([`drops-${process.pid}.sock`, 'drops-999999998.sock', 'drops-999999999.sock'].sort())
    await new Promise<void>((resolve) => live.close(() => resolve()))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
