/*
 * Two VLANs on one switch, and a router on a stick.
 *
 *                         ┌────────────── switch: br0, vlan_filtering ──────────────┐
 *   ┌─ red1 ──────────┐   │                                                         │
 *   │ eth0 10.0.10.1  ├───┤ red1   pvid 10                                          │
 *   └─────────────────┘   │                                                         │   ┌─ router ───────────────┐
 *   ┌─ red2 ──────────┐   │                             trunk   tagged 10, 20  ─────┼───┤ eth0                   │
 *   │ eth0 10.0.10.2  ├───┤ red2   pvid 10                                          │   │  ├ eth0.10 10.0.10.254 │
 *   └─────────────────┘   │                                                         │   │  └ eth0.20 10.0.20.254 │
 *   ┌─ blue ──────────┐   │                                                         │   └────────────────────────┘
 *   │ eth0 10.0.20.1  ├───┤ blue   pvid 20                                          │
 *   └─────────────────┘   └─────────────────────────────────────────────────────────┘
 *
 * Access ports (pvid) carry one VLAN untagged; the trunk carries both with their 802.1Q tags, and the router
 * splits them again into sub-interfaces. Hosts in one VLAN meet; across VLANs only the router connects them.
 * Needs 802.1Q and bridge VLAN filtering: where the kernel lacks them, every spec here skips naming what is missing.
 */
import { describe, expect, test } from 'netspec/vitest'
import { kernelFeatureSkipReason } from 'netspec'
import type { Bridge, Namespace } from 'netspec'

const missing = await kernelFeatureSkipReason('vlan', 'bridge-vlan-filtering')

describe('two VLANs on one switch', () => {
  let br: Bridge, red1: Namespace, blue: Namespace, router: Namespace

  test.beforeEach(async ({ lab, skip }) => {
    if (missing !== undefined) return skip(missing)
    const sw = await lab.namespace('switch')
    red1 = await lab.namespace('red1')
    const red2 = await lab.namespace('red2')
    blue = await lab.namespace('blue')
    router = await lab.namespace('router', { forwarding: true })

    br = await lab.bridge(sw, 'br0', { vlanFiltering: true })
    await br.plug([red1, 'eth0', '10.0.10.1/24'], { port: 'red1', pvid: 10 })
    await br.plug([red2, 'eth0', '10.0.10.2/24'], { port: 'red2', pvid: 10 })
    await br.plug([blue, 'eth0', '10.0.20.1/24'], { port: 'blue', pvid: 20 })
    await br.plug([router, 'eth0'], { port: 'trunk', tagged: [10, 20] })
    await lab.vlan(router, 'eth0', 10, { addresses: ['10.0.10.254/24'] })
    await lab.vlan(router, 'eth0', 20, { addresses: ['10.0.20.254/24'] })
  })

  test('red1 and red2 share VLAN 10: they reach each other', async () => {
    await expect(red1).toReach('10.0.10.2')
  })

  test('blue is on VLAN 20: even with an address in the red subnet, nothing from red arrives', async () => {
    await blue.addrAdd('eth0', '10.0.10.3/24')

    await expect(red1).not.toReach('10.0.10.3')
  })

  test('the trunk carries both VLANs tagged: the router reaches each through its sub-interface', async () => {
    await expect(router).toReach('10.0.10.1')
    await expect(router).toReach('10.0.20.1')

    expect(await router.link('eth0.20')).toMatchObject({ kind: 'vlan', vlan: { id: 20, parent: 'eth0' } })
    expect((await br.vlans()).filter((v) => v.port === 'trunk')).toMatchObject([{ vid: 10, untagged: false }, { vid: 20, untagged: false }])
  })

  test('with default routes via the router, red reaches blue: routed between VLANs, not bridged', async () => {
    await red1.routeAdd('default', { via: '10.0.10.254' })
    await blue.routeAdd('default', { via: '10.0.20.254' })

    await expect(red1).toReach('10.0.20.1')
  })
})
