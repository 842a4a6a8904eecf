// Tunnels without root: the VXLAN plan (checked input → the exact `ip` lines), reading a vxlan back from the
// kernel's JSON (as `ip -j -d link` printed it on this machine), and matching overlay ends in a snapshot.
import { describe, expect, test } from 'vitest'
import { isNetspecError } from '../../src/errors.js'
import { parseLinks } from '../../src/kernel/ip.js'
import type { Address, Link } from '../../src/kernel/types.js'
import { planVxlan, VNI_MAX, type VxlanOptions } from '../../src/lab/tunnel.js'
import type { LabSnapshot } from '../../src/lab/types.js'
import { farEnd, overlayLines, overlays } from '../../src/topology/overlay.js'
import { overlayUnresolved } from '../../src/explain/explain.js'

const ok: VxlanOptions = { id: 42, remote: '10.0.0.2', local: '10.0.0.1', dstport: 4789, dev: 'eth0' }

function rejects(fn: () => unknown, message: RegExp, hint?: RegExp): void {
  try {
    fn()
    expect.unreachable('expected an invalid-input error')
  } catch (e) {
    expect(isNetspecError(e, 'invalid-input'), String(e)).toBe(true)
    expect((e as Error).message).toMatch(message)
    if (hint !== undefined) expect((e as { hint?: string }).hint).toMatch(hint)
  }
}

describe('planVxlan', () => {
  test('the lines: link add with every end named, then master, addresses, up and the read-back', () => {
    const plan = planVxlan('vx42', { ...ok, master: { name: 'br0' } as never, addresses: ['192.168.50.1/24', 'fd50::1/64'], mtu: 1400 })
    expect(plan.lines).toEqual([
      'link add name vx42 type vxlan id 42 remote 10.0.0.2 local 10.0.0.1 dstport 4789 dev eth0',
      'link set dev vx42 mtu 1400',
      'link set dev vx42 master br0',
      'addr add 192.168.50.1/24 dev vx42',
      'addr add fd50::1/64 dev vx42 nodad',
      'link set dev vx42 up',
      'link show dev vx42',
      'link show dev br0',
    ])
    expect(plan).toMatchObject({ name: 'vx42', type: 'vxlan', id: 42, remote: '10.0.0.2', local: '10.0.0.1', family: 4, dstport: 4789, dev: 'eth0', mtu: 1400 })
  })

  test('a multicast group instead of a remote; IPv6 written canonically; down when asked', () => {
    expect(planVxlan('vxm', { id: 7, group: '239.1.1.1', dstport: 8472, dev: 'eth0', up: false }).lines).toEqual([
      'link add name vxm type vxlan id 7 group 239.1.1.1 dstport 8472 dev eth0',
    ])
    expect(planVxlan('vx6', { id: 7, remote: 'FD00:0:0::2', local: 'fd00::1', dstport: 4789, dev: 'eth0' }).lines[0]).toBe(
      'link add name vx6 type vxlan id 7 remote fd00::2 local fd00::1 dstport 4789 dev eth0',
    )
  })

  test.each([0, 1, VNI_MAX])('VNI %i is accepted', (id) => expect(planVxlan('vx', { ...ok, id }).id).toBe(id))

  test.each([-1, VNI_MAX + 1, 4.2, NaN, '42', undefined])('VNI %j is refused, saying it is 24 bits', (id) => {
    rejects(() => planVxlan('vx', { ...ok, id: id as never }), /VNI\) must be a whole number from 0 to 16777215/, /24 bits/)
  })

  test.each([0, 65536, 4789.5, '4789', undefined])('dstport %j is refused, naming 4789 and Linux\'s 8472', (dstport) => {
    rejects(() => planVxlan('vx', { ...ok, dstport: dstport as never }), /'dstport' must be a UDP port from 1 to 65535/, /4789 is IANA's VXLAN port; Linux alone defaults to 8472/)
  })

  test('the far end: exactly one of remote and group, unicast and multicast in their places, one family', () => {
    rejects(() => planVxlan('vx', { ...ok, remote: undefined }), /exactly one of 'remote'/)
    rejects(() => planVxlan('vx', { ...ok, group: '239.1.1.1' }), /exactly one of 'remote'/)
    rejects(() => planVxlan('vx', { ...ok, remote: '239.1.1.1', local: undefined }), /'remote' 239\.1\.1\.1 is a multicast address/, /group: '239\.1\.1\.1'/)
    rejects(() => planVxlan('vx', { ...ok, remote: undefined, group: '10.0.0.9', local: undefined }), /'group' 10\.0\.0\.9 is not a multicast address/)
    rejects(() => planVxlan('vx', { ...ok, remote: undefined, group: 'fe80::1', local: undefined }), /is not a multicast address/)
    rejects(() => planVxlan('vx', { ...ok, local: 'fd00::1' }), /'local' fd00::1 is IPv6 but 'remote' 10\.0\.0\.2 is IPv4/)
    rejects(() => planVxlan('vx', { ...ok, local: '10.0.0.2' }), /'local' and 'remote' are both 10\.0\.0\.2/)
    rejects(() => planVxlan('vx', { ...ok, remote: '10.0.0.2/24' }), /is not an IP address/, /without a prefix length/)
  })

  test('names and the underlay: IFNAMSIZ, batch syntax, dev required and not itself; unknown keys named', () => {
    rejects(() => planVxlan('vxlan-far-too-long', ok), /is 18 bytes; Linux allows at most 15/)
    for (const bad of ['vx"1', "vx'1", 'vx#1', 'vx\\1', '-vx', 'vx\u00001', 'vx\u001b', 'vx\u007f']) rejects(() => planVxlan(bad, ok), /would be syntax to ip or nft|is not allowed/)
    rejects(() => planVxlan('vx', { ...ok, dev: 'eth#0' }), /interface name 'eth#0' is not allowed/)
    rejects(() => planVxlan('vxé', ok), /ASCII letters, digits/) // the values layer's allow-list is ASCII (docs/trust.md)
    rejects(() => planVxlan('vx', { ...ok, dev: undefined as never }), /needs 'dev'/)
    rejects(() => planVxlan('eth0', ok), /cannot be its own underlay/)
    rejects(() => planVxlan('vx', { ...ok, master: { name: 'br"0' } as never }), /interface name 'br"0' is not allowed/)
    rejects(() => planVxlan('vx', { ...ok, port: 4789 } as never), /unknown option 'port' for vxlan/, /known options|did you mean/)
    rejects(() => planVxlan('vx', { ...ok, mtu: 10 }), /MTU must be a whole number from 68/)
    rejects(() => planVxlan('vx', { ...ok, addresses: '192.168.50.1/24' as never }), /'addresses' must be an array/)
    rejects(() => planVxlan('vx', undefined as never), /vxlan needs options/)
  })
})

describe('reading a vxlan back', () => {
  test('parseLinks gives its tunnel: VNI, remote, local, port and the underlay (IPv4 and IPv6 keys)', () => {
    // Printed by `ip -j -d link show` (iproute2 6.1) on this machine, trimmed to the fields read.
    const json = JSON.stringify([
      { ifindex: 4, ifname: 'vx42', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 1450, operstate: 'UNKNOWN', address: '0e:67:fd:53:81:31', master: 'br0',
        linkinfo: { info_kind: 'vxlan', info_data: { id: 42, remote: '10.9.0.2', local: '10.9.0.1', link: 'a', port_range: { low: 0, high: 0 }, port: 4789, learning: true } } },
      { ifindex: 2, ifname: 'vx6', flags: ['BROADCAST', 'MULTICAST'], mtu: 1500, operstate: 'DOWN', address: '56:7f:4e:c4:72:ca',
        linkinfo: { info_kind: 'vxlan', info_data: { id: 7, remote6: 'fd00::2', local6: 'fd00::1', port: 8472 } } },
      { ifindex: 5, ifname: 'vx43', flags: ['BROADCAST', 'MULTICAST'], mtu: 1450, operstate: 'DOWN', address: '42:83:c4:02:0d:5e',
        linkinfo: { info_kind: 'vxlan', info_data: { id: 43, group: '239.1.1.1', link: 'a', port: 4789 } } },
    ])
    const [v4, v6, group] = parseLinks(json) as [Link, Link, Link]
    expect(v4).toMatchObject({ kind: 'vxlan', master: 'br0', mtu: 1450, tunnel: { type: 'vxlan', id: 42, remote: '10.9.0.2', local: '10.9.0.1', port: 4789, dev: 'a' } })
    expect(v4.peer).toBeUndefined() // `link` names the underlay here, not a veth peer
    expect(v6.tunnel).toEqual({ type: 'vxlan', id: 7, remote: 'fd00::2', local: 'fd00::1', port: 8472 })
    expect(group.tunnel).toEqual({ type: 'vxlan', id: 43, group: '239.1.1.1', port: 4789, dev: 'a' })
  })
})

const link = (name: string, tunnel?: Link['tunnel']): Link => ({ index: 1, name, up: true, operState: 'UP', flags: [], mtu: 1450, mac: '', ...(tunnel ? { kind: tunnel.type, tunnel } : {}) })
const addr = (dev: string, address: string): Address => ({ dev, family: 4, address, prefixLength: 24, cidr: `${address}/24`, scope: 'global', flags: [] })
const vx = (id: number, remote: string, port = 4789) => ({ type: 'vxlan', id, remote, port, dev: 'eth0' })
function snap(...ns: [string, Link[], Address[]][]): LabSnapshot {
  return { lab: 't', takenAt: '', namespaces: ns.map(([label, links, addresses]) => ({ label, name: `ns-${label}`, links, addresses, routes: [], neighbors: [] })) }
}

describe('overlay ends', () => {
  const hv1 = (t = vx(42, '10.0.0.2')): [string, Link[], Address[]] => ['hv1', [link('eth0'), link('vx42', t)], [addr('eth0', '10.0.0.1')]]

  test('a pair: same VNI and port, each remote an address of the other; drawn once', () => {
    const s = snap(hv1(), ['hv2', [link('eth0'), link('vxa', vx(42, '10.0.0.1'))], [addr('eth0', '10.0.0.2')]])
    expect(overlays(s)).toEqual([{ a: { ns: 'hv1', dev: 'vx42', tunnel: vx(42, '10.0.0.2') }, b: { ns: 'hv2', dev: 'vxa', tunnel: vx(42, '10.0.0.1') } }])
    expect(overlayLines(s)).toEqual(['hv1:vx42 <══vxlan 42 udp 4789══> hv2:vxa'])
  })

  test('why an end has none: another VNI, another port, a remote pointing elsewhere, no holder, no tunnel at all', () => {
    const far = (t?: ReturnType<typeof vx>): [string, Link[], Address[]] => ['hv2', [link('eth0'), ...(t ? [link('vx9', t)] : [])], [addr('eth0', '10.0.0.2')]]
    const why = (s: LabSnapshot) => farEnd(s, { ns: 'hv1', dev: 'vx42', tunnel: vx(42, '10.0.0.2') }).problem
    expect(why(snap(hv1(), far(vx(43, '10.0.0.1'))))).toBe('hv2 has no VNI 42 (it has 43)')
    expect(why(snap(hv1(), far(vx(42, '10.0.0.1', 8472))))).toBe("hv2's VNI 42 (vx9) uses UDP port 8472, not 4789")
    expect(why(snap(hv1(), far(vx(42, '10.0.0.7'))))).toBe("hv2's VNI 42 (vx9) sends to 10.0.0.7, which is not an address of hv1")
    expect(why(snap(hv1(), far()))).toBe('hv2 has no VNI 42 (it has no vxlan link)')
    expect(why(snap(hv1()))).toBe('no namespace of the lab holds 10.0.0.2')
    expect(overlayLines(snap(hv1(), far(vx(43, '10.0.0.1'))))).toEqual([
      'hv1:vx42 ══vxlan 42 udp 4789══> 10.0.0.2: no far end (hv2 has no VNI 42 (it has 43))',
      'hv2:vx9 ══vxlan 43 udp 4789══> 10.0.0.1: no far end (hv1 has no VNI 43 (it has 42))',
    ])
  })

  test('explain\'s words for an unresolved neighbour behind a tunnel', () => {
    const s = snap(hv1(), ['hv2', [link('eth0'), link('vx43', vx(43, '10.0.0.1'))], [addr('eth0', '10.0.0.2')]])
    const vx42 = { ...vx(42, '10.0.0.2'), name: 'vx42', namespace: 'hv1' }
    expect(overlayUnresolved(s, { namespace: 'hv1', dev: 'vx42' }, vx42, '192.168.50.2', 4)).toBe(
      'ARP left hv1 vx42 (VNI 42) for 192.168.50.2; hv2 has no VNI 42 (it has 43)',
    )
    expect(overlayUnresolved(s, { namespace: 'vm1', dev: 'eth0' }, vx42, '192.168.50.2', 4)).toBe(
      'ARP left vm1 eth0 through hv1 vx42 (VNI 42) for 192.168.50.2; hv2 has no VNI 42 (it has 43)',
    )
    const paired = snap(hv1(), ['hv2', [link('eth0'), link('vx42', vx(42, '10.0.0.1'))], [addr('eth0', '10.0.0.2')]])
    expect(overlayUnresolved(paired, { namespace: 'hv1', dev: 'vx42' }, vx42, 'fd50::2', 6)).toBe(
      "neighbour solicitation left hv1 vx42 (VNI 42) for fd50::2; hv2's vx42 has VNI 42, yet no neighbour advertisement came back over it",
    )
  })

  test('ends in one multicast group meet', () => {
    const g = { type: 'vxlan', id: 5, group: '239.1.1.1', port: 4789, dev: 'eth0' }
    const s = snap(['a', [link('vxg', g)], []], ['b', [link('vxg', g)], []])
    expect(overlays(s)).toMatchObject([{ a: { ns: 'a' }, b: { ns: 'b' } }])
  })
})
