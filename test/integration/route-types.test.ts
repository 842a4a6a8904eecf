// Route types against the kernel: blackhole, unreachable, prohibit and throw routes (and a route MTU) built on
// both kernel paths give the same kernel state; reachable(), explain() and routeGet() name the route that
// decided, while the kernel itself (`ip route get`, checked here) answers only with its errno.
import { describe, expect, test } from 'netspec/vitest'
import { Lab, explain, reachable, routeGet, type Namespace } from 'netspec'
import { labOnPath } from '../fixtures/lab-path.js'

const labOn = (path: 'netlink' | 'ip'): Promise<Lab> => labOnPath(path, `route-types ${path}`)

async function pair(lab: Lab): Promise<{ a: Namespace; b: Namespace }> {
  const a = await lab.namespace('a')
  const b = await lab.namespace('b')
  await lab.veth([a, 'eth0', '10.0.0.1/24', 'fd00::1/64'], [b, 'eth0', '10.0.0.2/24', 'fd00::2/64'])
  return { a, b }
}

/** Every typed route, in main and in table 100, both families, plus route MTUs; one deleted again. */
async function typedRoutes(a: Namespace): Promise<void> {
  await a.routeAdd('192.0.2.0/24', { type: 'blackhole' })
  await a.routeAdd('198.51.100.0/24', { type: 'unreachable', metric: 5 })
  await a.routeAdd('203.0.113.0/24', { type: 'prohibit', table: 100 })
  await a.routeAdd('10.9.0.0/16', { type: 'throw', table: 100 })
  await a.routeAdd('fd66::/64', { type: 'blackhole' })
  await a.routeAdd('fd67::/64', { type: 'prohibit', table: 100 })
  await a.routeAdd('10.8.0.0/16', { via: '10.0.0.2', mtu: 1400 })
  await a.routeAdd('fd08::/64', { via: 'fd00::2', mtu: 1300 })
  await a.routeAdd('10.7.0.0/16', { type: 'unreachable', table: 100 })
  await a.routeDel('10.7.0.0/16', { type: 'unreachable', table: 100 })
}

/** The routes ip reads back, without what differs by nature between two labs. */
async function routesOf(a: Namespace): Promise<string[]> {
  return (await a.routes())
    .filter((r) => !r.dst.startsWith('fe80') && r.table !== 'local')
    .map((r) => `${r.family} ${r.table} ${r.type} ${r.dst} via=${r.via} dev=${r.dev} metric=${r.metric} mtu=${r.mtu} proto=${r.protocol} scope=${r.scope}`)
    .sort()
}

describe('typed routes', () => {
  test('both kernel paths build the same typed routes and route MTUs, as ip reads them back', async () => {
    await using viaIp = await labOn('ip')
    await using inProcess = await labOn('netlink')
    const [x, y] = [(await pair(viaIp)).a, (await pair(inProcess)).a]
    // The in-process path really carries these lines itself (not handed to ip).
    expect(inProcess.netlink!.plan(y.name, ['route add blackhole 192.0.2.0/24', 'route add throw 10.9.0.0/16 table 100', 'route add fd08::/64 via fd00::2 mtu 1300'])).toHaveLength(3)
    await typedRoutes(x)
    await typedRoutes(y)
    const want = await routesOf(x)
    expect(want).toEqual(expect.arrayContaining([
      expect.stringMatching(/^4 main blackhole 192\.0\.2\.0\/24 /),
      expect.stringMatching(/^4 main unreachable 198\.51\.100\.0\/24 .*metric=5 /),
      expect.stringMatching(/^4 100 prohibit 203\.0\.113\.0\/24 /),
      expect.stringMatching(/^4 100 throw 10\.9\.0\.0\/16 /),
      expect.stringMatching(/^6 main blackhole fd66::\/64 via=undefined dev=lo /),
      expect.stringMatching(/^4 main unicast 10\.8\.0\.0\/16 via=10\.0\.0\.2 .*mtu=1400 /),
      expect.stringMatching(/^6 main unicast fd08::\/64 via=fd00::2 .*mtu=1300 /),
    ]))
    expect(want.some((r) => r.includes('10.7.0.0/16'))).toBe(false)
    await expect(y).toHaveRoute('192.0.2.0/24', { type: 'blackhole', table: 'main' })
    await expect(y).toHaveRoute('10.8.0.0/16', { via: '10.0.0.2', mtu: 1400 })
    await expect(y).not.toHaveRoute('192.0.2.0/24', { type: 'prohibit' })
    expect(await routesOf(y)).toEqual(want)
  })

  test('reachable() decides at once, names the route, and the kernel said only its errno', async ({ lab }) => {
    const { a } = await pair(lab)
    await a.routeAdd('192.0.2.0/24', { type: 'blackhole' })
    await a.routeAdd('198.51.100.0/24', { type: 'unreachable' })
    await a.routeAdd('203.0.113.0/24', { type: 'prohibit' })
    await a.routeAdd('fd66::/64', { type: 'blackhole' })
    const cases = [
      ['192.0.2.1', 'blackholed', 'a has a blackhole route 192.0.2.0/24 (table main): the kernel discards the packet'],
      ['198.51.100.1', 'unreachable', 'a has an unreachable route 198.51.100.0/24 (table main): the kernel refuses with "No route to host"'],
      ['203.0.113.1', 'prohibited', 'a has a prohibit route 203.0.113.0/24 (table main): an administrative refusal: the kernel answers "Permission denied"'],
      ['fd66::1', 'blackholed', 'a has a blackhole route fd66::/64 (table main): the kernel discards the packet'],
      ['10.66.0.1', 'no-route', 'a has no route to 10.66.0.1: ip route get says "Network is unreachable" (no IPv4 default route; main table lookup failed)'],
    ] as const
    for (const [dst, verdict, detail] of cases) {
      const kernel = await a.exec(['ip', 'route', 'get', dst])
      const fibmatch = await a.exec(['ip', 'route', 'get', 'fibmatch', dst])
      expect(kernel.exitCode, dst).not.toBe(0)
      expect(fibmatch.stderr, dst).toBe(kernel.stderr) // even fibmatch names no route: only the errno
      const r = await reachable(a, dst)
      expect({ verdict: r.verdict, detail: r.detail, attempts: r.attempts }, dst).toEqual({ verdict, detail, attempts: 0 })
      expect(`RTNETLINK answers: ${r.evidence.routeError}`, dst).toBe(kernel.stderr.trim())
    }
  })

  test('a throw route sends the lookup on to the next rule; a route in the rule\'s table decides, named with rule and table', async ({ lab }) => {
    const { a } = await pair(lab)
    await a.routeAdd('default', { type: 'blackhole', table: 100 })
    await a.routeAdd('10.0.0.0/25', { type: 'throw', table: 100 })
    await a.ruleAdd({ priority: 100, table: 100 })
    expect((await a.exec(['ip', 'route', 'get', '10.0.0.2'])).exitCode).toBe(0) // thrown back to main: a real route
    const ok = await reachable(a, '10.0.0.2')
    expect(ok.verdict).toBe('replied')
    const r = await reachable(a, '10.5.5.5')
    expect((await a.exec(['ip', 'route', 'get', '10.5.5.5'])).stderr).toContain('Invalid argument')
    expect(r.verdict).toBe('blackholed')
    expect(r.detail).toBe('a has a blackhole route default (table 100, chosen by rule 100: from all lookup 100): the kernel discards the packet')
    await a.routeAdd('10.9.0.0/16', { type: 'throw', table: 100 })
    expect((await a.exec(['ip', 'route', 'get', '10.9.1.1'])).stderr).toContain('Network is unreachable')
    const thrown = await reachable(a, '10.9.1.1')
    expect(thrown).toMatchObject({ verdict: 'no-route', attempts: 0 })
    expect(thrown.detail).toBe(`a has no route to 10.9.1.1: ip route get says "Network is unreachable" (no IPv4 default route; main table lookup failed); the throw route 10.9.0.0/16 in table 100 sent the lookup on, and no later rule's table has a route`)
    const get = await routeGet(a, '10.0.0.2')
    expect(get.decidedBy).toMatchObject({ route: { dst: '10.0.0.0/24', table: 'main', type: 'unicast' }, thrown: [{ dst: '10.0.0.0/25', type: 'throw', table: '100' }] })
  })

  test('explain() after a throw route names it, in table and prefix, and says no later rule matched', async ({ lab }) => {
    const { a } = await pair(lab)
    await a.routeAdd('10.0.0.0/25', { type: 'throw', table: 100 })
    await a.routeAdd('10.9.0.0/16', { type: 'throw', table: 100 })
    await a.routeAdd('10.0.0.64/26', { type: 'blackhole' })
    await a.ruleAdd({ priority: 100, table: 100 })
    // The kernel says only its errno, for both.
    expect((await a.exec(['ip', 'route', 'get', '10.9.1.1'])).stderr).toContain('Network is unreachable')
    expect((await a.exec(['ip', 'route', 'get', '10.0.0.70'])).stderr).toContain('Invalid argument')
    const fell = await explain(a, '10.9.1.1', { trace: false })
    expect(fell.arrived).toBe(false)
    expect(fell.verdict).toBe("no route in a for 10.9.1.1: Network is unreachable; the throw route 10.9.0.0/16 in table 100 sent the lookup on, and no later rule's table has a route")
    expect(fell.hops.at(-1)?.note).toContain('the throw route 10.9.0.0/16 in table 100 sent the lookup on')
    const landed = await explain(a, '10.0.0.70', { trace: false })
    expect(landed.verdict).toBe('blackhole route 10.0.0.64/26 (table main) in a for 10.0.0.70: Invalid argument; the throw route 10.0.0.0/25 in table 100 sent the lookup on')
  })

  test('explain() stops at the route and names it; routeGet() says which route decided and its type', async ({ lab }) => {
    const { a, b } = await pair(lab)
    await b.forwarding(true)
    await a.routeAdd('default', { via: '10.0.0.2' })
    await b.routeAdd('192.0.2.0/24', { type: 'prohibit' })
    await a.routeAdd('198.51.100.0/24', { type: 'unreachable' })
    const e = await explain(a, '198.51.100.9', { trace: false })
    expect(e.verdict).toBe('unreachable route 198.51.100.0/24 (table main) in a for 198.51.100.9: No route to host')
    const far = await explain(a, '192.0.2.9', { trace: false })
    expect(far.hops.map((h) => h.namespace)).toEqual(['a', 'b'])
    expect(far.verdict).toBe('prohibit route 192.0.2.0/24 (table main) in b for 192.0.2.9: Permission denied')
    const g = await routeGet(a, '198.51.100.9')
    expect(g).toMatchObject({ ok: false, error: 'No route to host', decidedBy: { route: { type: 'unreachable', dst: '198.51.100.0/24' } } })
    expect(g.detail).toBe('a has no route to 198.51.100.9: No route to host (decided by an unreachable route 198.51.100.0/24 (table main))')
    const via = await routeGet(a, '192.0.2.9')
    expect(via.detail).toBe('a sends 192.0.2.9 via 10.0.0.2 out of eth0, by a unicast route default (table main)')
  })

  test('a router on the way with a typed route: named, not mistaken for silence, a neighbour or a firewall', async ({ lab }) => {
    const { a, b } = await pair(lab)
    await b.forwarding(true)
    await a.routeAdd('default', { via: '10.0.0.2' })
    await b.routeAdd('192.0.2.0/24', { type: 'blackhole' })
    await b.routeAdd('198.51.100.0/24', { type: 'unreachable' })
    await b.routeAdd('203.0.113.0/24', { type: 'prohibit' })
    // What plain ping sees from a: nothing, "Destination Host Unreachable", "Packet filtered" — and what b's kernel says.
    const seen = async (dst: string) => (await a.exec(['ping', '-c1', '-W1', dst])).stdout
    expect(await seen('198.51.100.1')).toContain('From 10.0.0.2 icmp_seq=1 Destination Host Unreachable')
    expect(await seen('203.0.113.1')).toContain('From 10.0.0.2 icmp_seq=1 Packet filtered')
    expect((await b.exec(['ip', 'route', 'get', '192.0.2.1', 'from', '10.0.0.1', 'iif', 'eth0'])).stderr).toContain('Invalid argument')
    const cases = [
      ['192.0.2.1', 'blackholed', 'router b (10.0.0.2) has a blackhole route 192.0.2.0/24 (table main): it discards the packet, and nothing comes back'],
      ['198.51.100.1', 'unreachable', 'router b (10.0.0.2) has an unreachable route 198.51.100.0/24 (table main): its kernel refuses with "No route to host"'],
      ['203.0.113.1', 'prohibited', 'router b (10.0.0.2) has a prohibit route 203.0.113.0/24 (table main): an administrative refusal: its kernel answers "Permission denied"'],
    ] as const
    for (const [dst, verdict, detail] of cases) {
      const r = await reachable(a, dst, { timeoutMs: 600 })
      expect({ verdict: r.verdict, detail: r.detail }, dst).toEqual({ verdict, detail })
    }
  })
})

// A rule selecting on the source: the first lookup (no source) finds main's route, but a connecting socket asks
// again with the source that lookup chose (the route's prefsrc), and the rule sends that lookup to table 200.
describe('a source rule the connecting socket meets', () => {
  async function sourceRule(lab: Lab, type: 'unreachable' | 'blackhole'): Promise<{ a: Namespace; b: Namespace }> {
    const a = await lab.namespace('a')
    const b = await lab.namespace('b', { forwarding: false })
    await lab.veth([a, 'veth1', '10.1.0.1/24'], [b, 'veth2', '10.1.0.2/24'])
    await b.addrAdd('lo', '10.64.0.9/32')
    await a.routeAdd('10.64.0.0/16', { via: '10.1.0.2' })
    await a.routeAdd('10.64.0.0/16', { type, table: 200 })
    await a.ruleAdd({ from: '10.1.0.1', table: 200, priority: 30 })
    return { a, b }
  }

  for (const path of ['netlink', 'ip'] as const) {
    test(`${path} path: the verdict is what ping and a TCP connect get, named after table 200's route and rule 30`, async () => {
      await using lab = await labOn(path)
      expect(lab.netlink === undefined).toBe(path === 'ip')
      const { a, b } = await sourceRule(lab, 'unreachable')
      await b.listen(8080)
      // The kernel: without a source the route is main's; with the source a socket gets, "No route to host".
      const plain = JSON.parse((await a.exec(['ip', '-j', 'route', 'get', '10.64.0.9'], { check: true })).stdout) as { gateway?: string; prefsrc?: string }[]
      expect(plain[0]).toMatchObject({ gateway: '10.1.0.2', prefsrc: '10.1.0.1' })
      const sourced = await a.exec(['ip', '-j', 'route', 'get', '10.64.0.9', 'from', '10.1.0.1'])
      expect(sourced.exitCode).not.toBe(0)
      expect(sourced.stderr).toContain('No route to host')
      const ping = await a.exec(['ping', '-c1', '-W1', '10.64.0.9'])
      expect(ping.exitCode).not.toBe(0)
      expect(ping.stderr).toContain('connect: No route to host')
      if (lab.netlink !== undefined) {
        // The in-process route query with a source (RTA_SRC) answers as `ip route get … from …` does.
        expect(lab.netlink.routeGet(a.name, '10.64.0.9', '10.1.0.1')).toEqual({ error: 'No route to host' })
        expect(lab.netlink.routeGet(a.name, '10.1.0.2', '10.1.0.1').decision).toMatchObject({ dev: 'veth1', table: 'main', type: 'unicast' })
      }
      const tcp = await a.exec(['bash', '-c', 'exec 3<>/dev/tcp/10.64.0.9/8080'])
      expect(tcp.stderr).toContain('No route to host')
      const detail = 'a has an unreachable route 10.64.0.0/16 (table 200, chosen by rule 30: from 10.1.0.1 lookup 200): the kernel refuses with "No route to host" (for source 10.1.0.1, the address a connecting socket gets)'
      for (const target of ['10.64.0.9', 'tcp://10.64.0.9:8080']) {
        const r = await reachable(a, target, { timeoutMs: 600 })
        expect({ verdict: r.verdict, attempts: r.attempts, detail: r.detail }, target).toEqual({ verdict: 'unreachable', attempts: 0, detail })
        expect(r.evidence.decidedBy?.route).toMatchObject({ type: 'unreachable', table: '200' })
      }
      const g = await routeGet(a, '10.64.0.9')
      expect(g).toMatchObject({ ok: false, error: 'No route to host', decidedBy: { route: { type: 'unreachable', table: '200' }, rule: { priority: 30 } } })
      expect(g.detail).toBe('a has no route to 10.64.0.9 (from 10.1.0.1, the source a connecting socket gets): No route to host (decided by an unreachable route 10.64.0.0/16 (table 200, chosen by rule 30: from 10.1.0.1 lookup 200))')
      expect((await routeGet(a, '10.64.0.9', { from: '10.1.0.1' })).error).toBe('No route to host')
      const x = await explain(a, '10.64.0.9', { trace: false })
      expect(x.arrived).toBe(false)
      expect(x.verdict).toBe('unreachable route 10.64.0.0/16 (table 200, chosen by rule 30: from 10.1.0.1 lookup 200) in a for 10.64.0.9 from 10.1.0.1: No route to host')
    })
  }

  test('a source rule that picks another route: routeGet() reports the one a socket gets, as ip route get from does', async ({ lab }) => {
    const { a } = await sourceRule(lab, 'unreachable')
    await a.routeAdd('10.64.0.0/16', { dev: 'veth1', table: 300 })
    await a.ruleAdd({ from: '10.1.0.1', table: 300, priority: 20 })
    const kernel = JSON.parse((await a.exec(['ip', '-j', 'route', 'get', '10.64.0.9', 'from', '10.1.0.1'], { check: true })).stdout) as { gateway?: string; dev?: string }[]
    expect(kernel[0]).toMatchObject({ dev: 'veth1' })
    expect(kernel[0]!.gateway).toBeUndefined()
    const g = await routeGet(a, '10.64.0.9')
    expect(g).toMatchObject({ ok: true, decision: { dev: 'veth1', table: '300' } })
    expect(g.decision!.gateway).toBeUndefined()
    expect(g.detail).toBe('a sends 10.64.0.9 (from 10.1.0.1, the source a connecting socket gets) directly out of veth1, by a unicast route 10.64.0.0/16 (table 300, chosen by rule 20: from 10.1.0.1 lookup 300); without a source it would go via 10.1.0.2 out of veth1 (table main)')
  })

  test('a blackhole in table 200: ping says "Invalid argument", reachable() says blackholed', async ({ lab }) => {
    const { a } = await sourceRule(lab, 'blackhole')
    const ping = await a.exec(['ping', '-c1', '-W1', '10.64.0.9'])
    expect(ping.exitCode).not.toBe(0)
    expect(ping.stderr).toContain('Invalid argument')
    expect((await a.exec(['ip', 'route', 'get', '10.64.0.9', 'from', '10.1.0.1'])).stderr).toContain('Invalid argument')
    const r = await reachable(a, '10.64.0.9', { timeoutMs: 600 })
    expect({ verdict: r.verdict, attempts: r.attempts }).toEqual({ verdict: 'blackholed', attempts: 0 })
    expect(r.detail).toContain('a blackhole route 10.64.0.0/16 (table 200, chosen by rule 30: from 10.1.0.1 lookup 200)')
  })

  test('a target that is the next hop\'s own address is never blamed on its forwarding being off', async ({ lab }) => {
    const { a, b } = await sourceRule(lab, 'unreachable')
    await a.ruleDel({ from: '10.1.0.1', table: 200, priority: 30 })
    // b drops what comes in for its own 10.64.0.9: silence, yet forwarding (off) plays no part, the target is local on b.
    await b.exec(['nft', 'add table inet t; add chain inet t in { type filter hook input priority 0; policy accept; }; add rule inet t in ip daddr 10.64.0.9 drop'], { check: true })
    const r = await reachable(a, 'tcp://10.64.0.9:8080', { timeoutMs: 600 })
    expect(r.ok).toBe(false)
    expect(r.detail).not.toContain('does not forward')
    expect(['filtered', 'dropped']).toContain(r.verdict)
  })
})
