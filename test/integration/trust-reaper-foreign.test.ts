// What a marker names is untrusted, and so is what a name points at by the time a dead owner's labs are removed
// (REVIEW-8, REVIEW-9 of the adversarial review): a name the owner's lab lists may have been re-bound to a namespace
// the lab never created (`ip netns attach NAME PID`), and a forged marker may list containers. The reaper and the
// sweep unlink such a name but never stop the processes of a namespace that holds a process older than the owner
// (every namespace a lab creates, and every process in it, is younger than its owner), nor those of the machine's
// own namespace; and a marker that lists containers (netspec never writes that) is refused whole.
// The stand-in for "the machine" is a `sleep` in a namespace of its own, started by this test before the owner.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, readlinkSync, rmSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { afterEach, beforeAll, expect, test } from 'vitest'
import { sweep } from 'netspec'
import { markerPath } from '../../src/lab/owner.js'
import { protectedNamespaces } from '../../src/lab/teardown.js'
import { buildDist, ROOT } from '../fixtures/dist.js'
import { alive } from '../torture/leftovers.js'

const run = promisify(execFile)
const cleanups: (() => Promise<unknown> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

// A process in a network namespace of its own, older than any owner started after it.
async function victim(): Promise<number> {
  const child = spawn('unshare', ['-n', 'sleep', '600'], { stdio: 'ignore' })
  const pid = child.pid!
  cleanups.push(() => void (alive([pid]).length > 0 && process.kill(pid, 'SIGKILL')))
  // unshare execs sleep in the same process once its namespace exists
  for (let i = 0; i < 100 && !readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'); i++) await new Promise((r) => setTimeout(r, 20))
  expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toMatch(/^sleep/)
  return pid
}

// A Node owner (the published dist) that builds a lab, then edits its own marker as a forger would.
const OWNER = `
  import { Lab } from './dist/index.js'
  import { execFileSync } from 'node:child_process'
  import { readFileSync, writeFileSync } from 'node:fs'
  const [mode, arg] = process.argv.slice(1)
  const lab = await Lab.create({ label: 'forged marker' })
  const a = await lab.namespace('a')
  const sleeper = await a.spawn(['sleep', '600'])
  const file = process.env.MARKER_DIR + '/' + lab.id + '.json'
  const m = JSON.parse(readFileSync(file, 'utf8'))
  let foreign
  if (mode === 'attach') {
    foreign = 'ns-' + lab.id + '-v'
    execFileSync('ip', ['netns', 'attach', foreign, arg])
    m.namespaces.push(foreign)
  } else m.containers = [arg]
  writeFileSync(file, JSON.stringify(m))
  console.log(JSON.stringify({ pid: process.pid, labId: lab.id, own: a.name, foreign, sleeper: sleeper.pid }))
  setInterval(() => {}, 60_000)`

async function owner(env: NodeJS.ProcessEnv, ...args: string[]) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', OWNER, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, MARKER_DIR: markerPath('x').replace(/\/x\.json$/, ''), ...env },
  })
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`owner exited early with ${code}`)))
  })
  const report = JSON.parse(line) as { pid: number; labId: string; own: string; foreign?: string; sleeper: number }
  // What a refused marker leaves for a human (the containers case), removed here: this test's own lab.
  cleanups.push(async () => {
    if (alive([report.sleeper]).length > 0) process.kill(report.sleeper, 'SIGKILL')
    for (const n of [report.own, report.foreign]) if (n !== undefined && existsSync(`/run/netns/${n}`)) await run('ip', ['netns', 'del', n]).catch(() => undefined)
    rmSync(`/etc/netns/${report.own}`, { recursive: true, force: true })
    rmSync(markerPath(report.labId), { force: true })
  })
  return { child, report }
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGKILL')
  await exited
}

beforeAll(buildDist, 180_000)

test("the machine's own namespace and this process's are never emptied through a name", () => {
  // Ours, and PID 1's where /proc lets us read it (a sandbox may not: then the age rule below still holds for it,
  // PID 1 being older than any owner), as the kernel links them.
  const init = (() => {
    try {
      return [readlinkSync('/proc/1/ns/net')]
    } catch {
      return []
    }
  })()
  expect([...protectedNamespaces()].sort()).toEqual([...new Set([...init, readlinkSync('/proc/self/ns/net')])].sort())
})

test('the reaper: a listed name bound to an older namespace is unlinked, its processes live on', async () => {
  const pid = await victim()
  const { child, report } = await owner({}, 'attach', String(pid))
  const ino = readlinkSync(`/proc/${pid}/ns/net`)
  await kill(child)
  await expect.poll(() => existsSync(`/run/netns/${report.own}`), { timeout: 10_000 }).toBe(false) // the reaper ran
  await expect.poll(() => alive([report.sleeper]), { timeout: 5000 }).toEqual([]) // the lab's own process: stopped
  await expect.poll(() => existsSync(`/run/netns/${report.foreign}`), { timeout: 5000 }).toBe(false) // the name: unlinked
  expect(alive([pid]), 'the older process in the re-bound namespace was stopped').toEqual([pid])
  expect(readlinkSync(`/proc/${pid}/ns/net`)).toBe(ino)
}, 60_000)

test('the sweep: the plan never lists, and --force never stops, processes of a namespace older than the owner', async () => {
  const pid = await victim()
  const { child, report } = await owner({ NETSPEC_REAPER: 'off' }, 'attach', String(pid))
  await kill(child)
  const dry = await sweep({ dryRun: true, owner: report.pid })
  const plan = dry.removed.find((p) => p.labId === report.labId)
  expect(plan?.namespaces.sort()).toEqual([report.own, report.foreign].sort())
  expect(plan?.processes).toEqual([report.sleeper])
  const done = await sweep({ force: true, owner: report.pid })
  expect(done.removed.map((p) => p.labId)).toContain(report.labId)
  expect(existsSync(`/run/netns/${report.own}`)).toBe(false)
  expect(existsSync(`/run/netns/${report.foreign}`)).toBe(false)
  expect(alive([report.sleeper])).toEqual([])
  expect(alive([pid])).toEqual([pid])
}, 60_000)

test('a marker that lists containers is refused whole: no container is removed, nothing in it is acted on', async () => {
  const docker = await run('docker', ['info']).then(() => true, () => false)
  if (!docker) return void console.log('no container engine: the containers case is covered by the marker schema unit tests')
  // An image with no files and a container never started, made here (no registry needed).
  const image = `netspec-victim-${process.pid}`
  await run('sh', ['-c', `tar cf - -T /dev/null | docker import - ${image}`])
  cleanups.push(() => run('docker', ['rmi', '-f', image]).catch(() => undefined))
  const id = (await run('docker', ['create', '--network', 'none', image, 'true'])).stdout.trim()
  cleanups.push(() => run('docker', ['rm', '-f', id]).catch(() => undefined))
  const { child, report } = await owner({}, 'containers', id.slice(0, 12))
  await kill(child)
  await new Promise((r) => setTimeout(r, 1500)) // the reaper has run by now (it takes well under a second)
  expect((await sweep({ force: true, owner: report.pid })).bad.map((b) => b.reason).join('\n')).toMatch(/never lists containers/)
  expect((await run('docker', ['inspect', '-f', '{{.Id}}', id])).stdout.trim()).toBe(id)
  expect(existsSync(`/run/netns/${report.own}`)).toBe(true) // a refused marker: its lab is left for a human
  expect(existsSync(`/etc/netns/${report.own}/hosts`)).toBe(true) // with its /etc/netns files (removed by the cleanup)
}, 60_000)
