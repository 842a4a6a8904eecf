/*
 * Route types and policy routing: a router that discards, refuses or hands a destination to another table,
 * and what netspec says about each — the route (or rule) that decided, not "no route".
 *
 *     ┌── office ─────────────┐        ┌── router (forwarding) ───────────────────────────┐
 *     │ eth0  10.0.1.2/24     ├────────┤ lan  10.0.1.1/24                                  │
 *     │ default via 10.0.1.1  │        │ main:     blackhole   192.0.2.0/24   (a sinkhole)  │
 *     └───────────────────────┘        │           prohibit    203.0.113.0/24 (policy)      │
 *                                      │           unreachable 198.51.100.0/24              │
 *     ┌── vpn ────────────────┐        │ rule 100: from 10.0.1.2 lookup 100                 │
 *     │ eth0  10.0.2.2/24     ├────────┤ vpn  10.0.2.1/24    table 100: default via 10.0.2.2│
 *     └───────────────────────┘        └───────────────────────────────────────────────────┘
 */
import { test, expect, describe } from 'netspec/vitest'
import { reachable, routeGet, explain, type Namespace } from 'netspec'

describe('a router with typed routes and a policy rule', () => {
  let office: Namespace
  let router: Namespace

  test.beforeEach(async ({ lab }) => {
    office = await lab.namespace('office')
    router = await lab.namespace('router', { forwarding: true })
    const vpn = await lab.namespace('vpn')
    await lab.veth([office, 'eth0', '10.0.1.2/24'], [router, 'lan', '10.0.1.1/24'])
    await lab.veth([router, 'vpn', '10.0.2.1/24'], [vpn, 'eth0', '10.0.2.2/24'])
    await office.routeAdd('default', { via: '10.0.1.1' })
    await router.routeAdd('192.0.2.0/24', { type: 'blackhole' })
    await router.routeAdd('203.0.113.0/24', { type: 'prohibit' })
    await router.routeAdd('198.51.100.0/24', { type: 'unreachable' })
  })

  test('the router itself is told at once, and by which route', async () => {
    const sinkhole = await reachable(router, '192.0.2.10')
    expect(sinkhole.verdict).toBe('blackholed')
    expect(sinkhole.detail).toBe('router has a blackhole route 192.0.2.0/24 (table main): the kernel discards the packet')
    expect((await reachable(router, '203.0.113.5')).verdict).toBe('prohibited')     // an administrative refusal
    expect((await reachable(router, '198.51.100.7')).verdict).toBe('unreachable')
    expect((await reachable(router, '10.99.0.1')).verdict).toBe('no-route')          // nothing matched at all
    expect(await router.routes()).toContainEqual(expect.objectContaining({ dst: '192.0.2.0/24', type: 'blackhole' }))
  })

  test('explain() from the office stops at the router and names the route', async () => {
    const e = await explain(office, '192.0.2.10', { trace: false })
    expect(e.hops.map((h) => h.namespace)).toEqual(['office', 'router'])
    expect(e.verdict).toBe('blackhole route 192.0.2.0/24 (table main) in router for 192.0.2.10: Invalid argument')
  })

  test('a rule sends the office to the VPN table; routeGet() says which route decided', async () => {
    await router.routeAdd('default', { via: '10.0.2.2', table: 100 })
    await router.ruleAdd({ from: '10.0.1.2', table: 100, priority: 100 })
    expect(await router.rules()).toContainEqual(expect.objectContaining({ priority: 100, from: '10.0.1.2/32', table: '100' }))

    await expect(router).toRouteVia('10.77.0.1', { via: '10.0.2.2', dev: 'vpn' }, { from: '10.0.1.2', iif: 'lan' })
    const g = await routeGet(router, '10.77.0.1', { from: '10.0.1.2', iif: 'lan' })
    expect(g.decidedBy?.text).toBe('a unicast route default (table 100, chosen by rule 100: from 10.0.1.2 lookup 100)')
  })
})
