// A lab's label reaches terminals and reports (`netspec graph`, `netspec sweep`, diagnostics, the job summary):
// Lab.create refuses control characters in it, the fixture makes a test's name printable, and what the CLI prints
// from a marker (which anyone with root may have forged) never carries a control character (REVIEW-14).
import { readFileSync, writeFileSync } from 'node:fs'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { beforeAll, expect, test } from 'vitest'
import { isNetspecError, Lab } from 'netspec'
import { markerPath } from '../../src/lab/owner.js'
import { printable } from '../../src/values/show.js'
import { buildDist, ROOT } from '../fixtures/dist.js'

const run = promisify(execFile)
const HOSTILE = ['evil\x1b]0;owned\x07', 'x\x1b[2Jy', 'line\nbreak', 'nul\0', 'del\x7f', 'c1\x9b31m', 'sep\u2028', 'lone\ud800']

beforeAll(buildDist, 180_000)

test('Lab.create refuses labels with control characters, before anything is created', async () => {
  for (const label of HOSTILE) {
    const e = await Lab.create({ label }).then(() => undefined, (x: unknown) => x)
    expect(isNetspecError(e) && e.kind === 'invalid-input', `${JSON.stringify(label)}: ${String(e)}`).toBe(true)
  }
  await expect(Lab.create({ label: 'x'.repeat(4097) })).rejects.toMatchObject({ kind: 'invalid-input' })
  // Anything printable is a label: test names have spaces, quotes, '›', emoji
  await using lab = await Lab.create({ label: `a test's "name" › ünïcödé 🧪 #1 \\ ${'y'.repeat(300)}` })
  expect(lab.label).toContain('🧪')
})

test('printable() leaves no control character, line separator or lone surrogate', () => {
  for (const s of HOSTILE) expect(printable(s)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]|\p{Cs}/u)
  expect(printable('ok › 🧪')).toBe('ok › 🧪')
})

test("netspec graph prints a forged marker's label without its control characters", async () => {
  await using lab = await Lab.create({ label: 'graph label' })
  const ns = await lab.namespace('a')
  const file = markerPath(lab.id)
  const m = JSON.parse(readFileSync(file, 'utf8')) as { label: string }
  m.label = 'evil\x1b]0;owned\x07\x1b[2J\nfake line\u009b'
  writeFileSync(file, JSON.stringify(m)) // as a forger would (root)
  for (const args of [['graph', '--no-docker', '--match', lab.id], ['graph', '--no-docker', '--match', lab.id, '--mermaid']]) {
    const out = await run(process.execPath, [`${ROOT}dist/cli/main.js`, ...args], { cwd: ROOT })
    expect(out.stdout).toContain(ns.name)
    expect(out.stdout, JSON.stringify(out.stdout.slice(0, 400))).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/)
    expect(out.stdout).not.toContain('\nfake line')
  }
})
