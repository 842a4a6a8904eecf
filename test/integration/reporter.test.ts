// netspec/reporter from the outside: a child Vitest run with a failing inline spec and GITHUB_STEP_SUMMARY pointing
// to a temp file that another step already wrote to. The summary is appended (never truncated) and holds the tally,
// each failed test with its verdict, its lab's topology as Mermaid and its diagnostics file.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ROOT } from '../fixtures/dist.js'
import { childProject, type ChildProject, type ChildRun } from '../fixtures/child-project.js'

const SPEC = `
import { test, expect } from 'netspec/vitest'

test('reaches its neighbour', async ({ lab }) => {
  const a = await lab.namespace('a')
  const b = await lab.namespace('b')
  await lab.veth([a, 'eth0', '10.66.0.1/24'], [b, 'eth0', '10.66.0.2/24'])
  await expect(a).toReach('10.66.0.2')
})

test('reaches a subnet it has no route to', async ({ lab }) => {
  const a = await lab.namespace('a')
  const b = await lab.namespace('b')
  await lab.veth([a, 'eth0', '10.66.0.1/24'], [b, 'eth0', '10.66.0.2/24'])
  await expect(a).toReach('10.67.0.9')
})

test('a failure message with a code fence in it', () => {
  expect('\`\`\`\\ninside').toBe('outside')
})
`

let project: ChildProject
let run: ChildRun
let summary: string
const PREVIOUS = '## an earlier step wrote this\n\n'

beforeAll(async () => {
  project = childProject({ 'summary.spec.ts': SPEC })
  const file = join(project.dir, 'step-summary.md')
  writeFileSync(file, PREVIOUS)
  run = await project.run([`--reporter=${join(ROOT, 'src/vitest/reporter.ts')}`], {
    GITHUB_STEP_SUMMARY: file,
    NETSPEC_DIAGNOSTICS_DIR: join(project.dir, 'diag'),
  })
  summary = readFileSync(file, 'utf8')
}, 240_000)

afterAll(() => project?.remove())

describe('netspec/reporter', () => {
  test('appends to the job summary, never truncates it', () => {
    expect(run.exitCode, run.output).toBe(1)
    expect(summary.startsWith(PREVIOUS)).toBe(true)
    expect(summary).toContain('## netspec: 1 passed, 2 failed, 0 skipped')
  })

  test('each failed test with its verdict, its lab as Mermaid and its diagnostics file', () => {
    const section = summary.slice(summary.indexOf('#### ❌ reaches a subnet it has no route to'), summary.indexOf('#### ❌ a failure message'))
    expect(section).toContain('`summary.spec.ts`')
    expect(section).toMatch(/expected a to reach 10\.67\.0\.9: no-route/)
    expect(section).toMatch(/```mermaid\nflowchart LR\n[\s\S]*a ---\|"eth0 10\.66\.0\.1\/24 ⇄ eth0 10\.66\.0\.2\/24"\| b[\s\S]*```/)
    expect(section).toContain('Diagnostics: `diag/summary.spec.ts_reaches_a_subnet_it_has_no_route_to.txt`')
    expect(summary).not.toContain('reaches its neighbour')
  })

  test('a failure message cannot break out of its code block', () => {
    const section = summary.slice(summary.indexOf('#### ❌ a failure message'))
    expect(section).toMatch(/^````text\n[\s\S]*```\\ninside[\s\S]*\n````$/m)
  })

  test("Vitest's JUnit and GitHub Actions reporters show where the diagnostics are", async () => {
    const junit = join(project.dir, 'junit.xml')
    const again = await project.run(['--reporter=junit', `--outputFile.junit=${junit}`, '--reporter=github-actions', '-t', 'no route'], {
      NETSPEC_DIAGNOSTICS_DIR: join(project.dir, 'diag3'),
    })
    expect(again.exitCode).toBe(1)
    const file = join(project.dir, 'diag3', 'summary.spec.ts_reaches_a_subnet_it_has_no_route_to.txt')
    expect(readFileSync(junit, 'utf8')).toMatch(new RegExp(`<failure message="expected a to reach 10\\.67\\.0\\.9: no-route[^"]*netspec diagnostics: ${file.replace(/[.]/g, '\\.')}"`))
    expect(again.output).toMatch(new RegExp(`^::error file=.*summary\\.spec\\.ts.*::.*expected a to reach 10\\.67\\.0\\.9: no-route.*netspec diagnostics: ${file.replace(/[.]/g, '\\.')}`, 'm'))
  }, 120_000)

  test('the run without GITHUB_STEP_SUMMARY writes no summary', async () => {
    const again = await project.run([`--reporter=${join(ROOT, 'src/vitest/reporter.ts')}`, '-t', 'code fence'])
    expect(again.exitCode).toBe(1)
    expect(readFileSync(join(project.dir, 'step-summary.md'), 'utf8')).toBe(summary)
  }, 120_000)
})
