// fileLab and workerLab from the outside: inline specs run through the real Vitest runner in a child process. A
// topology built once per file serves several tests; a failing test among them gets the shared lab's diagnostics
// (named in its failure message), NETSPEC_KEEP keeps the shared lab, and without keeping nothing is left behind.
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { childProject, type ChildProject } from '../fixtures/child-project.js'
import { ROOT, buildDist } from '../fixtures/dist.js'

const SHARED = `
import { test as base, expect } from 'netspec/vitest'

const test = base.extend({
  net: [
    async ({ fileLab }, use) => {
      const a = await fileLab.namespace('a')
      const b = await fileLab.namespace('b')
      await fileLab.veth([a, 'eth0', '10.77.0.1/24'], [b, 'eth0', '10.77.0.2/24'])
      console.log('NAMES', a.name, b.name)
      await use({ a, b })
    },
    { scope: 'file' },
  ],
})

test('passes on the shared topology', async ({ net }) => {
  await expect(net.a).toReach('10.77.0.2')
})

test('fails on the shared topology', async ({ net }) => {
  expect('the deliberate failure').toBe('something else')
})

test('passes again after the failure, on the same lab', async ({ net, fileLab }) => {
  await expect(net.b).toReach('10.77.0.1')
  expect(fileLab.namespaces).toHaveLength(2)
})
`

const WORKER = `
import { test, expect } from 'netspec/vitest'

test('a worker lab', async ({ workerLab }) => {
  const w = await workerLab.namespace('w')
  console.log('NAMES', w.name)
  expect(workerLab.namespaces).toHaveLength(1)
})

test('the same worker lab in the next test', async ({ workerLab }) => {
  expect(workerLab.namespaces.map((n) => n.label)).toEqual(['w'])
})
`

let project: ChildProject
const seen = new Set<string>()

const names = (output: string) => [...output.matchAll(/^NAMES (.+)$/gm)].flatMap((m) => m[1]!.trim().split(' '))

async function netnsList(): Promise<string[]> {
  const r = await execa('ip', ['-j', 'netns', 'list'])
  return (JSON.parse(r.stdout || '[]') as { name: string }[]).map((n) => n.name)
}

function markers(): { labId: string; kept?: boolean; namespaces: string[] }[] {
  const dir = join(project.dir, 'state', 'labs')
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')))
}

beforeAll(() => {
  project = childProject({ 'shared.spec.ts': SHARED, 'worker.spec.ts': WORKER })
})

afterAll(async () => {
  // Only what this file's children created and kept: their namespaces, by name, and their markers.
  const present = new Set(await netnsList())
  for (const n of seen) if (present.has(n)) await execa('ip', ['netns', 'del', n], { reject: false })
  project?.remove()
})

describe('fileLab and workerLab', () => {
  test('one topology per file for several tests; the failed one gets the shared lab’s diagnostics; all torn down', async () => {
    const diagnostics = join(project.dir, 'diag')
    // A stale file of an earlier run for a test that passes now: cleared.
    mkdirSync(diagnostics, { recursive: true })
    const stale = join(diagnostics, 'shared.spec.ts_passes_on_the_shared_topology--shared.spec.ts_file_lab_.txt')
    writeFileSync(stale, 'old\n')
    const run = await project.run([], { NETSPEC_DIAGNOSTICS_DIR: diagnostics })
    for (const n of names(run.output)) seen.add(n)
    expect(run.exitCode, run.output).toBe(1)
    expect(run.report.numPassedTests, run.output).toBe(4)
    expect(run.report.numFailedTests).toBe(1)
    expect(names(run.output)).toHaveLength(3) // a, b once for the file; w once for the worker

    const failed = run.tests.get('fails on the shared topology')!
    const file = join(diagnostics, 'shared.spec.ts_fails_on_the_shared_topology--shared.spec.ts_file_lab_.txt')
    expect(failed.failureMessages.join('\n')).toContain(`netspec diagnostics (shared lab 'shared.spec.ts (file lab)'): ${file}`)
    const text = readFileSync(file, 'utf8')
    expect(text).toMatch(/^shared lab 'shared\.spec\.ts \(file lab\)' \(id /)
    expect(text).toContain('10.77.0.1/24')
    expect(text).toMatch(/── a: sysctl\n\s+forwarding: IPv4 off, IPv6 off/)
    expect(existsSync(stale)).toBe(false)
    expect(readdirSync(diagnostics)).toEqual([basename(file)])

    const present = await netnsList()
    for (const n of names(run.output)) expect(present).not.toContain(n)
    expect(markers()).toEqual([])
  }, 240_000)

  test('NETSPEC_KEEP=on-failure keeps the shared lab as the file left it, and says so in the failed test', async () => {
    const run = await project.run(['shared.spec.ts'], { NETSPEC_KEEP: 'on-failure', NETSPEC_DIAGNOSTICS_DIR: join(project.dir, 'diag2') })
    const ns = names(run.output)
    for (const n of ns) seen.add(n)
    expect(run.exitCode, run.output).toBe(1)
    expect(run.report.numPassedTests).toBe(2)
    const msg = run.tests.get('fails on the shared topology')!.failureMessages.join('\n')
    expect(msg).toContain("netspec kept the lab of this failed test for debugging (NETSPEC_KEEP): lab 'shared.spec.ts (file lab)'")
    expect(msg).toMatch(new RegExp(`a\\s+${ns[0]}\\s+ip netns exec ${ns[0]} bash`))
    const kept = markers()
    expect(kept).toHaveLength(1)
    expect(kept[0]!.kept).toBe(true)
    expect([...kept[0]!.namespaces].sort()).toEqual([...ns].sort())
    // Kept as the file left it: the veth is still there, addressed.
    const shell = await execa('ip', ['netns', 'exec', ns[0]!, 'ip', '-br', '-4', 'addr', 'show', 'dev', 'eth0'])
    expect(shell.stdout).toMatch(/^eth0@\S+\s+UP\s+10\.77\.0\.1\/24/m)
    // Ours to remove, the way a user removes a kept lab: `netspec sweep --kept --force` on the child's state directory
    // (its namespaces, their /etc/netns files, its marker).
    await buildDist()
    const swept = await execa(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'sweep', '--kept', '--force'], {
      env: { NETSPEC_STATE_DIR: join(project.dir, 'state') },
      reject: false,
    })
    expect(swept.exitCode, swept.stdout + swept.stderr).toBe(0)
    const present = await netnsList()
    for (const n of ns) expect(present).not.toContain(n)
    for (const n of ns) expect(existsSync(join('/etc/netns', n))).toBe(false)
    expect(markers()).toEqual([])
  }, 240_000)
})

function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1)
}
