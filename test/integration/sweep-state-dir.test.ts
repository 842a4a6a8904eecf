// The sweep and the state directory it reads (found by the third adversarial review, fixed; these tests keep them
// fixed). Each runs sweep() in a child with a private NETSPEC_STATE_DIR under /tmp (the state directory is read when
// the module loads).
// - REVIEW3-5 (robustness): an entry `<x>.json.<deadpid>.tmp` that is a directory in <state>/labs made sweep() throw
//   ERR_FS_EISDIR (an rmSync without recursive, outside any try), so the start-of-run sweep of netspec/vitest/setup
//   failed every run on that machine, and the /etc/netns recovery after it never ran.
// - REVIEW3-6 (trust): the labs directory was checked only when netspec wrote a marker, never when it read them: a
//   world-writable labs directory owned by someone else had its forged marker planned for removal.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeAll, expect, test } from 'vitest'
import { buildDist, ROOT } from '../fixtures/dist.js'

let tmp = ''
afterEach(() => void (tmp && fs.rmSync(tmp, { recursive: true, force: true })))
beforeAll(buildDist, 120_000)

/** sweep(options) of the published package in a child whose state directory is `state`: what it removed, or why it threw. */
async function sweepIn(state: string, options: object): Promise<{ removed?: string[]; threw?: string }> {
  const script = `import(${JSON.stringify(path.join(ROOT, 'dist/index.js'))}).then((m) => m.sweep(${JSON.stringify(options)})).then((r) => console.log(JSON.stringify({ removed: r.removed.map((p) => p.labId) })), (e) => console.log(JSON.stringify({ threw: e.code + ': ' + e.message })))`
  const out = await promisify(execFile)(process.execPath, ['-e', script], { env: { ...process.env, NETSPEC_STATE_DIR: state } }).then((r) => r.stdout)
  return JSON.parse(out) as { removed?: string[]; threw?: string }
}

test('sweep survives a directory where a dead writer temp file is expected', async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'netspec-sweep-odd-'))
  fs.mkdirSync(path.join(tmp, 'labs'), { mode: 0o700 })
  fs.mkdirSync(path.join(tmp, 'labs', 'x.json.999999.tmp'))
  const r = await sweepIn(tmp, { force: true })
  expect(r.threw).toBeUndefined()
  expect(r.removed).toEqual([])
})

test('sweep refuses markers from a labs directory others can write', async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'netspec-sweep-shared-'))
  const labs = path.join(tmp, 'labs')
  fs.mkdirSync(labs)
  fs.chmodSync(labs, 0o777) // ensureLabsDir would refuse to write here; nobody refuses to read
  fs.chownSync(labs, 65534, 65534)
  const marker = { version: 1, labId: '999999-abc-1', label: 'forged', ownerPid: 999999, ownerStart: 13368 /* base 36 of "abc", the id's tag */, createdAt: new Date().toISOString(), namespaces: ['ns-999999-abc-1-a'] }
  fs.writeFileSync(path.join(labs, '999999-abc-1.json'), JSON.stringify(marker))
  fs.chownSync(path.join(labs, '999999-abc-1.json'), 65534, 65534)
  const r = await sweepIn(tmp, {})
  expect(r.removed ?? [], JSON.stringify(r)).not.toContain('999999-abc-1')
})
