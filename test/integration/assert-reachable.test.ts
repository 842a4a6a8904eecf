// Every verdict of reachable(), produced by a real kernel scenario.
import { describe, expect, test } from 'netspec/vitest'
import { reachable } from 'netspec'
import type { Lab, Namespace } from 'netspec'

async function pair(lab: Lab): Promise<[Namespace, Namespace]> {
  const ns1 = await lab.namespace('ns1')
  const ns2 = await lab.namespace('ns2')
  await lab.veth([ns1, 'veth1', '10.0.12.1/24', 'fd00:12::1/64'], [ns2, 'veth2', '10.0.12.2/24', 'fd00:12::2/64'])
  return [ns1, ns2]
}

describe('reachable() verdicts', () => {
  test('replied, with the RTT parsed from ping, over IPv4 and IPv6', async ({ lab }) => {
    const [ns1] = await pair(lab)
    const v4 = await reachable(ns1, '10.0.12.2')
    expect(v4).toMatchObject({ ok: true, verdict: 'replied', attempts: 1, proto: 'icmp' })
    expect(v4.rttMs).toBeGreaterThan(0)
    expect((await reachable(ns1, 'fd00:12::2')).verdict).toBe('replied')
  })

  test('no-route is decided from the kernel without sending anything', async ({ lab }) => {
    const [ns1] = await pair(lab)
    const r = await reachable(ns1, '10.0.1.26')
    expect(r).toMatchObject({ ok: false, verdict: 'no-route', attempts: 0 })
    expect(r.detail).toContain('ns1 has no route to 10.0.1.26: ip route get says "Network is unreachable" (no IPv4 default route')
  })

  test('unresolved names the next hop nobody answered for', async ({ lab }) => {
    const [ns1] = await pair(lab)
    const r = await reachable(ns1, '10.0.12.9', { timeoutMs: 1500 })
    expect(r.verdict).toBe('unresolved')
    expect(r.detail).toMatch(/10\.0\.12\.9/)
  })

  test('refused: a TCP port with nobody listening answers with RST', async ({ lab }) => {
    const [ns1] = await pair(lab)
    const r = await reachable(ns1, 'tcp://10.0.12.2:81')
    expect(r.verdict).toBe('refused')
    expect(r.detail).toContain('TCP RST')
  })

  test('refused: a UDP port with nobody listening answers ICMP port unreachable', async ({ lab }) => {
    const [ns1] = await pair(lab)
    expect((await reachable(ns1, 'udp://10.0.12.2:5353')).verdict).toBe('refused')
  })

  test('replied over TCP and UDP to a listener, which records the peer', async ({ lab }) => {
    const [ns1, ns2] = await pair(lab)
    const tcp = await ns2.listen(8080)
    const udp = await ns2.listen(5353, { proto: 'udp' })
    expect((await reachable(ns1, 'tcp://10.0.12.2:8080')).verdict).toBe('replied')
    expect((await reachable(ns1, 'udp://10.0.12.2:5353')).verdict).toBe('replied')
    expect((await reachable(ns1, 'tcp://[fd00:12::2]:8080')).verdict).toBe('replied')
    expect(tcp.peers()[0]).toMatchObject({ proto: 'tcp', address: '10.0.12.1', local: '10.0.12.2:8080' })
    expect(udp.peers()[0]).toMatchObject({ proto: 'udp', address: '10.0.12.1' })
    // An IPv6 local address is bracketed: 'fd00:12::2:8080' could be read as a longer address.
    expect(tcp.peers().find((p) => p.address === 'fd00:12::1')).toMatchObject({ proto: 'tcp', local: '[fd00:12::2]:8080' })
  })

  test('filtered: an nft drop rule in the target, named in the verdict and quoted with its comment', async ({ lab }) => {
    const [ns1, ns2] = await pair(lab)
    await ns2.exec(['nft', '-f', '-'], {
      check: true,
      input: 'table inet fw { chain input { type filter hook input priority 0; ip saddr 10.0.12.1 counter drop comment "no traffic from ns1 # ticket 7"; }; }\n',
    })
    const r = await reachable(ns1, '10.0.12.2', { timeoutMs: 800 })
    expect(r.verdict).toBe('filtered')
    // Without drop reasons: the rule quoted as nft prints it, comment included; with them (docs/drops.md) the kernel's words.
    expect(r.detail).toMatch(
      /in ns2: chain inet fw input: rule #\d+ drop: ip saddr 10\.0\.12\.1 counter packets \d+ bytes \d+ drop comment "no traffic from ns1 # ticket 7" \(\d+ packets counted, [1-9]\d* during this check\)|^dropped in ns2 by nftables: inet fw input, rule 'ip saddr 10\.0\.12\.1 counter drop comment .*' \(handle \d+\)$/,
    )
    expect(r.evidence.filters?.join()).toMatch(/in ns2: chain inet fw input: rule #\d+ drop(: .*)? \(\d+ packets counted, ([1-9]\d* during this check|the only drop rule here that counted any)\)/)
  })

  test('a drop counter left by earlier traffic is not blamed: a missing way back stays timed-out', async ({ lab }) => {
    const ns1 = await lab.namespace('ns1')
    const ns2 = await lab.namespace('ns2', { forwarding: true })
    const ns3 = await lab.namespace('ns3')
    await lab.veth([ns1, 'veth1', '10.0.12.1/24'], [ns2, 'veth2', '10.0.12.2/24'])
    await lab.veth([ns2, 'veth3', '10.0.23.2/24'], [ns3, 'veth4', '10.0.23.3/24'])
    await ns1.routeAdd('10.0.23.0/24', { via: '10.0.12.2' })
    await ns2.exec(['nft', '-f', '-'], { check: true, input: 'table inet fw { chain forward { type filter hook forward priority 0; tcp dport 81 counter drop; }; }\n' })
    expect((await reachable(ns1, 'tcp://10.0.23.3:81', { timeoutMs: 300 })).verdict).toBe('filtered') // counts, now and for ever

    const r = await reachable(ns1, '10.0.23.3', { timeoutMs: 800 }) // ns3 has no route back
    expect(r.verdict).toBe('timed-out')
    expect(r.detail).toContain('is the way back routed?')
  })

  test('timed-out: packets leave, nothing comes back, and no lab firewall explains it', async ({ lab }) => {
    const ns1 = await lab.namespace('ns1')
    const ns2 = await lab.namespace('ns2')
    const ns3 = await lab.namespace('ns3')
    await lab.veth([ns1, 'veth1', '10.0.12.1/24'], [ns2, 'veth2', '10.0.12.2/24'])
    await lab.veth([ns2, 'veth3', '10.0.23.2/24'], [ns3, 'veth4', '10.0.23.3/24'])
    await ns1.routeAdd('10.0.23.0/24', { via: '10.0.12.2' })
    await ns2.forwarding(true) // ns3 has no route back to 10.0.12.0/24
    const r = await reachable(ns1, '10.0.23.3', { timeoutMs: 800 })
    expect(r.verdict).toBe('timed-out')
    expect(r.detail).toContain('is the way back routed?')
  })

  test('a negative check with expectFailure decides quickly and says why', async ({ lab }) => {
    const [ns1] = await pair(lab)
    const r = await reachable(ns1, '10.0.12.77', { expectFailure: true })
    expect(r.ok).toBe(false)
    expect(r.durationMs).toBeLessThan(3000) // bounded by its own deadline (500 ms) plus one probe's exit, not a timed assertion of speed
  })
})

describe('matchers', () => {
  test('toReach and not.toReach', async ({ lab }) => {
    const [ns1] = await pair(lab)
    await expect(ns1).toReach('10.0.12.2')
    await expect(ns1).not.toReach('10.0.1.26')
    await expect(expect(ns1).toReach('10.0.1.26')).rejects.toThrow(
      /expected ns1 to reach 10\.0\.1\.26: no-route\n {2}ns1 has no route to 10\.0\.1\.26/,
    )
  })

  test('toHaveRoute and toRouteVia read the kernel', async ({ lab }) => {
    const [ns1] = await pair(lab)
    await ns1.routeAdd('10.9.0.0/16', { via: '10.0.12.2', metric: 50 })
    await expect(ns1).toHaveRoute('10.9.0.0/16', { via: '10.0.12.2', dev: 'veth1', metric: 50 })
    await expect(ns1).not.toHaveRoute('10.9.0.0/16', { metric: 51 })
    await expect(ns1).toRouteVia('10.9.1.1', { via: '10.0.12.2', dev: 'veth1' })
    await expect(ns1).not.toRouteVia('10.9.1.1', { dev: 'lo' })
    await expect(expect(ns1).toHaveRoute('default')).rejects.toThrow(/expected a route: ns1 has no route to default at all; its routes: 10\.0\.12\.0\/24 dev veth1/)
  })
})
