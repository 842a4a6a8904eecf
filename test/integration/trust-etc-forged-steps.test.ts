// Found by the third adversarial review (REVIEW3-1), fixed; this test keeps it fixed. What was wrong: a forged `.netns.netspec-<deadpid>-<tag>-<n>.gone` file beside /etc/netns makes every sweep (and
// finishEtcNetnsSteps) rmdir an /etc/netns that netspec never created, or, when it is not empty, hard-link the forged
// file into it as `.netspec-created`, so netspec now claims the machine's directory and removes it later.
// Cause: src/lab/etc-netns-root.ts finish() -> settleGone(): the .gone entry is trusted by its name alone; nothing
// checks that the file is netspec's note (content = owner pid) nor that etcNetns has no note of its own / was ours.
// Run against a private copy of the layout under /tmp (the same function the sweep and reaper run on /etc).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { etcNetnsRoot } from '../../src/lab/etc-netns-root.js'

let tmp = ''
afterEach(() => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }) })

const dead = (pid: number) => pid === 999999 // a PID that does not exist: what sweep's predicate calls dead

test('a forged .gone does not remove an empty /etc/netns netspec did not create', () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'review3-1-'))
  const etcNetns = path.join(tmp, 'netns')
  fs.mkdirSync(etcNetns) // the machine's own (no .netspec-created note)
  fs.writeFileSync(path.join(tmp, '.netns.netspec-999999-abc-1.gone'), 'not a note\n')
  etcNetnsRoot(fs, path, etcNetns, path.join(path.dirname(etcNetns), "records")).finish(dead)
  // kernel/fs: the directory existed and was not netspec's; netspec: rmdir'ed it
  expect(fs.existsSync(etcNetns)).toBe(true)
})

test('a forged .gone does not plant a netspec claim in a non-empty /etc/netns', () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'review3-1-'))
  const etcNetns = path.join(tmp, 'netns')
  fs.mkdirSync(path.join(etcNetns, 'prod'), { recursive: true }) // the machine's, with its own namespace config
  fs.writeFileSync(path.join(etcNetns, 'prod', 'resolv.conf'), 'nameserver 10.0.0.1\n')
  fs.writeFileSync(path.join(tmp, '.netns.netspec-999999-abc-1.gone'), 'forged\n')
  const root = etcNetnsRoot(fs, path, etcNetns, path.join(path.dirname(etcNetns), "records"))
  root.finish(dead)
  expect(fs.existsSync(root.note)).toBe(false) // netspec now believes it created the machine's /etc/netns
  // and once the machine's last entry goes, the next lab's teardown removes the directory as its own
  fs.rmSync(path.join(etcNetns, 'prod'), { recursive: true })
  root.removeIfOurs(process.pid, 'x')
  expect(fs.existsSync(etcNetns)).toBe(true)
})
