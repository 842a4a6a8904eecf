// Routes read back as the kernel holds them, on both kernel paths (REVIEW-4, REVIEW-7b):
//  - every route `ip -j route show` lists is found by hasRoute() with its own prefix and each of its paths: a host
//    route (ip prints 10.5.0.1 and fd05::1 bare) by its /32 and /128, a multipath route by the via and dev of each
//    nexthop; addresses compare in canonical form (src 'FD00::1', via 'FD00::2');
//  - routes() carries the kernel's nexthops; the kernel's decision for a multipath prefix is the one `ip route get`
//    prints, in-process too;
//  - routeDel() needs only what `ip route del` needs (the prefix), and a delete the kernel refuses ("No such
//    process") names the route and what the namespace has.
import { describe, expect, test } from 'netspec/vitest'
import { hasRoute, isNetspecError, routeGet, type Namespace } from 'netspec'
import { routeGet as ipRouteGet } from '../../src/kernel/ip.js'
import { labOnPath } from '../fixtures/lab-path.js'

interface IpRoute {
  dst: string
  gateway?: string
  dev?: string
  prefsrc?: string
  nexthops?: { gateway?: string; dev?: string; weight?: number }[]
}

async function ipRoutes(ns: Namespace, family: 4 | 6, ...sel: string[]): Promise<IpRoute[]> {
  return JSON.parse((await ns.exec(['ip', '-j', `-${family}`, 'route', 'show', ...sel], { check: true })).stdout) as IpRoute[]
}

/** The kernel's destination with its prefix length, computed here from ip's own JSON (not by netspec). */
const prefixOf = (dst: string, family: 4 | 6) => (dst === 'default' || dst.includes('/') ? dst : `${dst}/${family === 4 ? 32 : 128}`)

describe.each(['netlink', 'ip'] as const)('%s path', (path) => {
  test('hasRoute finds every route and every path ip -j route show lists', async () => {
    await using lab = await labOnPath(path, `route-readback ${path}`)
    const a = await lab.namespace('a')
    const b = await lab.namespace('b')
    await lab.veth([a, 'eth0', '10.0.0.1/24', 'fd00::1/64'], [b, 'eth0', '10.0.0.2/24', 'fd00::2/64'])
    await lab.veth([a, 'eth1', '10.1.0.1/24', 'fd01::1/64'], [b, 'eth1', '10.1.0.2/24', 'fd01::2/64'])
    await a.routeAdd('10.5.0.1/32', { via: '10.0.0.2' })
    await a.routeAdd('fd05::1/128', { via: 'fd00::2' })
    await a.routeAdd('fd07::/64', { via: 'FD00::2', src: 'fd00::1' })
    await a.routeAdd('10.6.0.7', { via: '10.1.0.2', table: 100 })
    await a.exec(['ip', 'route', 'add', '10.8.0.0/16', 'nexthop', 'via', '10.0.0.2', 'nexthop', 'via', '10.1.0.2', 'weight', '3'], { check: true })
    await a.exec(['ip', '-6', 'route', 'add', 'fd08::/64', 'nexthop', 'via', 'fd00::2', 'nexthop', 'via', 'fd01::2'], { check: true })
    await a.exec(['ip', 'route', 'add', '10.7.0.0/16', 'via', 'inet6', 'fd00::2', 'dev', 'eth0'], { check: true })

    // The kernel's own listing: host routes bare, the multipath routes as nexthops.
    const [k4, k6] = [await ipRoutes(a, 4), await ipRoutes(a, 6)]
    expect(k4.find((r) => r.dst === '10.5.0.1')).toMatchObject({ gateway: '10.0.0.2', dev: 'eth0' })
    expect(k6.find((r) => r.dst === 'fd05::1')).toMatchObject({ gateway: 'fd00::2', dev: 'eth0' })
    expect(k4.find((r) => r.dst === '10.8.0.0/16')!.nexthops!.map((n) => `${n.gateway} ${n.dev} ${n.weight}`)).toEqual(['10.0.0.2 eth0 1', '10.1.0.2 eth1 3'])
    expect(k6.find((r) => r.dst === 'fd08::/64')!.nexthops!.map((n) => `${n.gateway} ${n.dev}`)).toEqual(['fd00::2 eth0', 'fd01::2 eth1'])

    // Every route of both families, every one of its paths: hasRoute agrees with the kernel.
    let checked = 0
    for (const [family, listed] of [[4, k4], [6, k6]] as const) {
      for (const r of listed.filter((x) => !x.dst.startsWith('fe80'))) {
        const dst = prefixOf(r.dst, family)
        for (const p of r.nexthops ?? [{ gateway: r.gateway, dev: r.dev }]) {
          const match = { ...(p.gateway === undefined ? {} : { via: p.gateway }), ...(p.dev === undefined ? {} : { dev: p.dev }), ...(r.prefsrc === undefined ? {} : { src: r.prefsrc }) }
          const got = await hasRoute(a, dst, match)
          expect(got.ok, `${dst} ${JSON.stringify(match)}: ${got.detail}`).toBe(true)
          checked++
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(9)

    // What the reviewer found, one by one (each failed before).
    expect((await hasRoute(a, '10.5.0.1/32', { via: '10.0.0.2' })).ok).toBe(true)
    expect((await hasRoute(a, '10.5.0.1', { via: '10.0.0.2' })).ok).toBe(true)
    expect((await hasRoute(a, 'fd05::1/128', { via: 'fd00::2' })).ok).toBe(true)
    expect((await hasRoute(a, '10.8.0.0/16', { via: '10.0.0.2' })).ok).toBe(true)
    expect((await hasRoute(a, '10.8.0.0/16', { dev: 'eth0' })).ok).toBe(true)
    expect((await hasRoute(a, '10.8.0.0/16', { via: '10.1.0.2', dev: 'eth1' })).ok).toBe(true)
    expect((await hasRoute(a, 'fd07::/64', { src: 'FD00::1', via: 'FD00::2' })).ok).toBe(true)
    expect((await hasRoute(a, '10.6.0.7/32', { via: '10.1.0.2', table: 100 })).ok).toBe(true)
    await expect(a).toHaveRoute('fd08::/64', { via: 'fd01::2', dev: 'eth1' })
    // …and what the kernel does not have is still refused: a via of one nexthop with the dev of the other.
    const crossed = await hasRoute(a, '10.8.0.0/16', { via: '10.0.0.2', dev: 'eth1' })
    expect(crossed.ok).toBe(false)
    expect(crossed.detail).toContain('10.8.0.0/16 nexthop via 10.0.0.2 dev eth0 weight 1 nexthop via 10.1.0.2 dev eth1 weight 3')
    expect((await hasRoute(a, '10.5.0.1/32', { via: '10.0.0.3' })).detail).toContain('for 10.5.0.1/32 it has: 10.5.0.1 via 10.0.0.2 dev eth0')
    expect((await hasRoute(a, '10.5.0.0/24')).ok).toBe(false)

    // routes() carries the kernel's nexthops, in its order, with their weights.
    const mp = (await a.routes()).find((r) => r.dst === '10.8.0.0/16')!
    expect(mp.via).toBeUndefined()
    expect(mp.nexthops).toEqual(k4.find((r) => r.dst === '10.8.0.0/16')!.nexthops!.map((n) => ({ via: n.gateway, dev: n.dev, weight: n.weight, flags: [] })))

    // The kernel's decision for the multipath prefix: one of its paths, the one ip route get names, on this path too.
    const kernel = (JSON.parse((await a.exec(['ip', '-j', 'route', 'get', '10.8.1.1'], { check: true })).stdout) as { gateway: string; dev: string }[])[0]!
    const got = await routeGet(a, '10.8.1.1')
    expect(got.decision).toMatchObject({ gateway: kernel.gateway, dev: kernel.dev })
    await expect(a).toRouteVia('fd07::1', { via: 'FD00::2', dev: 'eth0' })
    expect((await routeGet(a, '10.7.1.1')).decision).toMatchObject({ gateway: 'fd00::2', dev: 'eth0' }) // ip: "via inet6 fd00::2"
    expect((await hasRoute(a, '10.7.0.0/16', { via: 'fd00::2' })).ok).toBe(true)
    if (lab.netlink !== undefined) {
      for (const dst of ['10.8.1.1', 'fd08::1', '10.5.0.1', 'fd05::1', '10.7.1.1']) expect(lab.netlink.routeGet(a.name, dst), dst).toEqual(await ipRouteGet(lab.executor, a.name, dst))
      // The in-process dump decodes RTA_MULTIPATH as ip does: each nexthop's device, gateway and weight.
      const names = new Map((await a.links()).map((l) => [l.index, l.name]))
      for (const [family, prefix, len] of [[4, '10.8.0.0', 16], [6, 'fd08::', 64]] as const) {
        const dumped = lab.netlink.routes(a.name, family).find((r) => r.dst === prefix && r.dstLen === len)!
        const listed = (family === 4 ? k4 : k6).find((r) => r.dst === `${prefix}/${len}`)!.nexthops!
        expect(dumped.nexthops!.map((n) => ({ gateway: n.gateway, dev: names.get(n.oif), weight: n.weight }))).toEqual(listed.map((n) => ({ gateway: n.gateway, dev: n.dev, weight: n.weight })))
      }
    }
  })

  test('routeDel needs only what ip route del needs; a missing route is named with what is there', async () => {
    await using lab = await labOnPath(path, `route-del ${path}`)
    const a = await lab.namespace('a')
    const b = await lab.namespace('b')
    await lab.veth([a, 'eth0', '10.0.0.1/24', 'fd00::1/64'], [b, 'eth0', '10.0.0.2/24', 'fd00::2/64'])
    await a.routeAdd('10.8.0.0/16', { via: '10.0.0.2' })
    await a.routeAdd('fd08::/64', { via: 'fd00::2' })
    await a.routeAdd('192.0.2.0/24', { type: 'blackhole' })
    await a.routeAdd('10.9.0.0/16', { via: '10.0.0.2', table: 100 })
    await a.routeAdd('default', { via: 'fd00::2' })

    await a.routeDel('10.8.0.0/16') // before: invalid-input "needs 'via' … or 'dev'"
    await a.routeDel('fd08::/64')
    await a.routeDel('192.0.2.0/24') // a blackhole route by its prefix, as `ip route del 192.0.2.0/24`
    await a.routeDel('10.9.0.0/16', { table: 100 })
    await a.routeDel('::/0')
    for (const [family, sel] of [[4, ['10.8.0.0/16']], [6, ['fd08::/64']], [4, ['192.0.2.0/24']], [4, ['10.9.0.0/16', 'table', '100']], [6, ['default']]] as const)
      expect(await ipRoutes(a, family, ...sel), sel.join(' ')).toEqual([])

    // Not there: the kernel's words and command are kept, the route asked for and what is there are named.
    await a.routeAdd('10.8.0.0/16', { via: '10.0.0.2' })
    const kernel = await a.exec(['ip', 'route', 'del', '10.8.0.0/16', 'via', '10.0.0.3'])
    expect(kernel.stderr).toMatch(/No such process/)
    const e = await a.routeDel('10.8.0.0/16', { via: '10.0.0.3' }).then(() => undefined, (x: unknown) => x)
    expect(isNetspecError(e, 'command-failed')).toBe(true)
    const err = e as { message: string; stderr?: string; hint?: string; command?: string }
    expect(err.stderr).toMatch(/No such process/)
    expect(err.command).toContain('route del 10.8.0.0/16 via 10.0.0.3')
    expect(err.message).toContain('a has no route to 10.8.0.0/16 via 10.0.0.3 (table main)')
    expect(err.hint).toContain('for 10.8.0.0/16 it has: 10.8.0.0/16 via 10.0.0.2 dev eth0')
    expect(await ipRoutes(a, 4, '10.8.0.0/16')).toHaveLength(1) // nothing else was deleted
    const gone = await a.routeDel('10.7.0.0/16').then(() => undefined, (x: unknown) => x)
    expect((gone as { hint?: string }).hint).toMatch(/^it has no route to 10\.7\.0\.0\/16 in any table; its IPv4 routes: .*10\.8\.0\.0\/16 via 10\.0\.0\.2 dev eth0/)
    // An mtu or onlink does not select a route: refused before the kernel is asked.
    await expect(a.routeDel('10.8.0.0/16', { mtu: 1400 } as never)).rejects.toMatchObject({ kind: 'invalid-input' })
    expect(await ipRoutes(a, 4, '10.8.0.0/16')).toHaveLength(1)
  })
})
