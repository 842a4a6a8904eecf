// Found by the third adversarial review (REVIEW3-6), fixed; this test keeps it fixed. What was wrong: the labs directory is checked only when netspec writes a marker (ensureLabsDir, src/lab/owner.ts:136:
// symlink, owner, mode; and not its parents), never when it reads them: readMarkerFiles (owner.ts:229) and
// removeDeadWritersTemps (sweep.ts:18) read a world-writable or symlinked NETSPEC_STATE_DIR/labs as they find it,
// so sweep() — and the start-of-run sweep({ force: true }) of netspec/vitest/setup — plans removals from markers
// anybody could have put there. Private NETSPEC_STATE_DIR under /tmp; dry run only (nothing named exists).
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

test('sweep refuses markers from a labs directory others can write', { timeout: 120_000 }, async () => {
  await buildDist()
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'review3-6-'))
  const labs = path.join(tmp, 'labs')
  fs.mkdirSync(labs)
  fs.chmodSync(labs, 0o777) // ensureLabsDir would refuse to write here; nobody refuses to read
  fs.chownSync(labs, 65534, 65534)
  const marker = { version: 1, labId: '999999-abc-1', label: 'forged', ownerPid: 999999, ownerStart: 13368 /* base 36 of "abc", the id's tag */, createdAt: new Date().toISOString(), namespaces: ['ns-999999-abc-1-a'] }
  fs.writeFileSync(path.join(labs, '999999-abc-1.json'), JSON.stringify(marker))
  fs.chownSync(path.join(labs, '999999-abc-1.json'), 65534, 65534)
  const script = `import(${JSON.stringify(path.join(root, 'dist/index.js'))}).then((m) => m.sweep({})).then((r) => console.log(JSON.stringify({ removed: r.removed.map((p) => p.labId) })), (e) => console.log(JSON.stringify({ threw: e.message })))`
  const out = await promisify(execFile)('node', ['-e', script], { env: { ...process.env, NETSPEC_STATE_DIR: tmp } }).then((r) => r.stdout)
  const r = JSON.parse(out) as { removed?: string[]; threw?: string }
  // netspec: plans the forged lab's removal; expected: refuses the directory as ensureLabsDir does
  expect(r.removed ?? [], out).not.toContain('999999-abc-1')
})
