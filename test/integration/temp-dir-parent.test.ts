// The lab's temp directory (its files, captures, relay sockets) is made only where no other user can move it: under
// `sudo -E`, TMPDIR may be the invoking user's own directory (pam_tmpdir's /tmp/user/1000), where that user could
// rename the lab's 0700 directory and put a symlink to /etc in its place before root writes into it. Such a TMPDIR
// is refused before anything is made there; /tmp (root's, sticky) is fine.
import { chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { Lab, isNetspecError } from 'netspec'

const userTmp = mkdtempSync('/tmp/netspec-usertmp-')
chownSync(userTmp, 65534, 65534) // the invoking user's TMPDIR
afterAll(() => rmSync(userTmp, { recursive: true, force: true }))

test("a TMPDIR another user owns is refused for the lab's temp directory, its files and its captures", async () => {
  const before = process.env.TMPDIR
  process.env.TMPDIR = userTmp
  const lab = await Lab.create({ label: 'user tmpdir' })
  try {
    const a = await lab.namespace('a')
    const e = await lab.tempDir().catch((x: unknown) => x)
    expect(isNetspecError(e, 'not-permitted'), String(e)).toBe(true)
    expect((e as Error).message).toContain(`refusing to make the lab's temp directory in ${userTmp}: ${userTmp} belongs to uid 65534`)
    await expect(a.writeFile('bird.conf', 'x')).rejects.toThrow(/refusing to make the lab's temp directory/)
    await expect(a.capture('lo')).rejects.toThrow(/refusing to make the lab's temp directory/)
    expect(readdirSync(userTmp)).toEqual([]) // nothing was made there
    expect(lab.marker.tempDir).toBeUndefined()
  } finally {
    if (before === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = before
    await lab.destroy()
  }
  // With TMPDIR back at /tmp the same calls work.
  const ok = await Lab.create({ label: 'tmp tmpdir' })
  try {
    const dir = await ok.tempDir()
    expect(dir.startsWith('/tmp/netspec-lab-')).toBe(true)
    expect(ok.marker.tempDir).toBe(dir)
  } finally {
    await ok.destroy()
  }
})
