// Doc tests are not a rubber stamp: blocks that are wrong fail a real Vitest run, and the failure names the
// Markdown file and the line. The Markdown below holds the two README examples that failed as written before
// issue 16 (a route in table 100 then toRouteVia through the main table; routeGet with iif on an interface the
// namespace does not have), a complete spec that fails, and one block that passes.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { generateDocTests } from '../fixtures/doc-tests.js'

const run = promisify(execFile)

const MD = `# Doc

## Routes
<!-- doctest: with readme-wired -->
\`\`\`ts
await ns1.routeAdd('10.9.0.0/16', { via: '10.0.12.2', metric: 50, table: 100 })
await expect(ns1).toRouteVia('10.9.1.1', { via: '10.0.12.2', dev: 'veth1' })
\`\`\`

## Forwarded
<!-- doctest: with readme-wired strict -->
\`\`\`ts
await routeGet(ns2, '10.9.1.1', { from: '10.0.12.1', iif: 'eth0' })
\`\`\`

## A spec

\`\`\`ts
import { test, expect } from 'netspec/vitest'

test('a spec that reaches nobody', async ({ lab }) => {
  const ns1 = await lab.namespace('ns1')
  await expect(ns1).toReach('10.0.12.9')
})
\`\`\`

## Passes
<!-- doctest: with readme-wired -->
\`\`\`ts
await expect(ns1).toReach('10.0.12.2')
\`\`\`
`

describe('a doc whose blocks are wrong, run by a real Vitest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netspec-doc-run-'))
  let output = ''
  let exitCode = 0

  beforeAll(async () => {
    writeFileSync(join(dir, 'README.md'), MD)
    const g = await generateDocTests({ root: dir, outDir: join(dir, 'gen'), files: ['README.md'] })
    expect(g.problems).toEqual([])
    expect(g.written).toHaveLength(4)
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'))
    const child = await run('npx', ['vitest', 'run', '--config', 'test/fixtures/doc-vitest/vitest.config.ts'], {
      env: { ...env, NETSPEC_DOC_TESTS_DIR: join(dir, 'gen'), FORCE_COLOR: '0', NO_COLOR: '1' },
      timeout: 120_000,
    }).catch((e: { stdout: string; stderr: string; code: number }) => ({ ...e, exitCode: e.code }))
    output = `${child.stdout}\n${child.stderr}`
    exitCode = 'exitCode' in child ? child.exitCode : 0
  }, 150_000)

  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  test('the run fails: three blocks fail, one passes', () => {
    expect(exitCode, output).not.toBe(0)
    expect(output).toMatch(/Tests\s+3 failed \| 1 passed/)
  })

  test("the table-100 example: the failure names README.md, the block's line and the failing line", () => {
    expect(output).toContain('FAIL  README.md/line-5.spec.ts > README.md:5 (Routes)')
    // Generated lines keep their Markdown line numbers: the toRouteVia is line 7 of README.md.
    expect(output).toMatch(/README\.md\/line-5\.spec\.ts:7:\d+/)
    expect(output).toContain("expected ns1 to send 10.9.1.1 via 10.0.12.2 out of veth1, but ns1 has no route to 10.9.1.1")
  })

  test('the routeGet example with iif on an interface ns2 does not have: a wrong question, at README.md line 13', () => {
    expect(output).toContain('FAIL  README.md/line-12.spec.ts > README.md:12 (Forwarded)')
    // routeGet refuses a selector naming no device of the namespace (the kernel: "Cannot find device"), never a verdict
    expect(output).toMatch(/routeGet: ns2 has no interface 'eth0' \(iif\)/)
    expect(output).toMatch(/README\.md\/line-12\.spec\.ts:13:\d+/)
  })

  test("a complete spec that fails: its own test name, and the README's line of the failing matcher", () => {
    expect(output).toContain("FAIL  README.md/line-18.spec.ts > a spec that reaches nobody")
    expect(output).toMatch(/README\.md\/line-18\.spec\.ts:23:\d+/)
  })
})
