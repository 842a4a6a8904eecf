/*
 * Path MTU: the "Frag needed" every MTU bug shows. A tunnel-like link with MTU 1400 sits between a branch
 * office and a server; a full-size packet with DF set comes back as "Frag needed and DF set (mtu = 1400)",
 * and a peer configured with a smaller MTU than its neighbour drops big frames without a word.
 *
 *     ┌── branch ─────────┐      ┌── gw (forwarding) ─────────┐      ┌── server ───────────┐
 *     │ eth0 10.0.1.2/24  ├──────┤ left 10.0.1.1/24 (1500)    │      │                     │
 *     │ mtu 1500          │      │ right 10.0.2.1/24 (1400)   ├──────┤ eth0 10.0.2.2/24    │
 *     └───────────────────┘      └────────────────────────────┘      │ mtu 1400            │
 *                                                                    └─────────────────────┘
 */
import { test, expect, describe } from 'netspec/vitest'
import { reachable, routeGet, type Namespace } from 'netspec'

describe('a 1400-byte link on the way', () => {
  let branch: Namespace

  test.beforeEach(async ({ lab }) => {
    branch = await lab.namespace('branch')
    const gw = await lab.namespace('gw', { forwarding: true })
    const server = await lab.namespace('server')
    await lab.veth([branch, 'eth0', '10.0.1.2/24'], [gw, 'left', '10.0.1.1/24'])
    await lab.veth([gw, 'right', '10.0.2.1/24', { mtu: 1400 }], [server, 'eth0', '10.0.2.2/24', { mtu: 1400 }])
    await branch.routeAdd('default', { via: '10.0.1.1' })
    await server.routeAdd('default', { via: '10.0.2.1' })
  })

  test('small pings pass; a 1500-byte packet with DF set is answered "Frag needed" by gw', async () => {
    await expect(branch).toReach('10.0.2.2')
    const big = await reachable(branch, '10.0.2.2', { size: 1472 })               // ping -M do -s 1472: 1500 bytes
    expect(big.verdict).toBe('too-big')
    expect(big.detail).toBe('router gw (10.0.1.1) answered "Frag needed and DF set (mtu = 1400)" for 10.0.2.2: a 1500-byte packet with DF set does not fit its next link (MTU 1400)')
    expect((await routeGet(branch, '10.0.2.2')).decision?.mtu).toBe(1400)     // the kernel learned the path MTU
    await expect(branch).toReach('10.0.2.2')
    expect((await reachable(branch, '10.0.2.2', { size: 1372 })).verdict).toBe('replied')        // 1400 bytes fit
    expect((await reachable(branch, '10.0.2.2', { size: 1472, dontFragment: false })).verdict).toBe('replied') // fragmented
  })
})

describe('a peer with a smaller MTU on the same wire', () => {
  test('drops big frames silently; netspec says the frame was larger than its MTU', async ({ lab }) => {
    const a = await lab.namespace('a')
    const b = await lab.namespace('b')
    await lab.veth([a, 'eth0', '10.0.0.1/24'], [b, 'eth0', '10.0.0.2/24', { mtu: 1300 }])
    await expect(a).toReach('10.0.0.2')
    const r = await reachable(a, '10.0.0.2', { size: 1400, timeoutMs: 500 })
    expect(r.verdict).toBe('too-big')
    expect(r.evidence.tooBig).toEqual({ bytes: 1428, mtu: 1300, by: "b's eth0" })
  })
})
