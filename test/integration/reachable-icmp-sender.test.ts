// An ICMP error that answers a TCP/UDP probe is judged by WHO sent it (REVIEW-2): the probe's socket has IP_RECVERR /
// IPV6_RECVERR, so the kernel names the sender (the offender) and the ICMP type and code. A router's firewall is not
// "a has no route" nor "the host is there"; only the target's own answer is. Checked against the kernel's own view on
// both kernel paths: `ip -j route get` in a, the rules' counters in r and b, b's Udp NoPorts in /proc/net/snmp.
//
//   a (10.0.1.1, fd01::1) ──── r (10.0.1.254 | 10.0.2.254, forwarding, nftables forward chain) ──── b (10.0.2.2, fd02::2)
import { describe, expect, test } from 'netspec/vitest'
import { reachable, type Lab, type Namespace } from 'netspec'
import { labOnPath } from '../fixtures/lab-path.js'
import { routed, withoutDropReasons } from '../fixtures/routed.js'

withoutDropReasons()

async function routedWithRules(lab: Lab): Promise<{ a: Namespace; r: Namespace; b: Namespace }> {
  const { a, r, b } = await routed(lab)
  await r.exec(['nft', '-f', '-'], {
    check: true,
    input: [
      'table inet f {',
      '  chain forward { type filter hook forward priority 0; policy accept;',
      '    ip daddr 10.0.2.2 tcp dport 80 counter reject with icmp type net-unreachable',
      '    ip daddr 10.0.2.2 udp dport 53 counter reject',
      '    ip6 daddr fd02::2 tcp dport 80 counter reject with icmpv6 type admin-prohibited',
      '    ip daddr 10.0.2.9 counter reject with icmp type net-unreachable',
      '  }',
      '}',
      '',
    ].join('\n'),
  })
  // b counts what reaches it, and rejects TCP port 81 itself.
  await b.exec(['nft', '-f', '-'], {
    check: true,
    input: 'table inet g { chain input { type filter hook input priority 0; policy accept; udp dport 53 counter; tcp dport 81 counter reject; }; }\n',
  })
  return { a, r, b }
}

async function counters(ns: Namespace): Promise<number[]> {
  const rs = JSON.parse((await ns.exec(['nft', '-j', 'list', 'ruleset'], { check: true })).stdout) as { nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[] }
  return rs.nftables.flatMap((o) => o.rule?.expr.flatMap((e) => (e.counter === undefined ? [] : [e.counter.packets])) ?? [])
}

async function udpNoPorts(ns: Namespace): Promise<number> {
  const lines = (await ns.exec(['cat', '/proc/net/snmp'], { check: true })).stdout.split('\n').filter((l) => l.startsWith('Udp:'))
  const [names, values] = lines.map((l) => l.split(/\s+/))
  return Number(values![names!.indexOf('NoPorts')])
}

describe.each(['netlink', 'ip'] as const)('%s path', (path) => {
  test("a router's ICMP net unreachable to a TCP SYN names the router, not a missing route in a", async () => {
    await using lab = await labOnPath(path, `icmp-sender ${path}`)
    const { a, r } = await routedWithRules(lab)
    const kernel = JSON.parse((await a.exec(['ip', '-j', 'route', 'get', '10.0.2.2'], { check: true })).stdout) as { gateway?: string }[]
    expect(kernel[0]!.gateway).toBe('10.0.1.254') // the kernel: a has a route
    expect((await a.exec(['bash', '-c', 'exec 3<>/dev/tcp/10.0.2.2/80'])).stderr).toContain('Network is unreachable')
    const res = await reachable(a, 'tcp://10.0.2.2:80', { timeoutMs: 1500 })
    expect((await counters(r))[0]).toBeGreaterThan(0) // r's reject rule met the SYNs
    expect(res.verdict).toBe('filtered')
    expect(res.detail).toMatch(/^router r \(10\.0\.1\.254\) answered "Destination Net Unreachable" for tcp:\/\/10\.0\.2\.2:80, yet its own kernel has a route there \(ip route get: dev eth1\)/)
    expect(res.detail).not.toMatch(/^a has no route/)
  })

  test("a router's ICMP port unreachable to a UDP datagram is not \"the host is there\": b never saw it", async () => {
    await using lab = await labOnPath(path, `icmp-sender-u ${path}`)
    const { a, r, b } = await routedWithRules(lab)
    const res = await reachable(a, 'udp://10.0.2.2:53', { timeoutMs: 1500 })
    expect((await counters(r))[1]).toBeGreaterThan(0) // r rejected them
    expect((await counters(b))[0]).toBe(0) // b's input never saw one
    expect(res.verdict).toBe('filtered')
    expect(res.detail).toMatch(/^router r \(10\.0\.1\.254\) rejected the datagram to udp:\/\/10\.0\.2\.2:53 with "Destination Port Unreachable": a firewall on the way \(10\.0\.2\.2 never saw it\)/)
    expect(res.detail).not.toContain('the host is there')
  })

  test('the target\'s own ICMP port unreachable is "the host is there" (UDP); its own reject of a TCP SYN is a firewall', async () => {
    await using lab = await labOnPath(path, `icmp-sender-t ${path}`)
    const { a, b } = await routedWithRules(lab)
    const noPorts = await udpNoPorts(b)
    const udp = await reachable(a, 'udp://10.0.2.2:54', { timeoutMs: 1500 })
    expect(await udpNoPorts(b)).toBeGreaterThan(noPorts) // the kernel of b: a datagram to a port nobody holds
    expect(udp.verdict).toBe('refused')
    expect(udp.detail).toBe('udp://10.0.2.2:54 refused the datagram ("Destination Port Unreachable" from 10.0.2.2): the host is there, nothing listens on port 54')
    const tcp = await reachable(a, 'tcp://10.0.2.2:81', { timeoutMs: 1500 })
    expect((await counters(b))[1]).toBeGreaterThan(0) // b's reject rule met the SYN
    expect(tcp.verdict).toBe('filtered')
    expect(tcp.detail).toMatch(/^10\.0\.2\.2 rejected the connection to port 81 with "Destination Port Unreachable": a firewall's reject there/)
    const rst = await reachable(a, 'tcp://10.0.2.2:82', { timeoutMs: 1500 }) // nothing listens, no rule: a RST
    expect(rst).toMatchObject({ verdict: 'refused', detail: 'tcp://10.0.2.2:82 refused the connection (TCP RST): the host is there, nothing listens on port 82' })
  })

  test("IPv6: a router's admin-prohibited (EACCES on the socket) is that router's firewall, not an output filter in a", async () => {
    await using lab = await labOnPath(path, `icmp-sender-6 ${path}`)
    const { a, r } = await routedWithRules(lab)
    expect((await a.exec(['bash', '-c', 'exec 3<>/dev/tcp/fd02::2/80'])).stderr).toContain('Permission denied') // EACCES
    const res = await reachable(a, 'tcp://[fd02::2]:80', { timeoutMs: 1500 })
    expect((await counters(r))[2]).toBeGreaterThan(0)
    expect(res.verdict).toBe('filtered')
    expect(res.detail).toMatch(/^router r \(fd01::fe\) rejected the connection to tcp:\/\/\[fd02::2\]:80 with "Destination unreachable: Administratively prohibited": a firewall on the way/)
    expect(res.detail).not.toContain('refused locally')
  })

  test('a router that really has no route is named as such; one whose firewall says "net unreachable" to an echo is not', async () => {
    await using lab = await labOnPath(path, `icmp-sender-n ${path}`)
    const { a, r } = await routedWithRules(lab)
    expect((await r.exec(['ip', '-j', 'route', 'get', '10.0.9.9'])).stderr).toContain('Network is unreachable') // r: no route
    const none = await reachable(a, 'tcp://10.0.9.9:80', { timeoutMs: 1500 })
    expect(none).toMatchObject({ verdict: 'no-route', detail: 'router r (10.0.1.254) has no route to 10.0.9.9 (it answered "Destination Net Unreachable")' })
    const kernel = JSON.parse((await r.exec(['ip', '-j', 'route', 'get', '10.0.2.9'], { check: true })).stdout) as { dev?: string }[]
    expect(kernel[0]!.dev).toBe('eth1') // r: a route (connected)
    const echo = await reachable(a, '10.0.2.9', { timeoutMs: 1500 })
    expect((await counters(r))[3]).toBeGreaterThan(0)
    expect(echo.verdict).toBe('filtered')
    expect(echo.detail).toMatch(/^router r \(10\.0\.1\.254\) answered "Destination Net Unreachable" for 10\.0\.2\.9, yet its own kernel has a route there/)
  })

  test("a's own output firewall: a drop is silence its counter explains, a reject is an ICMP error from a itself; neither is blamed on b", async () => {
    await using lab = await labOnPath(path, `icmp-sender-o ${path}`)
    const { a } = await routedWithRules(lab)
    await a.exec(['nft', '-f', '-'], {
      check: true,
      input: 'table inet o { chain output { type filter hook output priority 0; policy accept; tcp dport 83 counter drop; udp dport 84 counter reject; }; }\n',
    })
    // The kernel: a SYN dropped on output is retried in silence (no error for connect()), so only a counter can tell.
    expect((await a.exec(['timeout', '1', 'bash', '-c', 'exec 3<>/dev/tcp/10.0.2.2/83'])).exitCode).toBe(124)
    const drop = await reachable(a, 'tcp://10.0.2.2:83', { timeoutMs: 1000 })
    expect((await counters(a))[0]).toBeGreaterThan(0)
    expect(drop.verdict).toBe('filtered')
    expect(drop.detail).toMatch(/a firewall in the lab drops traffic: in a: chain inet o output: rule #\d+ drop: tcp dport 83 counter/)
    const reject = await reachable(a, 'udp://10.0.2.2:84', { timeoutMs: 1500 })
    expect((await counters(a))[1]).toBeGreaterThan(0)
    expect(reject.verdict).toBe('filtered')
    expect(reject.detail).toMatch(/^the datagram to udp:\/\/10\.0\.2\.2:84 was rejected in a itself \("Destination Port Unreachable" from its own /)
  })

  test('a neighbour nobody answers for: on a router, its "Host Unreachable" names it; on the source, its own kernel', async () => {
    await using lab = await labOnPath(path, `icmp-sender-h ${path}`)
    const a = await lab.namespace('a')
    const r = await lab.namespace('r', { forwarding: true })
    const b = await lab.namespace('b')
    await lab.veth([a, 'eth0', '10.0.1.1/24'], [r, 'eth0', '10.0.1.254/24'])
    await lab.veth([r, 'eth1', '10.0.2.254/24'], [b, 'eth0', '10.0.2.2/24'])
    // ARP gives up after one 100 ms try (instead of 3 × 1 s), so both refusals come back within the check.
    for (const [ns, dev] of [[a, 'eth0'], [r, 'eth1']] as const) {
      await ns.sysctlSet(`net.ipv4.neigh.${dev}.mcast_solicit`, 1)
      await ns.sysctlSet(`net.ipv4.neigh.${dev}.retrans_time_ms`, 100)
    }
    await a.routeAdd('default', { via: '10.0.1.254' })
    const far = await reachable(a, 'tcp://10.0.2.9:80', { timeoutMs: 2000 })
    const neigh = JSON.parse((await r.exec(['ip', '-j', 'neigh', 'show', '10.0.2.9'], { check: true })).stdout) as { state: string[] }[]
    expect(neigh[0]!.state).toContain('FAILED') // r's kernel: nobody answered ARP for 10.0.2.9
    expect(far.verdict).toBe('unresolved')
    expect(far.detail).toBe('router r (10.0.1.254) reports "Destination Host Unreachable" for 10.0.2.9: no neighbour answered there')
    const near = await reachable(a, 'udp://10.0.1.9:53', { timeoutMs: 2000 })
    const mine = JSON.parse((await a.exec(['ip', '-j', 'neigh', 'show', '10.0.1.9'], { check: true })).stdout) as { state: string[] }[]
    expect(mine[0]!.state).toContain('FAILED')
    expect(near.verdict).toBe('unresolved')
    expect(near.detail).toMatch(/^a could not resolve next hop 10\.0\.1\.9 on eth0: no ARP reply \(state [A-Z,]*FAILED/)
  })
})

test('where no IP_RECVERR socket can be had (NETSPEC_NO_FFI=1: no koffi), the errno is not pinned on anyone', async () => {
  await using lab = await labOnPath('ip', 'icmp-sender-noffi')
  const { a } = await routedWithRules(lab)
  const ffi = process.env.NETSPEC_NO_FFI
  process.env.NETSPEC_NO_FFI = '1'
  try {
    const udp = await reachable(a, 'udp://10.0.2.2:53', { timeoutMs: 1500 })
    expect(udp.verdict).toBe('refused')
    expect(udp.detail).toContain('who sent it was not read')
    expect(udp.detail).not.toContain('the host is there')
    const tcp = await reachable(a, 'tcp://10.0.2.2:80', { timeoutMs: 1500 })
    expect(tcp.detail).toContain('failed with ENETUNREACH')
    expect(tcp.detail).not.toMatch(/^a has no route/)
  } finally {
    if (ffi === undefined) delete process.env.NETSPEC_NO_FFI
    else process.env.NETSPEC_NO_FFI = ffi
  }
})
