// A forgotten `await` never passes: an inline spec runs through the real Vitest runner in a child process, and its
// report must show every un-awaited netspec matcher failing its own test, naming the matcher and "did you forget
// await?", with no unhandled rejection blamed on any other test, and every lab torn down.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { childProject, type ChildProject, type ChildRun } from '../fixtures/child-project.js'

const SPEC = `
import { test, expect } from 'netspec/vitest'
import { test as plainTest } from 'vitest'
import { Lab } from 'netspec'

async function pair(lab) {
  const a = await lab.namespace('a')
  const b = await lab.namespace('b')
  await lab.veth([a, 'eth0', '10.99.0.2/24'], [b, 'eth0', '10.99.0.1/24'])
  return a
}

test('forgets await on a check that would pass', async ({ lab }) => {
  const a = await pair(lab)
  expect(a).toReach('10.99.0.1')
})

test('forgets await on a check that would fail', async ({ lab }) => {
  const a = await lab.namespace('a')
  expect(a).not.toHaveRoute('default')
  expect(a).toReach('10.99.0.1')
})

test('forgets await and then throws', async ({ lab }) => {
  const a = await pair(lab)
  expect(a).toRouteVia('10.99.0.1', { dev: 'eth0' })
  throw new Error('boom after the forgotten await')
})

test('awaits everything, also through Promise.all', async ({ lab }) => {
  const a = await pair(lab)
  await expect(a).toReach('10.99.0.1')
  await expect(a).not.toReach('10.98.0.1')
  await Promise.all([expect(a).toReach('tcp://10.99.0.1:9').catch(() => 'refused is fine'), expect(a).toHaveRoute('10.99.0.0/24', { dev: 'eth0' })])
  await expect(a).toRouteVia('10.99.0.1', { dev: 'eth0' }).then(() => 'then counts as awaiting')
})

test('the next test is not blamed for anything', async ({ lab }) => {
  const a = await pair(lab)
  await expect(a).toReach('10.99.0.1')
})

test('retried, and forgets await in every attempt', { retry: 1 }, async ({ lab, task }) => {
  const a = await lab.namespace('a')
  console.log('ATTEMPT', task.result?.retryCount)
  expect(a).not.toReach('10.99.0.1')
})

plainTest('without the lab fixture: its own lab, destroyed before the body ends', async () => {
  const lab = await Lab.create({ label: 'plain' })
  try {
    const a = await lab.namespace('a')
    expect(a).toReach('10.99.0.1')
  } finally {
    await lab.destroy()
  }
})

plainTest('without the lab fixture, awaited: passes', async () => {
  const lab = await Lab.create({ label: 'plain-ok' })
  try {
    const a = await lab.namespace('a')
    await expect(a).not.toReach('10.99.0.1')
  } finally {
    await lab.destroy()
  }
})
`

let project: ChildProject
let run: ChildRun

beforeAll(async () => {
  project = childProject({ 'forgot.spec.ts': SPEC })
  run = await project.run()
}, 240_000)

afterAll(() => project?.remove())

const failure = (name: string) => (run.tests.get(name)?.failureMessages ?? []).join('\n')

describe('an un-awaited matcher', () => {
  test('fails its own test, and only those: exact counts', () => {
    expect(run.exitCode, run.output).toBe(1)
    expect(run.report.numTotalTests).toBe(8)
    expect(run.report.numFailedTests, run.output).toBe(5)
    expect(run.report.numPassedTests, run.output).toBe(3)
    expect(run.tests.get('awaits everything, also through Promise.all')?.status).toBe('passed')
    expect(run.tests.get('the next test is not blamed for anything')?.status).toBe('passed')
    expect(run.tests.get('without the lab fixture, awaited: passes')?.status).toBe('passed')
  })

  test('still running at the end of the body: named, with "did you forget await?" and the check it would have given', () => {
    const msg = failure('forgets await on a check that would pass')
    expect(msg).toContain("expect(a).toReach('10.99.0.1') was still running when the test ended: did you forget await? (its check passed, unseen by the test)")
    expect(msg).toContain("write `await expect(a).toReach('10.99.0.1')`")
    // The stack points at the un-awaited line in the spec.
    expect(msg).toMatch(/forgot\.spec\.ts:\d+/)
  })

  test('every forgotten call of a test is listed, with its verdict', () => {
    const msg = failure('forgets await on a check that would fail')
    expect(msg).toContain("expect(a).not.toHaveRoute('default')")
    expect(msg).toContain("expect(a).toReach('10.99.0.1')")
    expect(msg).toMatch(/expect\(a\)\.toReach\('10\.99\.0\.1'\) (was still running when the test ended|was not awaited): did you forget await\? \(its check failed, unseen by the test: expected a to reach 10\.99\.0\.1/)
  })

  test('a body that throws keeps its own error and still names the forgotten matcher', () => {
    const msg = failure('forgets await and then throws')
    expect(msg).toContain('boom after the forgotten await')
    expect(msg).toContain("expect(a).toRouteVia('10.99.0.1', {…}) ")
    expect(msg).toContain('did you forget await?')
  })

  test('a retried test is judged again in each attempt', () => {
    expect(run.output.match(/^ATTEMPT \d/gm)).toEqual(['ATTEMPT 0', 'ATTEMPT 1'])
    const msg = failure('retried, and forgets await in every attempt')
    expect(msg).toContain("expect(a).not.toReach('10.99.0.1')")
    expect(msg).toContain('did you forget await?')
  })

  test('works without the lab fixture; the late failure of the torn-down check is quoted, never unhandled', () => {
    const msg = failure('without the lab fixture: its own lab, destroyed before the body ends')
    expect(msg).toContain("expect(a).toReach('10.99.0.1')")
    expect(msg).toContain('did you forget await?')
    expect(run.output).not.toMatch(/unhandled/i)
  })

  test('every lab of the run is gone', () => {
    const labs = join(project.dir, 'state', 'labs')
    let left: string[] = []
    try {
      left = readdirSync(labs).filter((f) => f.endsWith('.json'))
    } catch {
      // no labs directory: nothing left
    }
    expect(left).toEqual([])
  })
})
