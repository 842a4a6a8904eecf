// The in-process kernel path (netlink + raw ICMP sockets held in each namespace) against the `ip`
// processes it replaces: the same topology gives the same kernel state, failures read the same, route
// decisions agree, ICMP errors from routers become verdicts, and nothing stays open after teardown.
import { readdirSync, readlinkSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { Lab, reachable, type Namespace } from 'netspec'
import { routeGet } from '../../src/kernel/ip.js'
import { labOnPath } from '../fixtures/lab-path.js'

const labOn = (path: 'netlink' | 'ip'): Promise<Lab> => labOnPath(path, `netlink-path ${path}`)

/** A little of everything the verbs do: bridge, plugs, a routed pair, IPv6, MTU/MAC, routes, a deleted link. */
async function build(lab: Lab): Promise<void> {
  const hub = await lab.namespace('hub', { forwarding: true })
  const br = await lab.bridge(hub, 'br0', { addresses: ['10.1.0.1/24', 'fd01::1/64'], mtu: 1400 })
  const hosts = await Promise.all(['h1', 'h2', 'h3'].map((l) => lab.namespace(l)))
  await Promise.all(hosts.map((h, i) => br.plug([h, 'eth0', `10.1.0.${i + 11}/24`, `fd01::${i + 11}/64`, { mtu: 1400 }], { port: `p${i + 1}` })))
  const far = await lab.namespace('far')
  await lab.veth([hub, 'to-far', '10.2.0.1/30', { mac: '02:00:00:00:02:01' }], [far, 'eth0', '10.2.0.2/30'])
  for (const h of hosts) {
    await h.routeAdd('default', { via: '10.1.0.1' })
    await h.routeAdd('default', { via: 'fd01::1' })
  }
  await far.routeAdd('10.1.0.0/24', { via: '10.2.0.1', metric: 7 })
  await far.routeAdd('10.9.0.0/16', { via: '10.2.0.1', table: 100 })
  await hosts[0]!.linkSet('eth0', { mtu: 1300 })
  await far.routeAdd('10.3.0.0/24', { dev: 'eth0' })
  await far.routeDel('10.3.0.0/24', { dev: 'eth0' })
  await lab.veth([hosts[2]!, 'spare'], [far, 'spare'])
  await hosts[2]!.linkDel('spare')
}

/** The snapshot without what differs by nature between two labs (kernel names, ifindexes, random MACs). */
async function state(lab: Lab) {
  const snap = await lab.snapshot()
  return snap.namespaces
    .map((ns) => ({
      label: ns.label,
      links: ns.links
        .map((l) => ({ name: l.name, kind: l.kind, up: l.up, mtu: l.mtu, master: l.master, peer: l.peer?.name, peerNs: l.peer?.namespace, mac: l.mac.startsWith('02:00:00') ? l.mac : undefined }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      addresses: ns.addresses.filter((a) => a.scope !== 'link').map((a) => `${a.dev} ${a.cidr} ${a.flags.join(',')}`).sort(),
      routes: ns.routes
        .filter((r) => !r.dst.startsWith('fe80'))
        .map((r) => `${r.family} ${r.table} ${r.type} ${r.dst} via=${r.via} dev=${r.dev} metric=${r.metric} proto=${r.protocol} scope=${r.scope}`)
        .sort(),
    }))
    .sort((a, b) => a.label.localeCompare(b.label))
}

const sockets = () => readdirSync('/proc/self/fd').filter((fd) => {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')
  } catch {
    return false
  }
}).length

describe('the in-process path', () => {
  test('builds exactly the kernel state the ip path builds', async () => {
    await using viaIp = await labOn('ip')
    await using inProcess = await labOn('netlink')
    expect(viaIp.netlink).toBeUndefined()
    expect(inProcess.netlink).toBeDefined()
    await build(viaIp)
    await build(inProcess)
    const want = await state(viaIp)
    expect(want.find((n) => n.label === 'far')!.routes.some((r) => r.includes('table=') || r.includes(' 100 '))).toBe(true)
    expect(await state(inProcess)).toEqual(want)
  })

  test('failures are reported in the same words on both paths', async () => {
    const said = async (path: 'netlink' | 'ip') => {
      await using lab = await labOn(path)
      const a = await lab.namespace('a')
      const b = await lab.namespace('b')
      await lab.veth([a, 'eth0', '10.0.0.1/24'], [b, 'eth0', '10.0.0.2/24'])
      const words: string[] = []
      const catchIt = (p: Promise<unknown>) => p.then(() => words.push('(no error)'), (e: Error & { stderr?: string; command?: string }) => words.push(`${e.command} → ${e.stderr}`))
      await catchIt(a.linkSet('nope', { up: true }))
      await catchIt(a.routeAdd('10.5.0.0/16', { via: '10.0.0.2' }).then(() => a.routeAdd('10.5.0.0/16', { via: '10.0.0.2' })))
      await catchIt(a.routeAdd('10.6.0.0/16', { via: '10.99.0.1' })) // a gateway on no link: the kernel's own extack words
      await catchIt(a.exec('true').then(() => a.addrAdd('eth0', '10.0.0.1/24')))
      await catchIt(a.routeDel('10.7.0.0/16', { dev: 'eth0' }))
      return words.map((w) => w.replaceAll(a.name, 'A'))
    }
    const viaIp = await said('ip')
    expect(viaIp).toHaveLength(5)
    expect(viaIp.every((w) => !w.includes('(no error)'))).toBe(true)
    expect(await said('netlink')).toEqual(viaIp)
  })

  test('route decisions are the ones `ip route get` prints', async () => {
    await using lab = await labOn('netlink')
    const a = await lab.namespace('a')
    const gw = await lab.namespace('gw', { forwarding: true })
    await lab.veth([a, 'eth0', '10.0.0.1/24', 'fd00::1/64'], [gw, 'eth0', '10.0.0.2/24', 'fd00::2/64'])
    await a.routeAdd('default', { via: '10.0.0.2' })
    await a.exec('ip route add unreachable 10.66.0.0/16 && ip -6 route add blackhole fd66::/64')
    for (const dst of ['10.0.0.2', '10.0.0.1', '127.0.0.1', '192.0.2.7', '10.66.1.1', 'fd00::2', 'fd66::1', 'fd77::1']) {
      expect(lab.netlink!.routeGet(a.name, dst), dst).toEqual(await routeGet(lab.executor, a.name, dst))
    }
  })

  test('ICMP errors sent back by a router are verdicts: net unreachable, admin prohibited', async () => {
    await using lab = await labOn('netlink')
    const a = await lab.namespace('a')
    const gw = await lab.namespace('gw', { forwarding: true })
    const b = await lab.namespace('b')
    await lab.veth([a, 'eth0', '10.0.1.2/24'], [gw, 'a', '10.0.1.1/24'])
    await lab.veth([gw, 'b', '10.0.2.1/24'], [b, 'eth0', '10.0.2.2/24'])
    await a.routeAdd('default', { via: '10.0.1.1' })
    await b.routeAdd('default', { via: '10.0.2.1' })
    expect((await reachable(a, '10.0.2.2')).verdict).toBe('replied')

    const noRoute = await reachable(a, '10.0.9.9')
    expect(noRoute).toMatchObject({ verdict: 'no-route', attempts: 1 })
    expect(noRoute.evidence.output).toBe('From 10.0.1.1: Destination Net Unreachable')

    await gw.exec(['nft', '-f', '-'], { check: true, input: 'table inet f { chain forward { type filter hook forward priority 0; ip daddr 10.0.2.2 reject with icmp type admin-prohibited; }; }\n' })
    const rejected = await reachable(a, '10.0.2.2')
    expect(rejected).toMatchObject({ verdict: 'filtered', attempts: 1 })
    expect(rejected.evidence.output).toBe('From 10.0.1.1: Packet filtered') // nft's admin-prohibited is code 13
    expect(rejected.detail).toContain('in gw: ')
  })

  test('a check expecting no answer from a next hop the kernel already marked FAILED sends one short probe', async () => {
    await using lab = await labOn('netlink')
    const a = await lab.namespace('a')
    const b = await lab.namespace('b')
    await lab.veth([a, 'eth0', '10.0.0.1/24'], [b, 'eth0', '10.0.0.2/24'])
    // One ARP request, 50 ms apart: the kernel gives up on an absent neighbour quickly.
    await a.sysctlSet('net.ipv4.neigh.eth0.mcast_solicit', '1')
    await a.sysctlSet('net.ipv4.neigh.eth0.retrans_time_ms', '50')

    const first = await reachable(a, '10.0.0.9', { expectFailure: true })
    expect(first).toMatchObject({ verdict: 'unresolved' })
    expect(first.evidence.neighborBefore).toBeUndefined() // nothing known yet: the full short deadline
    await expect.poll(() => lab.netlink!.neighbor(a.name, 'eth0', '10.0.0.9')?.state, { timeout: 2000, interval: 20 }).toEqual(['FAILED'])

    const again = await reachable(a, '10.0.0.9', { expectFailure: true })
    expect(again).toMatchObject({ verdict: 'unresolved', attempts: 1, evidence: { neighborBefore: ['FAILED'] } })
    expect(again.detail).toContain('FAILED already before this probe')
    // A positive check is never cut short by an old FAILED entry: b answers at once.
    expect((await reachable(a, '10.0.0.2')).ok).toBe(true)
    // The in-process read is what `ip -j neigh` says.
    const viaIp = (await b.neighbors()).find((n) => n.dst === '10.0.0.1')!
    expect(lab.netlink!.neighbor(b.name, 'eth0', '10.0.0.1')).toEqual({ dst: '10.0.0.1', dev: 'eth0', mac: viaIp.mac, state: viaIp.state, router: viaIp.router })
  })

  test('probes from many namespaces at once are each matched to their own reply', async () => {
    await using lab = await labOn('netlink')
    const hub = await lab.namespace('hub')
    const br = await lab.bridge(hub, 'br0')
    const hosts: Namespace[] = await Promise.all(Array.from({ length: 6 }, (_, i) => lab.namespace(`h${i}`)))
    await Promise.all(hosts.map((h, i) => br.plug([h, 'eth0', `10.4.0.${i + 1}/24`, `fd04::${i + 1}/64`])))
    const results = await Promise.all(
      hosts.flatMap((h, i) => hosts.filter((_, j) => j !== i).flatMap((_, j0) => {
        const j = j0 >= i ? j0 + 1 : j0
        return [reachable(h, `10.4.0.${j + 1}`), reachable(h, `fd04::${j + 1}`)]
      })),
    )
    expect(results).toHaveLength(60)
    expect(results.filter((r) => !r.ok).map((r) => r.detail)).toEqual([])
    expect(results.every((r) => r.evidence.output?.startsWith(`echo reply from ${r.target}:`))).toBe(true)
  })

  test('a probe still waiting at teardown ends as torn-down, and nothing reopens a socket afterwards', async () => {
    const lab = await labOn('netlink')
    const a = await lab.namespace('a')
    const b = await lab.namespace('b')
    await lab.veth([a, 'eth0', '10.0.0.1/24'], [b, 'eth0', '10.0.0.2/24'])
    await b.exec(['nft', 'add table inet t; add chain inet t in { type filter hook input priority 0; policy drop; }'], { check: true })
    process.env.NETSPEC_DROPS = 'off' // with drop reasons on, the policy drop would decide the check before teardown
    const pending = reachable(a, '10.0.0.2', { timeoutMs: 5000 })
    await new Promise((r) => setTimeout(r, 50))
    await lab.destroy()
    await expect(pending).rejects.toMatchObject({ kind: 'torn-down' }).finally(() => delete process.env.NETSPEC_DROPS)
    expect(() => lab.netlink!.routeGet(a.name, '10.0.0.2')).toThrow(/closed \(torn down\)/)
    await expect(reachable(a, '10.0.0.2')).rejects.toMatchObject({ kind: 'torn-down' })
  })

  test('the thread returns home every time, and teardown closes every socket it opened', async () => {
    const home = readlinkSync('/proc/thread-self/ns/net')
    const open = sockets()
    {
      await using lab = await labOn('netlink')
      const a = await lab.namespace('a')
      const b = await lab.namespace('b')
      await lab.veth([a, 'eth0', '10.0.0.1/24'], [b, 'eth0', '10.0.0.2/24'])
      expect((await reachable(a, '10.0.0.2')).ok).toBe(true)
      expect((await reachable(b, '10.0.0.1')).ok).toBe(true)
      expect(sockets()).toBeGreaterThanOrEqual(open + 4) // netlink + raw ICMP, in each
      expect(readlinkSync('/proc/thread-self/ns/net')).toBe(home)
    }
    expect(sockets()).toBe(open)
    expect(readlinkSync('/proc/thread-self/ns/net')).toBe(home)
  })
})
