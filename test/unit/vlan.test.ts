// VLAN input checks and the exact commands they produce, without root; and reading VLANs back from kernel JSON.
import { describe, expect, test } from 'vitest'
import { isNetspecError } from '../../src/errors.js'
import { parseBridgeVlans } from '../../src/kernel/bridge-vlan.js'
import { parseLinks } from '../../src/kernel/ip.js'
import { checkVlanId, planVlan, portVlanLines, portVlans, vlanName } from '../../src/lab/vlan.js'

const filtering = { name: 'br0', vlanFiltering: true }

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

describe('VLAN ids', () => {
  test.each([1, 10, 4094])('accepts %i', (id) => expect(checkVlanId(id, 'VLAN id')).toBe(id))

  test.each([0, 4095, -1, 10.5, NaN, '10', undefined])('rejects %j, saying 0 and 4095 are reserved', (id) => {
    rejects(() => checkVlanId(id, 'VLAN id'), /VLAN id must be a whole number from 1 to 4094/, /reserves 0 .* and 4095/)
  })
})

describe('VLAN interface names', () => {
  test('default to <parent>.<id>, as ip and the tutorials name them', () => {
    expect(vlanName('eth0', 10, undefined)).toBe('eth0.10')
    expect(vlanName('eth0', 4094, undefined)).toBe('eth0.4094')
    expect(vlanName('eth0', 10, 'red')).toBe('red')
  })

  test('a default name over IFNAMSIZ is rejected with a shorter name to use', () => {
    // 'veth-uplink1' + '.4094' is 17 bytes.
    rejects(() => vlanName('veth-uplink1', 4094, undefined), /default name 'veth-uplink1\.4094' \(<parent>\.<id>\) is 17 bytes; Linux allows at most 15/, /name: 'vlan4094'/)
    expect(vlanName('veth-uplink', 409, undefined)).toBe('veth-uplink.409') // exactly 15 bytes
  })

  test('a given name is held to the same rules', () => {
    rejects(() => vlanName('eth0', 10, 'this-name-is-too-long'), /IFNAMSIZ/)
    rejects(() => vlanName('eth0', 10, 'a/b'), /no '\/'/)
  })
})

describe('planVlan: the ip lines for a sub-interface', () => {
  test('link, addresses (IPv6 without DAD), up and one read back', () => {
    const plan = planVlan('eth0', 10, { addresses: ['10.0.10.1/24', 'fd00:10::1/64'], mtu: 1496 })
    expect(plan).toMatchObject({ name: 'eth0.10', parent: 'eth0', id: 10 })
    expect(plan.lines).toEqual([
      'link add link eth0 name eth0.10 mtu 1496 type vlan protocol 802.1Q id 10',
      'addr add 10.0.10.1/24 dev eth0.10',
      'addr add fd00:10::1/64 dev eth0.10 nodad',
      'link set dev eth0.10 up',
      'link show dev eth0.10',
    ])
  })

  test('name, mac, 802.1ad and down', () => {
    expect(planVlan('trunk', 300, { name: 'svc', mac: '02:00:00:00:03:00', protocol: '802.1ad', up: false }).lines).toEqual([
      'link add link trunk name svc address 02:00:00:00:03:00 type vlan protocol 802.1ad id 300',
    ])
  })

  test('bad input is rejected before any line exists', () => {
    rejects(() => planVlan('eth0', 0), /VLAN id must be a whole number from 1 to 4094, got 0/)
    rejects(() => planVlan('eth0', 4095), /got 4095/)
    rejects(() => planVlan('', 10), /interface name must be a non-empty string/)
    rejects(() => planVlan('eth0', 10, { addresses: ['10.0.10.1'] }), /not an address with a prefix length/)
    rejects(() => planVlan('eth0', 10, { protocol: '802.1X' as never }), /protocol must be '802.1Q' or '802.1ad'/)
    rejects(() => planVlan('eth0', 10, { vid: 10 } as never), /unknown option 'vid' for vlan/)
    rejects(() => planVlan('eth0', 10, { name: 'eth0' }), /cannot have its parent's name/)
    rejects(() => planVlan('eth0', 10, { mtu: 20 }), /MTU must be a whole number/)
  })
})

describe('portVlans: plug() options on a bridge', () => {
  test('no VLAN options: the port keeps the kernel default', () => {
    expect(portVlans({ port: 'p1' }, { name: 'br0', vlanFiltering: false })).toBeUndefined()
    expect(portVlans({}, filtering)).toBeUndefined()
  })

  test('an access port: leaves VLAN 1, joins VLAN 10 as PVID, untagged', () => {
    const v = portVlans({ pvid: 10 }, filtering)!
    expect(portVlanLines('br0p1', v)).toEqual(['vlan del dev br0p1 vid 1', 'vlan add dev br0p1 vid 10 pvid untagged'])
  })

  test('a trunk carries VLANs tagged, with or without a native VLAN', () => {
    expect(portVlanLines('up', portVlans({ tagged: [10, 20] }, filtering)!)).toEqual(['vlan del dev up vid 1', 'vlan add dev up vid 10', 'vlan add dev up vid 20'])
    expect(portVlanLines('up', portVlans({ pvid: 1, tagged: [10, 20], untagged: [30] }, filtering)!)).toEqual([
      'vlan del dev up vid 1',
      'vlan add dev up vid 1 pvid untagged',
      'vlan add dev up vid 10',
      'vlan add dev up vid 20',
      'vlan add dev up vid 30 untagged',
    ])
  })

  test('a PVID that is also in tagged keeps its tag on the way out', () => {
    expect(portVlanLines('p', portVlans({ pvid: 10, tagged: [10] }, filtering)!)).toEqual(['vlan del dev p vid 1', 'vlan add dev p vid 10 pvid'])
  })

  test('VLAN options on a bridge without filtering are rejected with the fix', () => {
    rejects(() => portVlans({ pvid: 10 }, { name: 'br0', vlanFiltering: false }), /bridge br0 does not filter VLANs/, /lab\.bridge\(ns, 'br0', \{ vlanFiltering: true \}\)/)
    rejects(() => portVlans({ tagged: [] }, { name: 'br0', vlanFiltering: false }), /does not filter VLANs/)
  })

  test('bad ids and contradictions are rejected', () => {
    rejects(() => portVlans({ pvid: 4095 }, filtering), /'pvid' must be a whole number from 1 to 4094/)
    rejects(() => portVlans({ tagged: [10, 0] }, filtering), /VLAN id in 'tagged' must be/)
    rejects(() => portVlans({ tagged: 10 as never }, filtering), /'tagged' must be an array of VLAN ids/)
    rejects(() => portVlans({ tagged: [10, 10] }, filtering), /VLAN 10 is listed twice in 'tagged'/)
    rejects(() => portVlans({ tagged: [10], untagged: [10] }, filtering), /VLAN 10 cannot leave the port both tagged and untagged/)
  })
})

describe('reading VLANs back from kernel JSON', () => {
  test('ip -j -d link show: a vlan link carries its id, protocol and parent', () => {
    const json = JSON.stringify([
      { ifindex: 3, link: 'eth0', ifname: 'eth0.10', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 1500, operstate: 'UP', address: '6a:1f:00:00:00:01', linkinfo: { info_kind: 'vlan', info_data: { protocol: '802.1Q', id: 10, flags: ['REORDER_HDR'] } } },
      { ifindex: 2, ifname: 'eth0', flags: ['UP'], mtu: 1500, operstate: 'UP', address: '6a:1f:00:00:00:01', link_index: 2, link_netnsid: 0, linkinfo: { info_kind: 'veth' } },
    ])
    const [vlan, veth] = parseLinks(json)
    expect(vlan).toMatchObject({ name: 'eth0.10', kind: 'vlan', vlan: { id: 10, protocol: '802.1Q', parent: 'eth0' } })
    expect(veth!.vlan).toBeUndefined()
  })

  test('bridge -j vlan show: flags become pvid/untagged, ranges are expanded, and the old object shape is read too', () => {
    const current = JSON.stringify([
      { ifname: 'br0', vlans: [{ vlan: 1, flags: ['PVID', 'Egress Untagged'] }] },
      { ifname: 'br0p1', vlans: [{ vlan: 10, flags: ['PVID', 'Egress Untagged'] }] },
      { ifname: 'trunk', vlans: [{ vlan: 10 }, { vlan: 20, vlanEnd: 21 }] },
    ])
    expect(parseBridgeVlans(current)).toEqual([
      { port: 'br0', vid: 1, pvid: true, untagged: true },
      { port: 'br0p1', vid: 10, pvid: true, untagged: true },
      { port: 'trunk', vid: 10, pvid: false, untagged: false },
      { port: 'trunk', vid: 20, pvid: false, untagged: false },
      { port: 'trunk', vid: 21, pvid: false, untagged: false },
    ])
    expect(parseBridgeVlans('{"p2":[{"vlan":30,"flags":["Egress Untagged"]}]}')).toEqual([{ port: 'p2', vid: 30, pvid: false, untagged: true }])
    expect(parseBridgeVlans('')).toEqual([])
  })
})
