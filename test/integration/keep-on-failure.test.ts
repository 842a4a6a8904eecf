// NETSPEC_KEEP from the outside: a deliberately failing spec runs through the real Vitest runner in a
// child process (its own temp project with netspec aliased to our sources), and we check what it kept,
// that the printed commands work, and that `netspec sweep --kept --force` leaves nothing behind.
// Each run gets its own NETSPEC_STATE_DIR, so sweeps here never see other runs' labs. The CLI binary is
// compiled into the temp project, which is also where `netspec run` finds node_modules/.bin/vitest.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { compileCliInto } from '../fixtures/dist.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
let dir: string
let cli: string
const seen = new Set<string>() // every namespace name a child printed, for the safety net in afterAll

const SPEC = `
import { test, expect } from 'netspec/vitest'

test('passes and is torn down', async ({ lab }) => {
  const ns = await lab.namespace('pa')
  console.log('NAMES', ns.name)
})

test('fails and is kept', async ({ lab }) => {
  const ns1 = await lab.namespace('ns1')
  const ns2 = await lab.namespace('ns2')
  await lab.veth([ns1, 'veth1', '10.0.12.1/24'], [ns2, 'veth2', '10.0.12.2/24'])
  console.log('NAMES', ns1.name, ns2.name)
  expect('the deliberate failure').toBe('something else')
})
`

const CONFIG = `
import { defineConfig } from 'vitest/config'
const src = ${JSON.stringify(join(root, 'src'))}
export default defineConfig({
  resolve: { alias: [
    { find: /^netspec\\/vitest$/, replacement: src + '/vitest/index.ts' },
    { find: /^netspec$/, replacement: src + '/index.ts' },
  ] },
  test: { include: ['*.spec.ts'], pool: 'forks', testTimeout: 20000 },
})
`

/** A scrubbed environment: no CI, no keep switches from the outer run, our own state dir. */
// Used with extendEnv: false: execa would otherwise merge the parent's CI=true and Vitest variables back in.
function env(state: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, NETSPEC_STATE_DIR: state, NO_COLOR: '1', FORCE_COLOR: '0', ...extra }
  for (const k of ['CI', 'NETSPEC_KEEP', 'NETSPEC_KEEP_FORCE', 'GITHUB_ACTIONS', 'VITEST', 'VITEST_WORKER_ID', 'VITEST_POOL_ID', 'TEST', 'NODE_ENV'])
    if (!(k in extra)) delete e[k]
  return e
}

function names(output: string): { passing: string[]; failing: string[] } {
  const lines = [...output.matchAll(/^NAMES (.+)$/gm)].map((m) => m[1]!.trim().split(' '))
  for (const l of lines) for (const n of l) seen.add(n)
  return { passing: lines.find((l) => l.length === 1) ?? [], failing: lines.find((l) => l.length === 2) ?? [] }
}

async function netnsList(): Promise<string[]> {
  const r = await execa('ip', ['-j', 'netns', 'list'])
  return (JSON.parse(r.stdout || '[]') as { name: string }[]).map((n) => n.name)
}

function markers(state: string): { labId: string; kept?: boolean; namespaces: string[] }[] {
  const labs = join(state, 'labs')
  try {
    return readdirSync(labs)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(labs, f), 'utf8')))
  } catch {
    return []
  }
}

function newState(): string {
  const s = mkdtempSync(join(dir, 'state-'))
  return s
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'netspec-keep-'))
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'))
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n')
  writeFileSync(join(dir, 'vitest.config.mjs'), CONFIG)
  writeFileSync(join(dir, 'keep.spec.ts'), SPEC)
  mkdirSync(join(dir, '.netspec'), { recursive: true })
  // The CLI, compiled as `npm run build` does, into this project (not dist/: parallel files may build too).
  cli = await compileCliInto(dir)
}, 120_000)

afterAll(async () => {
  // Safety net only: the tests themselves assert that nothing is left.
  const present = new Set(await netnsList())
  for (const n of seen) if (present.has(n)) await execa('ip', ['netns', 'del', n], { reject: false })
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

describe('NETSPEC_KEEP=on-failure', () => {
  test('keeps exactly the failed test’s lab, prints working commands, and sweep --kept --force removes it', async () => {
    const state = newState()
    // Through `netspec run --keep-on-failure`, which finds the project's node_modules/.bin/vitest.
    const run = await execa('node', [cli, 'run', '--keep-on-failure', '--', 'keep.spec.ts'], { cwd: dir, env: env(state), extendEnv: false, reject: false, all: true, detached: true })
    const out = run.all ?? ''
    expect(run.exitCode, out).toBe(1)
    expect(out).toContain('1 failed')
    expect(out).toContain('1 passed')
    const { passing, failing } = names(out)
    expect(passing).toHaveLength(1)
    expect(failing).toHaveLength(2)

    // The failure output names each namespace with its label and the command to enter it, and how to remove it.
    expect(out).toContain('netspec kept the lab of this failed test for debugging')
    for (const [label, name] of [['ns1', failing[0]!], ['ns2', failing[1]!]]) {
      expect(out).toMatch(new RegExp(`${label}\\s+${name}\\s+ip netns exec ${name} bash`))
    }
    expect(out).toContain('remove it with: npx netspec sweep --kept --force')

    // Exactly the failed test's lab survived; the passing test's lab is gone.
    const present = await netnsList()
    expect(present).toEqual(expect.arrayContaining(failing))
    expect(present).not.toContain(passing[0])
    const kept = markers(state)
    expect(kept).toHaveLength(1)
    expect(kept[0]!.kept).toBe(true)
    expect([...kept[0]!.namespaces].sort()).toEqual([...failing].sort())

    // The printed command works: `ip netns exec <name> bash`, fed a command, shows the test's interface.
    const shell = await execa('ip', ['netns', 'exec', failing[0]!, 'bash'], { input: 'ip -br -4 addr show dev veth1\n' })
    expect(shell.stdout).toMatch(/^veth1@\S+\s+UP\s+10\.0\.12\.1\/24/m)

    // `netspec sweep` lists the kept lab and removes nothing.
    const dry = await execa('node', [cli, 'sweep'], { env: env(state), extendEnv: false, reject: false })
    expect(dry.exitCode).toBe(0)
    expect(dry.stdout).toContain('kept for debugging')
    expect(dry.stdout).toContain(`ip netns exec ${failing[0]} bash`)
    expect(await netnsList()).toEqual(expect.arrayContaining(failing))

    // `netspec sweep --kept --force` removes it, and nothing of this run is left.
    const sw = await execa('node', [cli, 'sweep', '--kept', '--force'], { env: env(state), extendEnv: false, reject: false })
    expect(sw.exitCode, sw.stdout + sw.stderr).toBe(0)
    expect(sw.stdout).toContain('removed lab')
    const after = await netnsList()
    for (const n of [...failing, ...passing]) expect(after).not.toContain(n)
    expect(markers(state)).toEqual([])
  }, 60_000)

  test('on CI (CI=true) keeping is refused with a clear message and the lab is torn down', async () => {
    const state = newState()
    const run = await execa(join(dir, 'node_modules/.bin/vitest'), ['run', 'keep.spec.ts'], {
      cwd: dir,
      env: env(state, { CI: 'true', NETSPEC_KEEP: 'on-failure' }), extendEnv: false,
      reject: false,
      all: true,
      detached: true,
    })
    const out = run.all ?? ''
    expect(run.exitCode, out).toBe(1)
    expect(out).toContain('NETSPEC_KEEP=on-failure is refused because CI=true')
    expect(out).toContain('NETSPEC_KEEP_FORCE=1')
    expect(out).not.toContain('netspec kept the lab')
    const { failing } = names(out)
    expect(failing).toHaveLength(2)
    const present = await netnsList()
    for (const n of failing) expect(present).not.toContain(n)
    expect(markers(state)).toEqual([])

    // The CLI refuses up front, before running anything.
    const cliRun = await execa('node', [cli, 'run', '--keep-on-failure'], { cwd: dir, env: env(state, { CI: 'true' }), extendEnv: false, reject: false })
    expect(cliRun.exitCode).toBe(2)
    expect(cliRun.stderr).toContain('refused on CI')
  }, 60_000)

  test('NETSPEC_KEEP_FORCE=1 keeps on CI anyway', async () => {
    const state = newState()
    const run = await execa(join(dir, 'node_modules/.bin/vitest'), ['run', 'keep.spec.ts'], {
      cwd: dir,
      env: env(state, { CI: 'true', NETSPEC_KEEP: 'on-failure', NETSPEC_KEEP_FORCE: '1' }), extendEnv: false,
      reject: false,
      all: true,
      detached: true,
    })
    const out = run.all ?? ''
    expect(out).toContain('netspec kept the lab of this failed test')
    const { failing } = names(out)
    expect(await netnsList()).toEqual(expect.arrayContaining(failing))
    const sw = await execa('node', [cli, 'sweep', '--kept', '--force'], { env: env(state), extendEnv: false, reject: false })
    expect(sw.exitCode).toBe(0)
    const after = await netnsList()
    for (const n of failing) expect(after).not.toContain(n)
  }, 60_000)
})

describe('netspec run', () => {
  test("passes Vitest's exit code through, and says when the project has no Vitest", async () => {
    const state = newState()
    const ok = await execa('node', [cli, 'run', '--keep-on-failure', 'keep.spec.ts', '--', '-t', 'passes'], { cwd: dir, env: env(state), extendEnv: false, reject: false, all: true, detached: true })
    expect(ok.exitCode, ok.all).toBe(0)
    expect(ok.all).toContain('1 passed')
    expect(markers(state)).toEqual([])
    names(ok.all ?? '')

    // /dev/shm: a place without node_modules above it.
    const bare = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'netspec-novitest-'))
    try {
      const none = await execa('node', [cli, 'run'], { cwd: bare, env: env(state), extendEnv: false, reject: false })
      expect(none.exitCode).toBe(127)
      expect(none.stderr).toContain('no node_modules/.bin/vitest')
      expect(none.stderr).toContain('npm install -D vitest')
    } finally {
      rmSync(bare, { recursive: true, force: true })
    }
  }, 60_000)
})

describe('NETSPEC_KEEP=pause', () => {
  test('without a terminal it behaves like on-failure', async () => {
    const state = newState()
    // detached: a new session without a controlling terminal, as on CI.
    const run = await execa('node', [cli, 'run', '--pause-on-failure', 'keep.spec.ts'], { cwd: dir, env: env(state), extendEnv: false, reject: false, all: true, detached: true })
    const out = run.all ?? ''
    expect(run.exitCode, out).toBe(1)
    expect(out).toContain('netspec kept the lab of this failed test')
    const { failing } = names(out)
    expect(await netnsList()).toEqual(expect.arrayContaining(failing))
    expect(markers(state)).toHaveLength(1)
    await execa('node', [cli, 'sweep', '--kept', '--force'], { env: env(state), extendEnv: false })
    const after = await netnsList()
    for (const n of failing) expect(after).not.toContain(n)
  }, 60_000)

  test('with a terminal it stops at the failure with the lab live, and tears it down on Enter', async () => {
    const state = newState()
    // `script` gives the run a pseudo-terminal; what we write to its stdin is typed into that terminal.
    const child = spawn('script', ['-qfec', `node ${cli} run --pause-on-failure keep.spec.ts`, '/dev/null'], {
      cwd: dir,
      env: env(state), // node:child_process uses exactly this env (no merging)
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let out = ''
    const waiters: (() => void)[] = []
    const onData = (b: Buffer) => {
      out += b.toString()
      for (const w of waiters) w()
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    const exited = new Promise<number>((r) => child.on('exit', (code) => r(code ?? -1)))
    await new Promise<void>((resolve, reject) => {
      const check = () => (out.includes('press Enter here') ? resolve() : undefined)
      waiters.push(check)
      void exited.then(() => reject(new Error(`run ended without pausing:\n${out}`)))
      check()
    })
    const paused = [...out.matchAll(/ip netns exec (ns-\d+-[0-9a-z]+-\d+-ns[12]) bash/g)].map((m) => m[1]!)
    for (const n of paused) seen.add(n)
    expect(new Set(paused).size).toBe(2)
    // While paused, the lab is live: its namespaces exist and the veth is there.
    expect(await netnsList()).toEqual(expect.arrayContaining(paused))
    const link = await execa('ip', ['-n', paused.find((n) => n.endsWith('-ns2'))!, '-br', 'link', 'show', 'veth2'])
    expect(link.stdout).toMatch(/^veth2@/)

    child.stdin.write('\n')
    const code = await exited
    expect(code, out).toBe(1)
    // After Enter the lab was torn down as usual: nothing kept, nothing left.
    const after = await netnsList()
    for (const n of paused) expect(after).not.toContain(n)
    expect(markers(state)).toEqual([])
    expect(out).not.toContain('netspec kept the lab')
  }, 60_000)
})
