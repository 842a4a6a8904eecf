// Found by the third adversarial review (REVIEW3-2), fixed; this test keeps it fixed. What was wrong: the drop-reason hub's directory is neither NETSPEC_STATE_DIR nor checked. src/vitest/setup.ts:23 calls
// startDropHub() with its default '/run/netspec' (src/drops/hub.ts:50) whatever NETSPEC_STATE_DIR says, and
// startDropHub mkdirs and uses it with none of the checks owner.ts:143-147 makes of the state dir (symlink, owner,
// mode): through a symlinked directory it removes other sockets named drops-<deadpid>.sock (removeDeadHubSockets
// lstat()s the entries, but follows the directory) and binds its own socket wherever the link points.
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { removeDeadHubSockets, startDropHub } from '../../src/drops/hub.js'

let tmp = ''
const servers: net.Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r))
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
})

test('a symlinked hub directory is refused, not followed', async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'review3-2-'))
  const elsewhere = path.join(tmp, 'elsewhere')
  fs.mkdirSync(elsewhere, { mode: 0o777 })
  fs.chmodSync(elsewhere, 0o777) // world-writable, not root's own: owner.ts refuses such a state dir
  const link = path.join(tmp, 'state')
  fs.symlinkSync(elsewhere, link)
  // a live socket of someone else's that happens to carry a dead PID in its name
  const s = net.createServer()
  await new Promise<void>((r) => s.listen(path.join(elsewhere, 'drops-999999.sock'), r))
  servers.push(s)
  removeDeadHubSockets(link)
  expect(fs.existsSync(path.join(elsewhere, 'drops-999999.sock'))).toBe(true)
  const hub = await startDropHub(link).catch((e: Error) => e)
  if (hub !== undefined && !(hub instanceof Error)) {
    const where = fs.realpathSync(path.dirname(hub.path))
    await hub.close()
    expect(where, 'the hub bound its socket through a symlink into a world-writable directory').not.toBe(elsewhere)
  }
})
