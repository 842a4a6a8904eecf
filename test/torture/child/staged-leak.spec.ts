// Run by test/integration/sealed-check.test.ts inside a lab namespace that plays the machine's root
// namespace: the test adds a route and sends a packet to a lab address there, and the sealed check
// (globalSetup) must fail the run. Refuses to run in the machine's real root namespace.
import { execFileSync, spawnSync } from 'node:child_process'
import { statSync } from 'node:fs'
import { expect, test } from 'vitest'

test('a test that leaks into the namespace it runs in', () => {
  // Only inside the stage namespace the parent named, never anywhere else.
  expect(statSync('/proc/self/ns/net').ino).toBe(statSync(`/run/netns/${process.env.NETSPEC_STAGE_NETNS}`).ino)
  execFileSync('ip', ['route', 'add', '10.99.0.0/16', 'dev', 'lo'])
  spawnSync('ping', ['-c1', '-W1', '10.99.0.2'], { stdio: 'ignore' }) // no reply: only the capture matters
})
