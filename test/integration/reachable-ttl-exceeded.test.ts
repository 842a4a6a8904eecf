// A routing loop (REVIEW2-1 of the second adversarial review): ping says "Time to live exceeded" from a router that
// has a route (it leads back), and no nft rule exists anywhere. reachable() must not call it a firewall: the verdict
// is 'unreachable', naming the router and the kernel's words, for ICMP, TCP and UDP alike, on both kernel paths.
//
//   a (10.0.1.1) ── r (10.0.1.254 | 10.0.2.254, forwarding) ── b (10.0.2.2, forwarding, default back to r)
import { describe, expect, test } from 'netspec/vitest'
import { reachable } from 'netspec'
import { labOnPath } from '../fixtures/lab-path.js'
import { noRules, pingSays, routed, withoutDropReasons } from '../fixtures/routed.js'

withoutDropReasons()


describe.each(['netlink', 'ip'] as const)('%s path', (path) => {
  test('a routing loop (TTL exceeded from a router that has a route) is not "a firewall there rejects it"', async () => {
    await using lab = await labOnPath(path, `rv2-loop ${path}`)
    const { a, r, b } = await routed(lab)
    await b.sysctlSet('net.ipv4.ip_forward', 1)
    await r.routeAdd('10.0.9.0/24', { via: '10.0.2.2' }) // r sends it to b, b's default sends it back to r: a loop
    await noRules(a, r, b)
    expect(await pingSays(a, '10.0.9.9')).toMatch(/^From 10\.0\.(1\.254|2\.2) icmp_seq=1 Time to live exceeded$/)
    for (const target of ['10.0.9.9', 'tcp://10.0.9.9:80', 'udp://10.0.9.9:53']) {
      const res = await reachable(a, target, { timeoutMs: 1500 })
      // There is no firewall: the route loops, and the router that said so is named with the kernel's words.
      expect(res.detail, target).not.toMatch(/firewall/)
      expect(res.verdict, `${target}: ${res.detail}`).toBe("unreachable")
      expect(res.detail, target).toMatch(/router [rb] \(10\.0\.(1\.254|2\.2)\) answered "Time to live exceeded".*TTL ran out on the way/)
    }
  })
})
