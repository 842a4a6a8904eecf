// Found by the third adversarial review (REVIEW3-3), fixed; this test keeps it fixed. What was wrong: diagnostics file names drop every non-ASCII character (src/vitest/diagnostics.ts:33,
// `.replace(/[^\w.-]+/g, '_')`, and .slice(0, 120)), so tests named 'маршрут есть 10.99.0.1' and 'маршрута нет 10.99.0.1' (both '_10.99.0.1')
// share one file: when the second (passing) test starts, clearDiagnostics() removes the first (failed) test's
// diagnostics, and the failure message still points at that path (a file that is gone, or that describes another
// test). Same for names equal in their first 120 characters. Runs a child Vitest on test/fixtures/diagnostics-names/names.spec.ts.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, expect, test } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
let tmp = ''
afterEach(() => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }) })

test('a failed test keeps the diagnostics file its failure message names', { timeout: 120_000 }, async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'netspec-diag-names-'))
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS' && k !== 'TEST' && k !== 'NODE_ENV'))
  const cfg = path.join(root, 'test/fixtures/diagnostics-names/vitest.config.ts')
  const out = await promisify(execFile)('npx', ['vitest', 'run', '-c', cfg, '--no-color'], { cwd: root, env: { ...env, NO_COLOR: '1', NETSPEC_DIAGNOSTICS_DIR: path.join(tmp, 'diag') } })
    .then((r) => r.stdout + r.stderr, (e: { stdout: string; stderr: string }) => e.stdout + e.stderr)
  const named = [...out.matchAll(/netspec diagnostics: (\S+)/g)].map((m) => m[1]!)
  expect(named.length, out).toBe(1) // the one failing test
  // netspec: the message names the file; the file system: it is not there (or is not the failed test's)
  expect(fs.existsSync(named[0]!), `${named[0]} named by the failure; in the dir: ${fs.readdirSync(path.join(tmp, 'diag')).join(', ')}`).toBe(true)
  expect(fs.readFileSync(named[0]!, 'utf8')).toContain('маршрут есть')
})
