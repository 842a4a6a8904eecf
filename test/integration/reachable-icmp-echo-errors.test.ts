// An ICMP error that answers netspec's echo request is judged by its sender, as a TCP/UDP probe's is (REVIEW-12):
// a router's `reject` is that router's firewall, named with the error's words; a router's real "Host Unreachable"
// (no neighbour answered there) is `unresolved` naming it; the target's own reject is the target's firewall. Never
// "no answer". Both kernel paths (in-process raw ICMP socket; `ping` with NETSPEC_NO_NETLINK=1) give the same detail,
// and each case is checked against ping's own "From X icmp_seq=N <error>" line in the same lab and the rules' counters.
//
//   a (10.0.1.1, fd01::1) ──── r (10.0.1.254 | 10.0.2.254, fd01::fe | fd02::fe, forwarding) ──── b (10.0.2.2, fd02::2)
import { describe, expect, test } from 'netspec/vitest'
import { reachable, type Namespace } from 'netspec'
import { labOnPath } from '../fixtures/lab-path.js'
import { routed, withoutDropReasons } from '../fixtures/routed.js'

withoutDropReasons()


async function nft(ns: Namespace, ruleset: string): Promise<void> {
  await ns.exec(['nft', '-f', '-'], { check: true, input: ruleset })
}

/** Every rule counter of the namespace, in ruleset order (the kernel's count, from `nft -j`). */
async function counters(ns: Namespace): Promise<number[]> {
  const rs = JSON.parse((await ns.exec(['nft', '-j', 'list', 'ruleset'], { check: true })).stdout) as { nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[] }
  return rs.nftables.flatMap((o) => o.rule?.expr.flatMap((e) => (e.counter === undefined ? [] : [e.counter.packets])) ?? [])
}

/** ping's own line for the error: "From <sender> icmp_seq=1 <words>". */
async function pingSays(a: Namespace, target: string): Promise<string> {
  const out = (await a.exec(['ping', '-n', '-c1', '-W1', target])).stdout
  const line = /^From .*$/m.exec(out)
  expect(line, out).not.toBeNull()
  return line![0]
}

describe.each(['netlink', 'ip'] as const)('%s path', (path) => {
  test("a router's firewall reject of an echo (host-unreachable, admin-prohibited) names the router and the error, never \"no answer\"", async () => {
    await using lab = await labOnPath(path, `echo-err-r ${path}`)
    const { a, r, b } = await routed(lab)
    await nft(r, [
      'table inet f {',
      '  chain forward { type filter hook forward priority 0; policy accept;',
      '    icmp type echo-request counter reject with icmp type host-unreachable',
      '    icmpv6 type echo-request counter reject with icmpv6 type admin-prohibited',
      '  }',
      '}',
      '',
    ].join('\n'))
    await nft(b, 'table inet g { chain input { type filter hook input priority 0; policy accept; icmp type echo-request counter; icmpv6 type echo-request counter; }; }\n')
    expect(await pingSays(a, '10.0.2.2')).toBe('From 10.0.1.254 icmp_seq=1 Destination Host Unreachable')
    expect(await pingSays(a, 'fd02::2')).toBe('From fd01::fe icmp_seq=1 Destination unreachable: Administratively prohibited')

    const v4 = await reachable(a, '10.0.2.2', { timeoutMs: 1000 })
    expect(v4.verdict).toBe('filtered')
    expect(v4.detail).toMatch(
      /^router r \(10\.0\.1\.254\) answered "Destination Host Unreachable" for 10\.0\.2\.2; a firewall in the lab drops traffic: in r: chain inet f forward: rule #\d+ reject: icmp type echo-request counter .*reject with icmp host-unreachable/,
    )
    const v6 = await reachable(a, 'fd02::2', { timeoutMs: 1000 })
    expect(v6.verdict).toBe('filtered')
    expect(v6.detail).toMatch(
      /^router r \(fd01::fe\) rejected the echo request to fd02::2 with "Destination unreachable: Administratively prohibited": a firewall on the way \(fd02::2 never saw it\); a firewall in the lab drops traffic: in r: chain inet f forward: rule #\d+ reject: icmpv6 type echo-request counter/,
    )
    const [r4, r6] = await counters(r)
    expect(r4).toBeGreaterThan(1) // the kernel: r's rules met ping's echo and netspec's
    expect(r6).toBeGreaterThan(1)
    expect(await counters(b)).toEqual([0, 0]) // b never saw one
    // Answered at once: one probe, not retries until the deadline.
    expect(v4.attempts).toBe(1)
    expect(v6.attempts).toBe(1)
  })

  test('the same for a TCP SYN a router rejects with host-unreachable: the answer leads, not "no answer"', async () => {
    await using lab = await labOnPath(path, `echo-err-tcp ${path}`)
    const { a, r } = await routed(lab)
    await nft(r, 'table inet f { chain forward { type filter hook forward priority 0; policy accept; tcp dport 80 counter reject with icmp type host-unreachable; }; }\n')
    expect((await a.exec(['bash', '-c', 'exec 3<>/dev/tcp/10.0.2.2/80'])).stderr).toContain('No route to host') // EHOSTUNREACH
    const res = await reachable(a, 'tcp://10.0.2.2:80', { timeoutMs: 1500 })
    expect((await counters(r))[0]).toBeGreaterThan(1)
    expect(res.verdict).toBe('filtered')
    expect(res.detail).toMatch(/^router r \(10\.0\.1\.254\) answered "Destination Host Unreachable" for tcp:\/\/10\.0\.2\.2:80; a firewall in the lab drops traffic: in r: chain inet f forward: rule #\d+ reject: .*tcp dport 80 counter/)
  })

  test("a router's plain `reject` (ICMP port unreachable) of an echo is that router's firewall, decided at once", async () => {
    await using lab = await labOnPath(path, `echo-err-p ${path}`)
    const { a, r } = await routed(lab)
    await nft(r, 'table inet f { chain forward { type filter hook forward priority 0; policy accept; meta l4proto { icmp, ipv6-icmp } reject; }; }\n')
    expect(await pingSays(a, '10.0.2.2')).toBe('From 10.0.1.254 icmp_seq=1 Destination Port Unreachable')
    expect(await pingSays(a, 'fd02::2')).toBe('From fd01::fe icmp_seq=1 Destination unreachable: Port unreachable')
    for (const [target, by, words] of [
      ['10.0.2.2', '10.0.1.254', 'Destination Port Unreachable'],
      ['fd02::2', 'fd01::fe', 'Destination unreachable: Port unreachable'],
    ] as const) {
      const res = await reachable(a, target, { timeoutMs: 1500 })
      expect(res.verdict, target).toBe('filtered')
      expect(res.attempts, target).toBe(1)
      expect(res.detail, target).toMatch(new RegExp(`^router r \\(${by}\\) rejected the echo request to ${target} with "${words}": a firewall on the way \\(${target} never saw it\\)`))
      expect(res.durationMs, target).toBeLessThan(1500)
    }
  })

  test("the target's own reject of an echo is the target's firewall", async () => {
    await using lab = await labOnPath(path, `echo-err-t ${path}`)
    const { a, b } = await routed(lab)
    await nft(b, [
      'table inet g {',
      '  chain input { type filter hook input priority 0; policy accept;',
      '    icmp type echo-request counter reject',
      '    icmpv6 type echo-request counter reject with icmpv6 type admin-prohibited',
      '  }',
      '}',
      '',
    ].join('\n'))
    expect(await pingSays(a, '10.0.2.2')).toBe('From 10.0.2.2 icmp_seq=1 Destination Port Unreachable')
    expect(await pingSays(a, 'fd02::2')).toBe('From fd02::2 icmp_seq=1 Destination unreachable: Administratively prohibited')
    const v4 = await reachable(a, '10.0.2.2', { timeoutMs: 1000 })
    expect(v4.verdict).toBe('filtered')
    expect(v4.detail).toMatch(/^10\.0\.2\.2 rejected the echo request with "Destination Port Unreachable": a firewall's reject there; a firewall in the lab drops traffic: in b: /)
    const v6 = await reachable(a, 'fd02::2', { timeoutMs: 1000 })
    expect(v6.verdict).toBe('filtered')
    expect(v6.detail).toMatch(/^fd02::2 rejected the echo request with "Destination unreachable: Administratively prohibited": a firewall's reject there; a firewall in the lab drops traffic: in b: /)
    expect((await counters(b)).every((n) => n > 1)).toBe(true)
  })

  test('a router whose neighbour never answers: its "Host Unreachable" / "Address unreachable" is `unresolved`, naming it', async () => {
    await using lab = await labOnPath(path, `echo-err-h ${path}`)
    const { a, r } = await routed(lab)
    // One neighbour solicitation of 100 ms (instead of 3 × 1 s), so r's ICMP error comes back within the check.
    await r.sysctlSet('net.ipv4.neigh.eth1.mcast_solicit', 1)
    await r.sysctlSet('net.ipv4.neigh.eth1.retrans_time_ms', 100)
    await r.sysctlSet('net.ipv6.neigh.eth1.mcast_solicit', 1)
    await r.sysctlSet('net.ipv6.neigh.eth1.retrans_time_ms', 100)
    expect(await pingSays(a, '10.0.2.9')).toBe('From 10.0.1.254 icmp_seq=1 Destination Host Unreachable')
    expect(await pingSays(a, 'fd02::9')).toBe('From fd01::fe icmp_seq=1 Destination unreachable: Address unreachable')
    for (const [target, by, words] of [
      ['10.0.2.9', '10.0.1.254', 'Destination Host Unreachable'],
      ['fd02::9', 'fd01::fe', 'Destination unreachable: Address unreachable'],
    ] as const) {
      const res = await reachable(a, target, { timeoutMs: 2000 })
      const neigh = JSON.parse((await r.exec(['ip', '-j', 'neigh', 'show', target], { check: true })).stdout) as { state: string[] }[]
      expect(neigh[0]!.state, target).toContain('FAILED') // r's kernel: nobody answered for it
      expect(res.verdict, target).toBe('unresolved')
      expect(res.detail, target).toBe(`router r (${by}) reports "${words}" for ${target}: no neighbour answered there`)
    }
  })
})

// Every ICMP error nftables' `reject with` can send: the words ping prints for it are the words the verdict quotes,
// with the router named; each is a firewall on the way (its counter moved), never silence; both paths say the same.
test("every reject type: ping's words and sender are what reachable() reports, identically on both paths", async () => {
  const details = new Map<string, string[]>()
  for (const path of ['netlink', 'ip'] as const) {
    await using lab = await labOnPath(path, `echo-err-all ${path}`)
    const { a, r } = await routed(lab)
    // r's kernel rate-limits the ICMP errors it sends to a (a burst of 6, then one a second): off, for 26 probes in a row.
    await r.sysctlSet('net.ipv4.icmp_ratelimit', 0)
    await r.sysctlSet('net.ipv6.icmp.ratelimit', 0)
    const cases = [
      ['10.0.2.2', '10.0.1.254', 'icmp type echo-request counter reject with icmp type net-unreachable'],
      ['10.0.2.2', '10.0.1.254', 'icmp type echo-request counter reject with icmp type host-unreachable'],
      ['10.0.2.2', '10.0.1.254', 'icmp type echo-request counter reject with icmp type prot-unreachable'],
      ['10.0.2.2', '10.0.1.254', 'icmp type echo-request counter reject with icmp type port-unreachable'],
      ['10.0.2.2', '10.0.1.254', 'icmp type echo-request counter reject with icmp type net-prohibited'],
      ['10.0.2.2', '10.0.1.254', 'icmp type echo-request counter reject with icmp type host-prohibited'],
      ['10.0.2.2', '10.0.1.254', 'icmp type echo-request counter reject with icmp type admin-prohibited'],
      ['fd02::2', 'fd01::fe', 'icmpv6 type echo-request counter reject with icmpv6 type no-route'],
      ['fd02::2', 'fd01::fe', 'icmpv6 type echo-request counter reject with icmpv6 type admin-prohibited'],
      ['fd02::2', 'fd01::fe', 'icmpv6 type echo-request counter reject with icmpv6 type addr-unreachable'],
      ['fd02::2', 'fd01::fe', 'icmpv6 type echo-request counter reject with icmpv6 type port-unreachable'],
      ['fd02::2', 'fd01::fe', 'icmpv6 type echo-request counter reject with icmpv6 type policy-fail'],
      ['fd02::2', 'fd01::fe', 'icmpv6 type echo-request counter reject with icmpv6 type reject-route'],
    ] as const
    for (const [target, by, rule] of cases) {
      await r.exec(['nft', 'flush', 'ruleset'], { check: true })
      await nft(r, `table inet f { chain forward { type filter hook forward priority 0; policy accept; ${rule}; }; }\n`)
      const line = await pingSays(a, target)
      const said = new RegExp(`^From ${by} icmp_seq=1 (.+)$`).exec(line)
      expect(said, `${rule}: ${line}`).not.toBeNull()
      const res = await reachable(a, target, { timeoutMs: 1000 })
      expect(res.verdict, rule).toBe('filtered')
      expect(res.attempts, rule).toBe(1)
      expect(res.detail, rule).toContain(`router r (${by}) `)
      // iputils 20221126 has no words for ICMPv6 codes 5 and 6: the verdict quotes RFC 4443's names for them.
      const rfc4443: Record<string, string> = { 'Unknown code 5': 'Source address failed ingress/egress policy', 'Unknown code 6': 'Reject route to destination' }
      const words = said![1]!.replace(/Unknown code \d+$/, (c) => rfc4443[c] ?? c)
      expect(res.detail, rule).toContain(`"${words}"`)
      expect(res.detail, rule).not.toMatch(/no answer/)
      expect((await counters(r))[0], rule).toBeGreaterThan(1)
      // The counters' numbers differ (ping's packets are bigger): the rest of the sentence is the same on both paths.
      details.set(rule, [...(details.get(rule) ?? []), res.detail.replace(/packets \d+ bytes \d+|\(\d+ packets counted, \d+ during this check\)/g, '…')])
    }
  }
  for (const [rule, [netlink, ip]] of details) expect(ip, rule).toBe(netlink)
})
