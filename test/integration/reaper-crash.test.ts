// The reaper: an owner that dies by SIGKILL (as by the OOM killer) has its labs removed by its reaper
// within a second or two, with no sweep: namespaces, /etc/netns files, processes, mounts, the marker.
// Run both from the published dist (a user's Node script) and from the sources (a Vitest forks worker).
// An owner that exits normally takes its reaper with it; a kept lab is left alone.
import { execFile, spawn } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { beforeAll, expect, test } from 'vitest'
import { sweep } from 'netspec'
import { markerPath } from '../../src/lab/owner.js'
import { buildDist, ROOT } from '../fixtures/dist.js'
import { alive, leftoversOf, waitUntilClean } from '../torture/leftovers.js'

const run = promisify(execFile)
const TAG = `netspec-reaper-test-${process.pid}`

// Starts a plain Node script, returns its first JSON line (printed once its lab is built) and the child.
async function owner(script: string, ...args: string[]) {
  return ownerWith(process.env, script, ...args)
}

async function ownerWith(env: NodeJS.ProcessEnv, script: string, ...args: string[]) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`owner exited early with ${code}`)))
  })
  return { child, report: JSON.parse(line) as { pid: number; labId: string; namespaces: string[]; reaper: number; spawnedBy: string; sleeper: number } }
}

const BUILD = (keep: boolean) => `
  import { Lab } from './dist/index.js'
  import { reaperInfo } from './dist/internal.js'
  const lab = await Lab.create({ label: 'reaper test' })
  const ns1 = await lab.namespace('ns1', { files: { hosts: '10.0.12.2 ns2\\n' } })
  const ns2 = await lab.namespace('ns2')
  await lab.veth([ns1, 'veth1', '10.0.12.1/24'], [ns2, 'veth2', '10.0.12.2/24'])
  const sleeper = await ns2.spawn(['sh', '-c', 'sleep 1000; : ${TAG}'])
  ${keep ? 'lab.keep()' : ''}
  console.log(JSON.stringify({ pid: process.pid, labId: lab.id, namespaces: lab.marker.namespaces, reaper: reaperInfo().pid, spawnedBy: reaperInfo().spawnedBy, sleeper: sleeper.pid }))
  if (process.argv[1] === 'exit') { await lab.destroy(); process.exit(0) }
  setInterval(() => {}, 60_000)`

async function kill(child: ReturnType<typeof spawn>): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGKILL')
  await exited
}

beforeAll(buildDist, 180_000)

test.each([
  ['posix_spawn', {}],
  ['child_process', { NETSPEC_NO_FFI: '1' }], // no koffi: the fallback start
])('a SIGKILLed Node owner (dist): its reaper (started by %s) removes the lab, then exits', async (spawnedBy, extra) => {
  const { child, report } = await ownerWith({ ...process.env, ...extra }, BUILD(false))
  expect(report.spawnedBy).toBe(spawnedBy)
  // Only the owner holds the pipe's write end: the reaper's stdin is its read end, and no other fd of it is that pipe.
  const stdin = readlinkSync(`/proc/${report.reaper}/fd/0`)
  expect(readdirSync(`/proc/${report.reaper}/fd`).filter((fd) => fd !== '0' && readlinkSync(`/proc/${report.reaper}/fd/${fd}`) === stdin)).toEqual([])
  expect(readlinkSync(`/proc/${report.reaper}/cwd`)).toBe('/')
  const [, , , session] = readFileSync(`/proc/${report.reaper}/stat`, 'utf8').slice(readFileSync(`/proc/${report.reaper}/stat`, 'utf8').lastIndexOf(')') + 2).split(' ')
  expect(Number(session)).toBe(report.reaper) // its own session: a Ctrl-C to the owner's group spares it
  expect(leftoversOf([report.pid], TAG).namespaces).toEqual(report.namespaces)
  expect(alive([report.sleeper, report.reaper])).toEqual([report.sleeper, report.reaper])

  await kill(child)
  const { left, ms } = await waitUntilClean([report.pid], TAG, 10_000)
  console.log(`netspec reaper: lab of a SIGKILLed owner gone after ${Math.round(ms)} ms`)

  expect(left).toEqual({ namespaces: [], etcNetns: [], markers: [], mounts: [], processes: [], rootLinks: [] })
  expect(alive([report.sleeper])).toEqual([])
  await expect.poll(() => alive([report.reaper]), { timeout: 5000 }).toEqual([])
})

test('an owner that exits normally takes its reaper with it, and the reaper touches nothing', async () => {
  const { child, report } = await owner(BUILD(false), 'exit')
  await new Promise((r) => child.once('exit', r))

  await expect.poll(() => alive([report.reaper]), { timeout: 5000 }).toEqual([])
  expect(leftoversOf([report.pid], TAG)).toEqual({ namespaces: [], etcNetns: [], markers: [], mounts: [], processes: [], rootLinks: [] })
})

test('a kept lab (NETSPEC_KEEP) outlives its SIGKILLed owner; the reaper leaves it to `sweep --kept`', async () => {
  const { child, report } = await owner(BUILD(true))
  await kill(child)
  await expect.poll(() => alive([report.reaper]), { timeout: 5000 }).toEqual([])

  expect(leftoversOf([report.pid], TAG).namespaces).toEqual(report.namespaces)
  expect(existsSync(markerPath(report.labId))).toBe(true)

  const swept = await sweep({ force: true, kept: true, owner: report.pid })
  expect(swept.removed.map((r) => r.labId)).toEqual([report.labId])
  expect(leftoversOf([report.pid], TAG)).toEqual({ namespaces: [], etcNetns: [], markers: [], mounts: [], processes: [], rootLinks: [] })
})

test('a SIGKILLed Vitest worker (sources, forks pool): its reaper removes the lab of the running test', async () => {
  const reportFile = `/run/netspec/reaper-test-${process.pid}.jsonl`
  rmSync(reportFile, { force: true })
  const r = await run('npx', ['vitest', 'run', '--config', 'test/torture/child/vitest.config.ts'], {
    cwd: ROOT,
    env: { ...process.env, NETSPEC_CHILD_INCLUDE: 'crash.spec.ts', NETSPEC_CHILD_REPORT: reportFile, NETSPEC_CHILD_TAG: TAG, CI: '' },
    timeout: 120_000,
  }).catch((e: { stdout: string; stderr: string; code: number }) => e)
  const reported = readFileSync(reportFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { pid: number; labId: string; sleeper: number })
  rmSync(reportFile, { force: true })

  expect(reported).toHaveLength(1)
  expect(`${r.stdout}${r.stderr}`).toMatch(/exit|SIGKILL|unexpectedly/i) // the run itself says its worker died
  const { left, ms } = await waitUntilClean([reported[0]!.pid], TAG, 10_000)
  console.log(`netspec reaper: lab of a SIGKILLed Vitest worker gone ${Math.round(ms)} ms after the child run ended`)
  expect(left).toEqual({ namespaces: [], etcNetns: [], markers: [], mounts: [], processes: [], rootLinks: [] })
  expect(alive([reported[0]!.sleeper])).toEqual([])
}, 150_000)
