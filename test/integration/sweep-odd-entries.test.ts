// Found by the third adversarial review (REVIEW3-5), fixed; this test keeps it fixed. What was wrong (robustness): an entry `<x>.json.<deadpid>.tmp` that is a directory in <state>/labs makes sweep() throw
// ERR_FS_EISDIR (src/lab/sweep.ts:27, rmSync without recursive, outside any try), so the start-of-run sweep of
// netspec/vitest/setup (sweep({ force: true })) fails every run on that machine, and the /etc/netns recovery after it
// (finishEtcNetnsSteps, sweep.ts:168) never runs. Every other step of the sweep swallows per-entry errors.
// Runs with a private NETSPEC_STATE_DIR under /tmp (the state dir is read when the module loads: a child process).
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, expect, test } from 'vitest'
import { buildDist } from '../fixtures/dist.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
let tmp = ''
afterEach(() => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }) })

test('sweep survives a directory where a dead writer temp file is expected', { timeout: 120_000 }, async () => {
  await buildDist()
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'review3-5-'))
  fs.mkdirSync(path.join(tmp, 'labs'), { mode: 0o700 })
  fs.mkdirSync(path.join(tmp, 'labs', 'x.json.999999.tmp'))
  const script = `import(${JSON.stringify(path.join(root, 'dist/index.js'))}).then((m) => m.sweep({ force: true })).then(() => console.log('swept'), (e) => { console.log('threw ' + e.code + ': ' + e.message); process.exitCode = 1 })`
  const out = await promisify(execFile)('node', ['-e', script], { env: { ...process.env, NETSPEC_STATE_DIR: tmp } })
    .then((r) => r.stdout, (e: { stdout: string }) => e.stdout)
  expect(out.trim()).toBe('swept')
})
