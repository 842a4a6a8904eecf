// VLANs against the real kernel: 802.1Q sub-interfaces and VLAN-filtering bridges, proven by reachability
// inside a VLAN and isolation across VLANs, read back from `ip -j -d link` and `bridge -j vlan`. Where the
// kernel lacks a feature, the positive tests skip naming it and the refusal path runs for real instead.
import { describe, expect, test } from 'netspec/vitest'
import { kernelFeatureSkipReason, reachable, isNetspecError } from 'netspec'
import type { Lab, Namespace, NetspecError } from 'netspec'

const noVlan = await kernelFeatureSkipReason('vlan')
const noFiltering = await kernelFeatureSkipReason('bridge-vlan-filtering')

async function wire(lab: Lab): Promise<{ a: Namespace; b: Namespace }> {
  const a = await lab.namespace('a')
  const b = await lab.namespace('b')
  await lab.veth([a, 'eth0'], [b, 'eth0'])
  return { a, b }
}

async function ipDetails(ns: Namespace, dev: string): Promise<Record<string, unknown>> {
  const r = await ns.exec(['ip', '-j', '-d', 'link', 'show', 'dev', dev], { check: true })
  return (JSON.parse(r.stdout) as Record<string, unknown>[])[0]!
}

async function rejection(p: Promise<unknown>): Promise<NetspecError> {
  const e = await p.then(
    () => expect.unreachable('expected a rejection'),
    (err: unknown) => err,
  )
  expect(isNetspecError(e), String(e)).toBe(true)
  return e as NetspecError
}

describe('checked before anything is created', () => {
  test('a VLAN on an interface the namespace does not have names what it has', async ({ lab }) => {
    const { a } = await wire(lab)
    const e = await rejection(lab.vlan(a, 'eth9', 10))
    expect(e.kind).toBe('invalid-input')
    expect(e.message).toContain("no interface 'eth9' in namespace 'a' to carry VLAN 10")
    expect(e.hint).toMatch(/a has: .*eth0/)
    await expect(lab.vlan(a, 'eth0', 4095)).rejects.toMatchObject({ kind: 'invalid-input', message: expect.stringMatching(/from 1 to 4094, got 4095/) })
    expect((await a.links()).map((l) => l.name).sort()).toEqual(['eth0', 'lo'])
  })

  test('VLAN options on a bridge without filtering: rejected, and no port is made', async ({ lab }) => {
    const sw = await lab.namespace('switch')
    const host = await lab.namespace('host')
    const br = await lab.bridge(sw, 'br0')
    const e = await rejection(br.plug([host, 'eth0', '10.0.0.1/24'], { port: 'p1', pvid: 10 }))
    expect(e).toMatchObject({ kind: 'invalid-input', hint: "create it with lab.bridge(ns, 'br0', { vlanFiltering: true })" })
    expect((await sw.links()).map((l) => l.name).sort()).toEqual(['br0', 'lo'])
    expect((await host.links()).map((l) => l.name)).toEqual(['lo'])
    await br.plug([host, 'eth0', '10.0.0.1/24'], { port: 'p1' }) // the corrected call may use both names
  })
})

describe('where the kernel lacks the feature, the error names it', () => {
  test('802.1Q missing: lab.vlan fails as unsupported, with the kernel message and what to do', async ({ lab, skip }) => {
    if (noVlan === undefined) return skip('this kernel has 802.1Q VLANs: nothing to refuse')
    const { a } = await wire(lab)
    const e = await rejection(lab.vlan(a, 'eth0', 10, { addresses: ['10.0.10.1/24'] }))
    expect(e.kind).toBe('unsupported')
    expect(e.shortMessage).toMatch(/^VLAN interface eth0\.10 needs 802\.1Q VLAN links \(kernel feature 'vlan'\), which this kernel lacks: /)
    expect(e.hint).toContain('modprobe 8021q')
    expect(e.hint).toContain('CONFIG_VLAN_8021Q')
    expect(e.hint).toContain('kernelFeatureSkipReason("vlan")')
    expect(e.command).toContain('type vlan protocol 802.1Q id 10')
    expect(e.stderr).not.toBe('')
    expect(e.namespace).toBe('a')
    // Nothing half-made: no link in the kernel, and the name is free for a retry (which fails the same way).
    expect((await a.links()).map((l) => l.name).sort()).toEqual(['eth0', 'lo'])
    await expect(lab.vlan(a, 'eth0', 10)).rejects.toMatchObject({ kind: 'unsupported' })
  })

  test('VLAN filtering missing: lab.bridge({ vlanFiltering }) fails as unsupported naming CONFIG_BRIDGE_VLAN_FILTERING', async ({ lab, skip }) => {
    if (noFiltering === undefined) return skip('this kernel has bridge VLAN filtering: nothing to refuse')
    const sw = await lab.namespace('switch')
    const e = await rejection(lab.bridge(sw, 'br0', { vlanFiltering: true }))
    expect(e.kind).toBe('unsupported')
    expect(e.shortMessage).toContain("bridge br0 with vlanFiltering needs bridge VLAN filtering (kernel feature 'bridge-vlan-filtering')")
    expect(e.hint).toContain('CONFIG_BRIDGE_VLAN_FILTERING')
    expect(e.command).toContain('vlan_filtering 1')
    expect((await sw.links()).map((l) => l.name)).toEqual(['lo'])
    await lab.bridge(sw, 'br0') // the name is free again
  })
})

describe('802.1Q sub-interfaces', () => {
  test('hosts reach each other inside a VLAN; the same subnet on another VLAN stays dark', async ({ lab, skip }) => {
    if (noVlan !== undefined) return skip(noVlan)
    const { a, b } = await wire(lab)
    const a10 = await lab.vlan(a, 'eth0', 10, { addresses: ['10.0.10.1/24', 'fd00:10::1/64'] })
    await lab.vlan(b, 'eth0', 10, { addresses: ['10.0.10.2/24', 'fd00:10::2/64'] })
    await lab.vlan(a, 'eth0', 20, { addresses: ['10.0.20.1/24'] })
    await lab.vlan(b, 'eth0', 30, { name: 'blue', addresses: ['10.0.20.2/24'] }) // VLAN 30 with VLAN 20's subnet
    expect(a10).toMatchObject({ name: 'eth0.10', parent: 'eth0', id: 10 })

    await expect(a).toReach('10.0.10.2')
    await expect(a).toReach('fd00:10::2')
    const across = await reachable(a, '10.0.20.2', { expectFailure: true })
    expect(across.ok).toBe(false)

    // Read back from the kernel, not from what was asked.
    const info = (await ipDetails(b, 'blue')) as { link?: string; linkinfo: { info_kind: string; info_data: { id: number; protocol: string } } }
    expect(info.linkinfo).toMatchObject({ info_kind: 'vlan', info_data: { id: 30, protocol: '802.1Q' } })
    expect(info.link).toBe('eth0')
    expect(await b.link('blue')).toMatchObject({ kind: 'vlan', vlan: { id: 30, protocol: '802.1Q', parent: 'eth0' }, up: true })
    const snap = await lab.snapshot()
    expect(snap.namespaces.find((n) => n.label === 'a')!.links.filter((l) => l.vlan !== undefined).map((l) => [l.name, l.vlan!.id])).toEqual(
      expect.arrayContaining([['eth0.10', 10], ['eth0.20', 20]]),
    )
  })

  test('a second VLAN 10 on the same parent is rejected before the kernel sees it', async ({ lab, skip }) => {
    if (noVlan !== undefined) return skip(noVlan)
    const { a } = await wire(lab)
    await lab.vlan(a, 'eth0', 10)
    await expect(lab.vlan(a, 'eth0', 10)).rejects.toMatchObject({ kind: 'invalid-input', message: expect.stringContaining("interface 'eth0.10' already exists") })
  })
})

describe('a VLAN-filtering bridge', () => {
  // Three hosts on one subnet, one switch: red1 and red2 on access ports of VLAN 10, blue on VLAN 20.
  async function vlanSwitch(lab: Lab) {
    const sw = await lab.namespace('switch')
    const [red1, red2, blue] = await Promise.all(['red1', 'red2', 'blue'].map((l) => lab.namespace(l)))
    const br = await lab.bridge(sw, 'br0', { vlanFiltering: true })
    await br.plug([red1!, 'eth0', '10.0.0.1/24'], { port: 'red1', pvid: 10 })
    await br.plug([red2!, 'eth0', '10.0.0.2/24'], { port: 'red2', pvid: 10 })
    await br.plug([blue!, 'eth0', '10.0.0.3/24'], { port: 'blue', pvid: 20 })
    return { sw, br, red1: red1!, red2: red2!, blue: blue! }
  }

  test('access ports: same VLAN reaches, across VLANs nothing arrives, on one subnet', async ({ lab, skip }) => {
    if (noFiltering !== undefined) return skip(noFiltering)
    const { red1, blue } = await vlanSwitch(lab)
    await expect(red1).toReach('10.0.0.2')
    expect((await reachable(red1, '10.0.0.3', { expectFailure: true })).ok).toBe(false)
    expect((await reachable(blue, '10.0.0.2', { expectFailure: true })).ok).toBe(false)
  })

  test('the kernel holds exactly the VLANs asked for: bridge -j vlan show and ip -d link', async ({ lab, skip }) => {
    if (noFiltering !== undefined) return skip(noFiltering)
    const { sw, br } = await vlanSwitch(lab)
    const trunk = await lab.namespace('trunk')
    await br.plug([trunk, 'eth0'], { port: 'up', tagged: [10, 20] })

    const raw = JSON.parse((await sw.exec(['bridge', '-j', 'vlan', 'show'], { check: true })).stdout) as { ifname: string; vlans: { vlan: number; flags?: string[] }[] }[]
    const port = (name: string) => raw.find((p) => p.ifname === name)!.vlans.map((v) => [v.vlan, v.flags ?? []])
    expect(port('red1')).toEqual([[10, ['PVID', 'Egress Untagged']]])
    expect(port('up')).toEqual([[10, []], [20, []]])

    const vlans = await br.vlans()
    expect(vlans.filter((v) => v.port === 'blue')).toEqual([{ port: 'blue', vid: 20, pvid: true, untagged: true }])
    expect(vlans.filter((v) => v.port === 'up').map((v) => v.vid)).toEqual([10, 20])
    expect(vlans.some((v) => v.port !== 'br0' && v.vid === 1)).toBe(false) // ports with VLAN options left VLAN 1

    const info = (await ipDetails(sw, 'br0')) as { linkinfo: { info_data: { vlan_filtering: number } } }
    expect(info.linkinfo.info_data.vlan_filtering).toBe(1)
  })

  test('a trunk with sub-interfaces routes between the VLANs (router on a stick)', async ({ lab, skip }) => {
    const reason = noFiltering ?? noVlan
    if (reason !== undefined) return skip(reason)
    const sw = await lab.namespace('switch')
    const red = await lab.namespace('red')
    const blue = await lab.namespace('blue')
    const router = await lab.namespace('router', { forwarding: true })
    const br = await lab.bridge(sw, 'br0', { vlanFiltering: true })
    await br.plug([red, 'eth0', '10.0.10.1/24'], { pvid: 10 })
    await br.plug([blue, 'eth0', '10.0.20.1/24'], { pvid: 20 })
    await br.plug([router, 'eth0'], { port: 'up', tagged: [10, 20] })
    await lab.vlan(router, 'eth0', 10, { addresses: ['10.0.10.254/24'] })
    await lab.vlan(router, 'eth0', 20, { addresses: ['10.0.20.254/24'] })
    await expect(red).toReach('10.0.10.254')
    expect((await reachable(red, '10.0.20.1', { expectFailure: true })).verdict).toBe('no-route')
    await red.routeAdd('default', { via: '10.0.10.254' })
    await blue.routeAdd('default', { via: '10.0.20.254' })
    await expect(red).toReach('10.0.20.1')
  })
})
