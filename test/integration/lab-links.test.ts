// What the lab's verbs ask for is what the kernel reports back: links with their options, IPv6
// usable at once, addresses and routes added and removed, bridges, and a snapshot of it all.
import { describe, expect, test } from 'vitest'
import { test as labTest } from 'netspec/vitest'

describe('veth ends', () => {
  labTest('MAC, MTU, alias and up: false are what the kernel reports', async ({ lab }) => {
    const ns1 = await lab.namespace('ns1')
    const ns2 = await lab.namespace('ns2')

    await lab.veth(
      [ns1, 'veth1', '10.0.12.1/24', { mac: '02:00:00:00:12:01', mtu: 1400, alias: "ns1's end to ns2", up: false }],
      { ns: ns2, name: 'veth2', addresses: ['10.0.12.2/24'], mtu: 1400 },
    )

    expect(await ns1.link('veth1')).toMatchObject({
      kind: 'veth',
      mac: '02:00:00:00:12:01',
      mtu: 1400,
      alias: "ns1's end to ns2",
      up: false,
      peer: { namespace: 'ns2', name: 'veth2' },
    })
    expect(await ns2.link('veth2')).toMatchObject({ up: true, mtu: 1400, operState: 'DOWN' })
    expect((await ns1.exec(['ping', '-c1', '-W1', '10.0.12.2'])).exitCode).not.toBe(0)

    await ns1.linkSet('veth1', { up: true, mtu: 1300, alias: 'renamed' })

    expect(await ns1.link('veth1')).toMatchObject({ up: true, mtu: 1300, alias: 'renamed' })
    expect((await ns1.exec(['ping', '-c1', '-W1', '10.0.12.2'])).exitCode).toBe(0)
  })

  labTest('both ends of a pair may live in one namespace', async ({ lab }) => {
    const ns1 = await lab.namespace('ns1')

    await lab.veth([ns1, 'left'], [ns1, 'right'])

    expect(await ns1.link('left')).toMatchObject({ peer: { netns: ns1.name, namespace: 'ns1', name: 'right' } })
    expect(await ns1.link('right')).toMatchObject({ peer: { namespace: 'ns1', name: 'left' } })
  })

  labTest("a link the namespace does not have is reported with the command and the kernel's message", async ({ lab }) => {
    const ns1 = await lab.namespace('ns1')

    await expect(ns1.linkSet('veth9', { up: true })).rejects.toThrow(
      /ip link set failed[\s\S]*command: {3}ip -n \S+ link set dev veth9 up[\s\S]*kernel said: Cannot find device "veth9"[\s\S]*hint: {6}the interface does not exist in that namespace/,
    )
  })
})

describe('IPv6', () => {
  labTest('addresses are added with nodad and answer at once', async ({ lab }) => {
    const ns1 = await lab.namespace('ns1')
    const ns2 = await lab.namespace('ns2')

    await lab.veth([ns1, 'veth1', '10.0.12.1/24', 'fd00:12::1/64'], [ns2, 'veth2', '10.0.12.2/24', 'FD00:12:0::2/64'])

    expect((await ns1.exec(['ping', '-6', '-c1', '-W1', 'fd00:12::2'])).exitCode).toBe(0)
    expect((await ns2.exec(['ping', '-c1', '-W1', '10.0.12.1'])).exitCode).toBe(0)
    const v6 = (await ns2.addresses()).find((a) => a.cidr === 'fd00:12::2/64')
    expect(v6).toMatchObject({ family: 6, dev: 'veth2', scope: 'global' })
    expect(v6?.flags).toContain('nodad')
    expect(v6?.flags).not.toContain('tentative')
  })

  labTest('an IPv6 default route through a router works on the first packet', async ({ lab }) => {
    const ns1 = await lab.namespace('ns1')
    const router = await lab.namespace('router', { forwarding: true })
    const ns3 = await lab.namespace('ns3')
    await lab.veth([ns1, 'eth0', 'fd00:1::2/64'], [router, 'eth1', 'fd00:1::1/64'])
    await lab.veth([router, 'eth2', 'fd00:2::1/64'], [ns3, 'eth0', 'fd00:2::2/64'])

    await ns1.routeAdd('default', { via: 'fd00:1::1' })
    await ns3.routeAdd('fd00:1::/64', { via: 'fd00:2::1' })

    expect(await ns1.routes()).toContainEqual(expect.objectContaining({ family: 6, dst: 'default', via: 'fd00:1::1', dev: 'eth0' }))
    // Routed at once: the router's link-local addresses skip DAD too, so it can solicit its neighbours.
    expect((await ns1.exec(['ping', '-6', '-c1', '-W1', 'fd00:2::2'])).exitCode).toBe(0)
    expect((await router.addresses()).filter((a) => a.scope === 'link' && a.flags.includes('tentative'))).toEqual([])
  })
})

describe('addresses and routes', () => {
  labTest('added and deleted, as the kernel reports them', async ({ lab }) => {
    const ns1 = await lab.namespace('ns1')
    const ns2 = await lab.namespace('ns2')
    await lab.veth([ns1, 'veth1', '10.0.12.1/24'], [ns2, 'veth2', '10.0.12.2/24'])

    await ns1.addrAdd('veth1', '10.0.13.1/24')
    await ns1.routeAdd('10.9.0.0/16', { via: '10.0.12.2', metric: 50 })
    await ns1.routeAdd('10.8.0.0/16', { dev: 'veth1', table: 100 })
    const v4 = (r: { family: number; table: string }) => r.family === 4 && r.table !== 'local'

    expect((await ns1.addresses()).filter((a) => a.dev === 'veth1' && a.family === 4).map((a) => a.cidr)).toEqual(['10.0.12.1/24', '10.0.13.1/24'])
    expect((await ns1.routes()).filter(v4)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: '10.9.0.0/16', via: '10.0.12.2', metric: 50, table: 'main' }),
        expect.objectContaining({ dst: '10.8.0.0/16', dev: 'veth1', table: '100' }),
        expect.objectContaining({ dst: '10.0.13.0/24', dev: 'veth1', src: '10.0.13.1' }),
      ]),
    )

    await ns1.routeDel('10.9.0.0/16', { via: '10.0.12.2', metric: 50 })
    await ns1.addrDel('veth1', '10.0.13.1/24')

    expect((await ns1.routes()).filter(v4).map((r) => r.dst).sort()).toEqual(['10.0.12.0/24', '10.8.0.0/16'])
    expect((await ns1.addresses()).some((a) => a.address === '10.0.13.1')).toBe(false)
    // A deleted address is free again on its segment.
    await ns2.addrAdd('veth2', '10.0.13.1/24')
  })
})

describe('bridges', () => {
  labTest('options are what the kernel reports, and ports are created in the bridge namespace', async ({ lab }) => {
    const host = await lab.namespace('host')
    const ns2 = await lab.namespace('ns2')
    const br0 = await lab.bridge(host, 'br0', { addresses: ['172.16.0.100/24', 'fd00:16::100/64'], mtu: 1450, mac: '02:00:00:00:00:b0' })

    await br0.plug([ns2, 'eth0', '172.16.0.102/24', { mtu: 1450 }])

    expect(await host.link('br0')).toMatchObject({ kind: 'bridge', mtu: 1450, mac: '02:00:00:00:00:b0', up: true })
    expect(await host.link('br0p1')).toMatchObject({ kind: 'veth', master: 'br0', peer: { namespace: 'ns2', name: 'eth0' } })
    expect((await ns2.exec(['ping', '-c1', '-W1', '172.16.0.100'])).exitCode).toBe(0)
    const stp = await host.exec(['cat', '/sys/class/net/br0/bridge/stp_state'])
    expect(stp.stdout.trim()).toBe('0')
  })

  labTest('a bridge left down forwards nothing until it is brought up', async ({ lab }) => {
    const host = await lab.namespace('host')
    const ns2 = await lab.namespace('ns2')
    const ns3 = await lab.namespace('ns3')
    const br0 = await lab.bridge(host, 'br0', { up: false })
    await br0.plug([ns2, 'eth0', '10.0.0.2/24'])
    await br0.plug([ns3, 'eth0', '10.0.0.3/24'])

    expect(await host.link('br0')).toMatchObject({ up: false })
    expect((await ns2.exec(['ping', '-c1', '-W1', '10.0.0.3'])).exitCode).not.toBe(0)
    await host.linkSet('br0', { up: true })
    // The failed ping left ns2's ARP entry INCOMPLETE; the next ping would wait for its 1 s retransmit.
    await ns2.exec(['ip', 'neigh', 'flush', 'all'], { check: true })
    expect((await ns2.exec(['ping', '-c1', '-W1', '10.0.0.3'])).exitCode).toBe(0)
  })
})

test('lab.snapshot() reads back every namespace', async () => {
  const { Lab } = await import('netspec')
  await using lab = await Lab.create({ label: 'snapshot' })
  const ns1 = await lab.namespace('ns1')
  const ns2 = await lab.namespace('ns2')
  await lab.veth([ns1, 'veth1', '10.0.12.1/24'], [ns2, 'veth2', '10.0.12.2/24'])

  const snap = await lab.snapshot()

  expect(snap.lab).toBe('snapshot')
  expect(snap.namespaces.map((n) => [n.label, n.name])).toEqual([
    ['ns1', ns1.name],
    ['ns2', ns2.name],
  ])
  expect(snap.namespaces[1]!.links.map((l) => l.name)).toEqual(['lo', 'veth2'])
  expect(snap.namespaces[1]!.addresses.map((a) => a.cidr)).toContain('10.0.12.2/24')
  expect(snap.namespaces[1]!.routes).toContainEqual(expect.objectContaining({ dst: '10.0.12.0/24', dev: 'veth2' }))
})
