// NAT66: masquerade, SNAT and a DNAT port forward over IPv6, proven by what a real peer saw and by the
// gateway's conntrack tuple. Skips naming the feature where the kernel has no IPv6 NAT.
import { describe, expect, test } from 'netspec/vitest'
import { conntrackEntries, kernelFeatureSkipReason, masquerade, natMaps, portForward, reachable, snat } from 'netspec'
import type { Lab, Namespace } from 'netspec'

const noNat66 = await kernelFeatureSkipReason('ipv6', 'nat66')

//  inside fd00:1::2 ── gw (fd00:1::1 | fd00:2::48) ── outside fd00:2::26   (outside has no route back to fd00:1::/64)
async function nat66Lab(lab: Lab): Promise<{ inside: Namespace; gw: Namespace; outside: Namespace }> {
  const inside = await lab.namespace('inside')
  const gw = await lab.namespace('gw', { forwarding: true })
  const outside = await lab.namespace('outside')
  await lab.veth([inside, 'eth0', 'fd00:1::2/64'], [gw, 'lan', 'fd00:1::1/64'])
  await lab.veth([gw, 'wan', 'fd00:2::48/64'], [outside, 'eth0', 'fd00:2::26/64'])
  await inside.routeAdd('default', { via: 'fd00:1::1' })
  return { inside, gw, outside }
}

describe('NAT66', () => {
  test.beforeEach(({ skip }) => {
    if (noNat66 !== undefined) skip(noNat66)
  })

  test('without a rule the outside host cannot answer fd00:1::2: the mapping is shown wrong', async ({ lab }) => {
    const { inside, gw } = await nat66Lab(lab)
    const r = await natMaps(gw, { from: inside, to: 'tcp://[fd00:2::26]:80', as: 'fd00:2::48' })
    expect(r.ok).toBe(false)
    expect(r.probe.verdict).toBe('timed-out')
  })

  test('MASQUERADE: the outside host sees the gateway fd00:2::48, with the conntrack tuple as evidence', async ({ lab }) => {
    const { inside, gw } = await nat66Lab(lab)
    const rule = await masquerade(gw, { source: 'fd00:1::/64', outInterface: 'wan' })
    expect(rule).toMatchObject({ ns: 'gw', kind: 'masquerade', chain: 'postrouting' })

    const r = await natMaps(gw, { from: inside, to: 'tcp://[fd00:2::26]:80', as: 'fd00:2::48' })
    expect(r.detail).toMatch(/^outside saw inside's connection to tcp:\/\/\[fd00:2::26\]:80 coming from fd00:2::48:\d+$/)
    expect(r).toMatchObject({ ok: true, observed: { address: 'fd00:2::48' } })
    expect(r.conntrack).toMatchObject({
      proto: 'tcp',
      original: { src: 'fd00:1::2', dst: 'fd00:2::26', dport: 80 },
      reply: { src: 'fd00:2::26', dst: 'fd00:2::48', sport: 80, dport: r.observed!.port },
    })
    await expect(inside).toReach('fd00:2::26') // ICMPv6 echo is masqueraded too
    const icmp = (await conntrackEntries(gw)).find((e) => e.proto === 'icmpv6')
    expect(icmp).toMatchObject({ original: { src: 'fd00:1::2', dst: 'fd00:2::26' }, reply: { src: 'fd00:2::26', dst: 'fd00:2::48' } })
  })

  test('SNAT with addresses of two families is rejected before nft sees it', async ({ lab }) => {
    const { gw } = await nat66Lab(lab)
    await expect(snat(gw, { source: 'fd00:1::/64', to: '10.0.1.49' })).rejects.toMatchObject({ kind: 'invalid-input', message: expect.stringContaining('different address families') })
  })

  test('SNAT to a fixed address, over UDP', async ({ lab }) => {
    const { inside, gw } = await nat66Lab(lab)
    await gw.addrAdd('wan', 'fd00:2::49/64')
    await snat(gw, { source: 'fd00:1::/64', to: 'fd00:2::49' })
    await expect(gw).toMapNat({ from: inside, to: 'udp://[fd00:2::26]:53', as: 'fd00:2::49' })
  })

  test('a DNAT port forward lands [fd00:2::48]:8088 on port 80 of the inside host; without it nothing lands', async ({ lab }) => {
    const { inside, gw, outside } = await nat66Lab(lab)
    const before = await natMaps(gw, { from: outside, to: 'tcp://[fd00:2::48]:8088', landsOn: [inside, 80] })
    expect(before).toMatchObject({ ok: false, probe: { verdict: 'refused' } })

    await portForward(gw, { proto: 'tcp', port: 8088, to: '[fd00:1::2]:80', inInterface: 'wan' })
    const r = await natMaps(gw, { from: outside, to: 'tcp://[fd00:2::48]:8088', landsOn: [inside, 80] })
    expect(r).toMatchObject({ ok: true, observed: { address: 'fd00:2::26' } })
    expect(r.conntrack).toMatchObject({ proto: 'tcp', original: { src: 'fd00:2::26', dst: 'fd00:2::48', dport: 8088 }, reply: { src: 'fd00:1::2', sport: 80 } })
    // Only the forwarded port is exposed: the inside address itself is not routed from outside.
    expect(await reachable(outside, 'fd00:1::2', { expectFailure: true })).toMatchObject({ ok: false, verdict: 'no-route' })
  })
})
