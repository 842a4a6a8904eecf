// The target's own ICMP net/host unreachable (its firewall's reject) is an answer, never silence retried to the
// timeout (REVIEW2-3 of the second adversarial review): 'filtered' at the first attempt, in the kernel's words. The kernel's own tools in the same lab: ping's "From X ..." line, `ip -j route get` in
// the router, and an empty nft ruleset everywhere.
//
//   a (10.0.1.1) ── r (10.0.1.254 | 10.0.2.254, forwarding) ── b (10.0.2.2)
import { describe, expect, test } from 'netspec/vitest'
import { reachable } from 'netspec'
import { labOnPath } from '../fixtures/lab-path.js'
import { pingSays, routed, withoutDropReasons } from '../fixtures/routed.js'

withoutDropReasons()


describe.each(['netlink', 'ip'] as const)('%s path', (path) => {
  test("the target's own `reject with icmp type host-unreachable` is an answer at once, not 'timed-out'", async () => {
    await using lab = await labOnPath(path, `rv2-tgt ${path}`)
    const { a, b } = await routed(lab)
    await b.exec(['nft', '-f', '-'], { check: true, input: 'table inet g { chain input { type filter hook input priority 0; policy accept; tcp dport 80 counter reject with icmp type host-unreachable; icmp type echo-request counter reject with icmp type net-unreachable; }; }\n' })
    expect(await pingSays(a, '10.0.2.2')).toBe('From 10.0.2.2 icmp_seq=1 Destination Net Unreachable')
    const tcp = await reachable(a, 'tcp://10.0.2.2:80', { timeoutMs: 3000 })
    const icmp = await reachable(a, '10.0.2.2', { timeoutMs: 3000 })
    expect(tcp.verdict).toBe('filtered')
    expect(icmp.verdict).toBe('filtered')
    expect(tcp.detail).not.toMatch(/^no answer/)
    expect(icmp.detail).not.toMatch(/^no answer/)
    expect(icmp.attempts).toBe(1)
    expect(tcp.detail).toMatch(/^10\.0\.2\.2 rejected the connection with "Destination Host Unreachable": a firewall's reject there/)
    expect(icmp.detail).toMatch(/^10\.0\.2\.2 rejected the echo request with "Destination Net Unreachable": a firewall's reject there/)
  })
})
