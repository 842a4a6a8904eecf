// NAT proven by what a real peer saw (and shown wrong without the rule), routes, the matrix, and matcher messages.
import { describe, expect, test } from 'netspec/vitest'
import { hasRoute, masquerade, natMaps, portForward, reachable, routeGet, snat } from 'netspec'
import type { Lab, Namespace } from 'netspec'

//  inside 172.16.0.2 ── gw (172.16.0.1 | 10.0.1.48) ── outside 10.0.1.26
async function natLab(lab: Lab): Promise<{ inside: Namespace; gw: Namespace; outside: Namespace }> {
  const inside = await lab.namespace('inside')
  const gw = await lab.namespace('gw', { forwarding: true })
  const outside = await lab.namespace('outside')
  await lab.veth([inside, 'eth0', '172.16.0.2/24'], [gw, 'lan', '172.16.0.1/24'])
  await lab.veth([gw, 'wan', '10.0.1.48/24'], [outside, 'eth0', '10.0.1.26/24'])
  await inside.routeAdd('default', { via: '172.16.0.1' })
  return { inside, gw, outside }
}

describe('natMaps', () => {
  test('MASQUERADE: the far side sees the gateway, with the conntrack entry as evidence', async ({ lab }) => {
    const { inside, gw } = await natLab(lab)
    const rule = await masquerade(gw, { source: '172.16.0.0/24', outInterface: 'wan' })
    expect(rule).toMatchObject({ ns: 'gw', kind: 'masquerade', chain: 'postrouting' })
    const r = await natMaps(gw, { from: inside, to: 'tcp://10.0.1.26:80', as: '10.0.1.48' })
    expect(r.ok).toBe(true)
    expect(r.observed).toMatchObject({ address: '10.0.1.48' })
    expect(r.conntrack).toMatchObject({ proto: 'tcp', original: { src: '172.16.0.2', dst: '10.0.1.26', dport: 80 }, reply: { src: '10.0.1.26', dst: '10.0.1.48' } })
  })

  test('SNAT to a fixed address', async ({ lab }) => {
    const { inside, gw } = await natLab(lab)
    await gw.addrAdd('wan', '10.0.1.49/24')
    await snat(gw, { source: '172.16.0.0/24', to: '10.0.1.49' })
    await expect(gw).toMapNat({ from: inside, to: 'udp://10.0.1.26:53', as: '10.0.1.49' })
  })

  test('without the rule, the mapping is shown wrong: the reply never comes back', async ({ lab }) => {
    const { inside, gw } = await natLab(lab)
    const r = await natMaps(gw, { from: inside, to: 'tcp://10.0.1.26:80', as: '10.0.1.48' })
    expect(r.ok).toBe(false)
    expect(r.probe.verdict).toBe('timed-out')
    expect(r.detail).toContain('inside could not reach tcp://10.0.1.26:80: timed-out')
  })

  test('DNAT: a port forward lands on the inside host; without it nothing lands', async ({ lab }) => {
    const { inside, gw, outside } = await natLab(lab)
    const before = await natMaps(gw, { from: outside, to: 'tcp://10.0.1.48:8088', landsOn: [inside, 80] })
    expect(before).toMatchObject({ ok: false, probe: { verdict: 'refused' } })
    await portForward(gw, { proto: 'tcp', port: 8088, to: '172.16.0.2:80', inInterface: 'wan' })
    const r = await natMaps(gw, { from: outside, to: 'tcp://10.0.1.48:8088', landsOn: [inside, 80] })
    expect(r).toMatchObject({ ok: true, observed: { address: '10.0.1.26', local: '172.16.0.2:80' } })
    expect(r.conntrack).toMatchObject({ original: { dst: '10.0.1.48', dport: 8088 }, reply: { src: '172.16.0.2', sport: 80 } })
  })
})

describe('routes', () => {
  test('hasRoute: positive and negative, with what the table holds instead', async ({ lab }) => {
    const { inside } = await natLab(lab)
    expect((await hasRoute(inside, 'default', { via: '172.16.0.1', dev: 'eth0' })).ok).toBe(true)
    const miss = await hasRoute(inside, 'default', { via: '172.16.0.9' })
    expect(miss.ok).toBe(false)
    expect(miss.detail).toBe('inside has no route to default via 172.16.0.9; for default it has: default via 172.16.0.1 dev eth0')
    await expect(inside).toHaveRoute('172.16.0.0/24', { dev: 'eth0', scope: 'link' })
    await expect(inside).not.toHaveRoute('10.9.0.0/16')
  })

  test('routeGet with selectors, and a selector that must not match', async ({ lab }) => {
    const { gw } = await natLab(lab)
    await gw.exec('ip route add 10.9.0.0/16 via 10.0.1.26 table 100 && ip rule add fwmark 7 table 100', { check: true })
    const marked = await routeGet(gw, '10.9.1.1', { mark: 7 })
    expect(marked.decision).toMatchObject({ dev: 'wan', gateway: '10.0.1.26' })
    const plain = await routeGet(gw, '10.9.1.1')
    expect(plain).toMatchObject({ ok: false })
    expect(plain.detail).toContain('gw has no route to 10.9.1.1')
    await expect(gw).toRouteVia('10.9.1.1', { via: '10.0.1.26' }, { mark: 7 })
    await expect(gw).not.toRouteVia('10.9.1.1', { via: '10.0.1.26' }, { mark: 8 })
    await expect(gw).not.toRouteVia('10.9.1.1', { via: '10.0.1.99' }, { mark: 7 })
    // The deprecated spelling { gateway } means the same as { via }, compared just as strictly.
    await expect(gw).toRouteVia('10.9.1.1', { gateway: '10.0.1.26' }, { mark: 7 })
    await expect(gw).not.toRouteVia('10.9.1.1', { gateway: '10.0.1.99' }, { mark: 7 })
    await expect(expect(gw).toRouteVia('10.9.1.1', { via: '10.0.1.26', gateway: '10.0.1.99' }, { mark: 7 })).rejects.toThrow(/disagree/)
    const fromInside = await routeGet(gw, '10.0.1.26', { from: '172.16.0.2', iif: 'lan' })
    expect(fromInside.decision).toMatchObject({ dev: 'wan' })
  })
})

describe('lab.reachability', () => {
  test('the all-pairs matrix, and a matcher printing only differing cells', async ({ lab }) => {
    const { inside, gw, outside } = await natLab(lab)
    const m = await lab.reachability([
      [inside, '172.16.0.2'],
      [gw, '172.16.0.1'],
      [outside, '10.0.1.26'],
    ])
    expect(m.reached().sort()).toEqual(['gw → inside', 'gw → outside', 'inside → gw'])
    expect(m.cells.inside!.outside!.verdict).toBe('timed-out')
    expect(m.cells.outside!.inside!.verdict).toBe('no-route')
    expect(m).toMatchReachability([['inside', 'gw'], ['gw', 'inside'], ['gw', 'outside']])
    expect(() => expect(m).toMatchReachability([['inside', 'gw'], ['gw', 'inside'], ['gw', 'outside'], ['outside', 'gw'], ['outside', 'inside']]))
      .toThrowErrorMatchingInlineSnapshot(`
        [Error: reachability differs in 2 cells:
          outside → inside: expected to reply, got no-route (outside has no route to 172.16.0.2: ip route get says "Network is unreachable" (no IPv4 default route; main table lookup failed))
          outside → gw: expected to reply, got no-route (outside has no route to 172.16.0.1: ip route get says "Network is unreachable" (no IPv4 default route; main table lookup failed))]
      `)
  })
})

describe('matcher messages', () => {
  test('toReach failures say the verdict and why', async ({ lab }) => {
    const { inside, outside } = await natLab(lab)
    await expect(expect(outside).toReach('172.16.0.2')).rejects.toThrowErrorMatchingInlineSnapshot(`
      [Error: expected outside to reach 172.16.0.2: no-route
        outside has no route to 172.16.0.2: ip route get says "Network is unreachable" (no IPv4 default route; main table lookup failed)
        path: 1. outside: route get 172.16.0.2: RTNETLINK answers: Network is unreachable
              → no route in outside for 172.16.0.2: Network is unreachable]
    `)
    await expect(expect(inside).toReach('tcp://172.16.0.1:81')).rejects.toThrowErrorMatchingInlineSnapshot(`
      [Error: expected inside to reach tcp://172.16.0.1:81: refused
        tcp://172.16.0.1:81 refused the connection (TCP RST): the host is there, nothing listens on port 81
        path: 1. inside: out eth0 (directly connected)
              2. gw: 172.16.0.1 is local
              → arrives at gw]
    `)
    await expect(expect(inside).not.toReach('172.16.0.1')).rejects.toThrow(/^expected inside not to reach 172\.16\.0\.1, but it did: 172\.16\.0\.1 replied to inside in/)
    expect((await reachable(inside, '172.16.0.1')).verdict).toBe('replied')
  })

  test('toMapNat and toForward failures', async ({ lab }) => {
    const { inside, gw, outside } = await natLab(lab)
    await masquerade(gw, { source: '172.16.0.0/24', outInterface: 'wan' })
    await expect(expect(gw).toMapNat({ from: inside, to: 'tcp://10.0.1.26:80', as: '10.0.1.99' })).rejects.toThrowErrorMatchingInlineSnapshot(`[Error: expected gw to map the source to 10.0.1.99: outside saw inside's connection to tcp://10.0.1.26:80 coming from 10.0.1.48, not 10.0.1.99]`)
    await expect(expect(gw).toForward({ from: outside, to: 'tcp://10.0.1.48:8088', landsOn: [inside, 80] })).rejects.toThrowErrorMatchingInlineSnapshot(`[Error: expected gw to forward tcp://10.0.1.48:8088: outside could not reach tcp://10.0.1.48:8088: refused: tcp://10.0.1.48:8088 refused the connection (TCP RST): the host is there, nothing listens on port 8088]`)
  })
})
