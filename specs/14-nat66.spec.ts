/*
 * NAT66: the tutorials' NAT story again, in IPv6. A home network on a ULA prefix reaches the outside
 * only through the gateway, which masquerades it behind its own address and forwards one port in.
 *
 *   ┌─ laptop ───────────────┐        ┌──────────── gw (forwarding) ────────────┐        ┌─ server ───────────────┐
 *   │ eth0 fd00:1::2/64      ├────────┤ lan fd00:1::1/64       wan 2001:db8::48 ├────────┤ eth0 2001:db8::26/64   │
 *   │ default via fd00:1::1  │        └─────────────────────────────────────────┘        │ (no route to fd00:1::) │
 *   └────────────────────────┘                                                           └────────────────────────┘
 *
 * Needs IPv6 NAT in the kernel (nftables masquerade for ip6): where it is missing, the specs skip naming it.
 */
import { describe, expect, test } from 'netspec/vitest'
import { kernelFeatureSkipReason, masquerade, portForward, reachable } from 'netspec'
import type { Namespace } from 'netspec'

const missing = await kernelFeatureSkipReason('ipv6', 'nat66')

describe('the laptop reaches the server through the gateway', () => {
  let laptop: Namespace, gw: Namespace, server: Namespace

  test.beforeEach(async ({ lab, skip }) => {
    if (missing !== undefined) return skip(missing)
    laptop = await lab.namespace('laptop')
    gw = await lab.namespace('gw', { forwarding: true })
    server = await lab.namespace('server')
    await lab.veth([laptop, 'eth0', 'fd00:1::2/64'], [gw, 'lan', 'fd00:1::1/64'])
    await lab.veth([gw, 'wan', '2001:db8::48/64'], [server, 'eth0', '2001:db8::26/64'])
    await laptop.routeAdd('default', { via: 'fd00:1::1' })
  })

  test('without NAT, the server has no way back to fd00:1::2', async () => {
    const r = await reachable(laptop, '2001:db8::26', { expectFailure: true })

    expect(r.verdict).toBe('timed-out')
    expect(r.detail).toContain('is the way back routed?')
  })

  test('with MASQUERADE, the server sees the gateway 2001:db8::48, not the laptop', async () => {
    await masquerade(gw, { source: 'fd00:1::/64', outInterface: 'wan' })

    await expect(laptop).toReach('2001:db8::26')
    await expect(gw).toMapNat({ from: laptop, to: 'tcp://[2001:db8::26]:443', as: '2001:db8::48' })
  })

  test('a port forward lands [2001:db8::48]:8080 on port 80 of the laptop', async () => {
    await portForward(gw, { proto: 'tcp', port: 8080, to: '[fd00:1::2]:80', inInterface: 'wan' })

    await expect(gw).toForward({ from: server, to: 'tcp://[2001:db8::48]:8080', landsOn: [laptop, 80] })
  })
})
