// Running out of descriptors (issue 13, item 4). A process with `ulimit -n 256` builds a lab of 300 namespaces:
// on the in-process path that needs more descriptors than it has. It must fail with a 'resource-exhausted' error
// that names the limit and the fix, and leave nothing behind (namespaces, mounts, /etc/netns, marker) — whether
// it tears the lab down itself or is SIGKILLed and its reaper (which inherited the limit) has to.
// Also measures what one namespace costs in descriptors on each path.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { beforeAll, describe, expect, test } from 'vitest'
import { buildDist, ROOT } from '../fixtures/dist.js'
import { waitUntilClean } from '../torture/leftovers.js'

const TAG = `netspec-fd-test-${process.pid}`

const SCRIPT = `
  import { readdirSync } from 'node:fs'
  import { Lab } from './dist/index.js'
  const [mode, count] = [process.argv[1], Number(process.argv[2])]
  const fds = () => { try { return readdirSync('/proc/self/fd').length } catch { return NaN } }
  const lab = await Lab.create({ label: 'descriptors' })
  const before = fds()
  let error
  try {
    for (let i = 0; i < count; i++) await lab.namespace('n' + i)
    await lab.settle()
  } catch (e) {
    error = { kind: e.kind, message: e.message, hint: e.hint }
  }
  const report = { pid: process.pid, labId: lab.id, built: lab.marker.namespaces.length, perNamespace: error === undefined ? (fds() - before) / lab.marker.namespaces.length : undefined, error }
  if (mode === 'kill') { console.log(JSON.stringify(report)); process.kill(process.pid, 'SIGKILL') }
  let teardown = 'ok'
  await lab.destroy().catch((e) => { teardown = e.message })
  console.log(JSON.stringify({ ...report, teardown }))
  // ${TAG}
`

interface Report {
  pid: number
  labId: string
  built: number
  perNamespace: number
  error?: { kind: string; message: string; hint: string }
  teardown?: string
}

function owner(limit: number | undefined, mode: 'destroy' | 'kill', count: number, env: NodeJS.ProcessEnv): Promise<Report> {
  const node = `exec ${process.execPath} --input-type=module -e "$0" "$@"`
  const child = spawn('sh', ['-c', limit === undefined ? node : `ulimit -n ${limit}; ${node}`, SCRIPT, mode, String(count)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (l) => resolve(JSON.parse(l) as Report))
    child.once('exit', (code, sig) => setTimeout(() => reject(new Error(`owner exited (${code ?? sig}) without a report`)), 100))
  })
}

beforeAll(buildDist, 180_000)

describe('in-process (netlink) path', () => {
  test('descriptors per namespace, measured', async () => {
    const r = await owner(undefined, 'destroy', 40, {})
    console.log(`netspec descriptors: ${r.perNamespace} per namespace (in-process path, 40 namespaces)`)
    expect(r.error).toBeUndefined()
    expect(r.teardown).toBe('ok')
    expect(Math.round(r.perNamespace)).toBe(2)
  }, 60_000)

  test('ulimit -n 256 and 300 namespaces: a clear error, and teardown leaves nothing', async () => {
    const r = await owner(256, 'destroy', 300, {})
    expect(r.error?.kind).toBe('resource-exhausted')
    expect(r.error?.message).toMatch(/ran out of file descriptors \(EMFILE\) while building namespace \d+: ulimit -n is 256/)
    expect(r.error?.message).not.toMatch(/sysctl/)
    expect(r.error?.hint).toMatch(/2 descriptors per namespace.*ulimit -n \d+/)
    expect(r.built).toBeGreaterThan(100)
    expect(r.built).toBeLessThan(300)
    expect(r.teardown).toBe('ok')
    const { left } = await waitUntilClean([r.pid], TAG, 5000)
    expect(left).toEqual({ namespaces: [], etcNetns: [], markers: [], mounts: [], processes: [], rootLinks: [] })
  }, 120_000)

  test('the same owner SIGKILLed after the error: its reaper, with the same limit, removes everything', async () => {
    const r = await owner(256, 'kill', 300, {})
    expect(r.error?.kind).toBe('resource-exhausted')
    const { left, ms } = await waitUntilClean([r.pid], TAG, 20_000)
    console.log(`netspec descriptors: reaper removed ${r.built} namespaces of an owner at its descriptor limit in ${Math.round(ms)} ms`)
    expect(left).toEqual({ namespaces: [], etcNetns: [], markers: [], mounts: [], processes: [], rootLinks: [] })
  }, 120_000)
})

describe('process path (NETSPEC_NO_NETLINK=1)', () => {
  test('no descriptor per namespace in the owner: 300 namespaces build under ulimit -n 256, and go', async () => {
    const r = await owner(256, 'destroy', 300, { NETSPEC_NO_NETLINK: '1' })
    console.log(`netspec descriptors: ${r.perNamespace} per namespace (process path, 300 namespaces)`)
    expect(r.error).toBeUndefined()
    expect(r.built).toBe(300)
    expect(r.perNamespace).toBeLessThan(0.1)
    expect(r.teardown).toBe('ok')
    const { left } = await waitUntilClean([r.pid], TAG, 5000)
    expect(left).toEqual({ namespaces: [], etcNetns: [], markers: [], mounts: [], processes: [], rootLinks: [] })
  }, 180_000)
})
