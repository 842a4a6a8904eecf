// listener.peers() right after reachable() has the peer, under CPU load: reachable() waits until the
// netspec listener it reached has recorded the connection (the listener writes its line before it answers,
// and its answer says how it saw the probe). Before, a TCP connect completed in the kernel's handshake and
// reachable() could return before the listener had even accepted.
import { spawn, type ChildProcess } from 'node:child_process'
import { test, expect } from 'netspec/vitest'
import { reachable } from 'netspec'

/** Busy processes, one per core and one more, so the listener, the probe and this worker compete for CPU. */
function burn(n: number): ChildProcess[] {
  return Array.from({ length: n }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }))
}

test('under load, every TCP and UDP peer (IPv4, IPv6) is in peers() as soon as reachable() returns', { timeout: 120_000 }, async ({ lab }) => {
  const ns1 = await lab.namespace('ns1')
  const ns2 = await lab.namespace('ns2')
  await lab.veth([ns1, 'veth1', '10.0.12.1/24', 'fd00:12::1/64'], [ns2, 'veth2', '10.0.12.2/24', 'fd00:12::2/64'])
  const tcp = await ns2.listen(8080)
  const udp = await ns2.listen(5353, { proto: 'udp' })
  const hogs = burn(3)
  try {
    for (let i = 1; i <= 10; i++) {
      for (const [target, listener, address] of [
        ['tcp://10.0.12.2:8080', tcp, '10.0.12.1'],
        ['tcp://[fd00:12::2]:8080', tcp, 'fd00:12::1'],
        ['udp://10.0.12.2:5353', udp, '10.0.12.1'],
      ] as const) {
        const before = listener.peers().filter((p) => p.address === address).length
        const r = await reachable(ns1, target, { timeoutMs: 10_000 })
        expect(r.verdict, `${target} round ${i} ${r.detail} ${JSON.stringify(r.evidence.drop)}`).toBe('replied')
        // Read at once, no waitForPeers: the connection this check made is there.
        expect(listener.peers().filter((p) => p.address === address).length, `${target} round ${i}`).toBeGreaterThan(before)
      }
    }
  } finally {
    for (const h of hogs) h.kill('SIGKILL')
  }
})
