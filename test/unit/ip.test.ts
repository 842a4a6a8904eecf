// The `ip -j` parsers, on output recorded from this kind of machine (iproute2 6.1, kernel 6.x):
// test/fixtures/ip/*.json come from a "host" namespace with br0 (172.16.0.100/24, fd00:12::1/64),
// a port br0p1 whose peer eth0 (ee:ee:ee:ee:ee:ee, mtu 1400) is in "ns2", and a veth pair v6a/v6b
// with both ends in the host. See test/fixtures/README.md for how they were recorded.
import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import {
  parseAddresses,
  parseLinks,
  parseNeighbors,
  parseNetnsIds,
  parseNetnsList,
  parseRouteDecision,
  parseRoutes,
  routeDestination,
  routePrefix,
} from '../../src/kernel/ip.js'
import { describeRoute } from '../../src/lab/format.js'

const fixture = (name: string) => readFileSync(new URL(`../fixtures/ip/${name}`, import.meta.url), 'utf8')

describe('parseLinks', () => {
  test("a fresh namespace: only lo, administratively down, with no kind", () => {
    expect(parseLinks(fixture('links-fresh.json'))).toEqual([
      {
        index: 1,
        name: 'lo',
        kind: undefined,
        up: false,
        operState: 'DOWN',
        flags: ['LOOPBACK'],
        mtu: 65536,
        mac: '00:00:00:00:00:00',
      },
    ])
  })

  test('a bridge, its port (master, alias, peer in another namespace) and a veth pair inside one namespace', () => {
    const links = parseLinks(fixture('links-host.json'))
    expect(links.map((l) => [l.name, l.kind, l.up])).toEqual([
      ['lo', undefined, true],
      ['br0', 'bridge', true],
      ['br0p1', 'veth', true],
      ['v6b', 'veth', false],
      ['v6a', 'veth', false],
    ])
    expect(links[2]).toMatchObject({ master: 'br0', alias: 'port to ns2', operState: 'UP', peer: { index: 2, netnsId: 0 } })
    expect(links[1]!.peer).toBeUndefined()
    expect(links[1]!.master).toBeUndefined()
  })

  test("a veth whose peer is in the same namespace points at the peer by name (ip prints 'link', not 'link_index')", () => {
    const links = parseLinks(fixture('links-host.json'))
    expect(links.find((l) => l.name === 'v6a')?.peer).toEqual({ index: 4, name: 'v6b' })
    expect(links.find((l) => l.name === 'v6b')?.peer).toEqual({ index: 5, name: 'v6a' })
  })

  test('the peer end: MAC and MTU as set', () => {
    const [lo, eth0] = parseLinks(fixture('links-ns2.json'))
    expect(lo!.name).toBe('lo')
    expect(eth0).toMatchObject({ name: 'eth0', kind: 'veth', mac: 'ee:ee:ee:ee:ee:ee', mtu: 1400, peer: { index: 3, netnsId: 0 } })
  })

  test('empty output is no links; a JSON object that is not a list is no links', () => {
    expect(parseLinks('')).toEqual([])
    expect(parseLinks('  \n')).toEqual([])
    expect(parseLinks('{}')).toEqual([])
  })

  test('output that is not JSON is an error, not an empty list', () => {
    expect(() => parseLinks('1: lo: <LOOPBACK> mtu 65536')).toThrow(SyntaxError)
  })
})

describe('parseAddresses', () => {
  test('one record per address, with family, prefix, scope and flags', () => {
    const addrs = parseAddresses(fixture('addresses-ns2.json'))
    expect(addrs.map((a) => `${a.dev} ${a.cidr} ${a.scope} ${a.flags.join(',')}`)).toEqual([
      'lo 127.0.0.1/8 host ',
      'lo ::1/128 host ',
      'eth0 172.16.0.102/24 global ',
      'eth0 fd00:12::2/64 global nodad',
      'eth0 fe80::ecee:eeff:feee:eeee/64 link tentative',
    ])
    expect(addrs[3]).toMatchObject({ family: 6, address: 'fd00:12::2', prefixLength: 64 })
    expect(addrs[2]).toMatchObject({ family: 4, address: '172.16.0.102', prefixLength: 24 })
  })

  test('links without addresses contribute nothing', () => {
    const addrs = parseAddresses(fixture('addresses-host.json'))
    expect(addrs.some((a) => a.dev === 'v6a' || a.dev === 'v6b')).toBe(false)
    expect(addrs.filter((a) => a.dev === 'br0').map((a) => a.cidr)).toEqual([
      '172.16.0.100/24',
      'fd00:12::1/64',
      'fe80::ac1c:d9ff:fe05:3a8f/64',
    ])
  })

  test('a fresh namespace (lo down) has no addresses at all', () => {
    expect(parseAddresses(fixture('addresses-fresh.json'))).toEqual([])
  })
})

describe('parseRoutes', () => {
  test('IPv4, all tables: default, connected, another table with a metric, and the local table', () => {
    const routes = parseRoutes(fixture('routes4-ns2.json'), 4)
    expect(routes[0]).toEqual({ family: 4, dst: '10.9.0.0/16', table: '100', type: 'unicast', via: '172.16.0.100', dev: 'eth0', metric: 50, flags: [] })
    expect(routes[1]).toEqual({ family: 4, dst: 'default', table: 'main', type: 'unicast', via: '172.16.0.100', dev: 'eth0', flags: [] })
    expect(routes[2]).toMatchObject({ dst: '172.16.0.0/24', dev: 'eth0', src: '172.16.0.102', protocol: 'kernel', scope: 'link', table: 'main' })
    expect(routes[2]!.via).toBeUndefined()
    expect(routes.filter((r) => r.table === 'local').map((r) => `${r.type} ${r.dst}`)).toEqual([
      'local 127.0.0.0/8',
      'local 127.0.0.1/32',
      'broadcast 127.255.255.255/32',
      'local 172.16.0.102/32',
      'broadcast 172.16.0.255/32',
    ])
  })

  // `ip -j route` as printed by iproute2 6.1 (Debian 12) for a host route, a multipath route (IPv4 and IPv6), an
  // IPv4 route via an IPv6 gateway and a nexthop object.
  test('host routes carry their /32 and /128, multipath routes their nexthops, addresses their canonical form', () => {
    const v4 = parseRoutes(
      '[{"dst":"10.5.0.1","gateway":"10.0.0.2","dev":"eth0","flags":[]},' +
        '{"dst":"10.8.0.0/16","flags":[],"nexthops":[{"gateway":"10.0.0.2","dev":"eth0","weight":1,"flags":[]},{"gateway":"10.0.0.3","dev":"eth0","weight":3,"flags":["onlink"]}]},' +
        '{"dst":"10.7.0.0/16","via":{"family":"inet6","host":"FE80::1"},"dev":"eth0","flags":[]},' +
        '{"dst":"10.6.0.0/16","nhid":7,"gateway":"10.0.0.2","dev":"eth0","flags":[]}]',
      4,
    )
    expect(v4[0]).toEqual({ family: 4, dst: '10.5.0.1/32', table: 'main', type: 'unicast', via: '10.0.0.2', dev: 'eth0', flags: [] })
    expect(v4[1]).toEqual({
      family: 4,
      dst: '10.8.0.0/16',
      table: 'main',
      type: 'unicast',
      flags: [],
      nexthops: [
        { via: '10.0.0.2', dev: 'eth0', weight: 1, flags: [] },
        { via: '10.0.0.3', dev: 'eth0', weight: 3, flags: ['onlink'] },
      ],
    })
    expect(v4[2]).toMatchObject({ dst: '10.7.0.0/16', via: 'fe80::1' })
    expect(v4[3]).toMatchObject({ dst: '10.6.0.0/16', nhid: 7, via: '10.0.0.2' })
    const v6 = parseRoutes(
      '[{"dst":"fd05::1","gateway":"fd00::2","dev":"eth0","metric":1024,"flags":[],"pref":"medium"},' +
        '{"dst":"fd08::/64","metric":1024,"flags":[],"pref":"medium","nexthops":[{"gateway":"fd00::2","dev":"eth0","weight":1,"flags":[]},{"gateway":"fd01::2","dev":"eth1","weight":1,"flags":[]}]},' +
        '{"dst":"default","gateway":"fd00::2","dev":"eth0","prefsrc":"fd00::1","flags":[]}]',
    )
    expect(v6.map((r) => [r.family, r.dst])).toEqual([[6, 'fd05::1/128'], [6, 'fd08::/64'], [6, 'default']])
    expect(v6[1]!.nexthops!.map((n) => `${n.via} ${n.dev}`)).toEqual(['fd00::2 eth0', 'fd01::2 eth1'])
    expect(describeRoute(v4[0]!)).toBe('10.5.0.1 via 10.0.0.2 dev eth0')
    expect(describeRoute(v4[1]!)).toBe('10.8.0.0/16 nexthop via 10.0.0.2 dev eth0 weight 1 nexthop via 10.0.0.3 dev eth0 weight 3 onlink')
    expect(describeRoute(v6[0]!)).toBe('fd05::1 via fd00::2 dev eth0 metric 1024')
  })

  test('routePrefix and routeDestination: the one form of a destination', () => {
    expect(routePrefix('10.5.0.1', 4)).toBe('10.5.0.1/32')
    expect(routePrefix('FD05::0:1', 6)).toBe('fd05::1/128')
    expect(routePrefix('10.0.0.0/8', 4)).toBe('10.0.0.0/8')
    expect(routePrefix(undefined, 4)).toBe('default')
    expect(routePrefix('default', 6)).toBe('default')
    expect(routeDestination('10.5.0.1')).toEqual({ dst: '10.5.0.1/32', family: 4 })
    expect(routeDestination('10.5.0.1/32')).toEqual({ dst: '10.5.0.1/32', family: 4 })
    expect(routeDestination('10.5.3.1/16')).toEqual({ dst: '10.5.0.0/16', family: 4 })
    expect(routeDestination('FD05::1')).toEqual({ dst: 'fd05::1/128', family: 6 })
    expect(routeDestination('default')).toEqual({ dst: 'default' })
    expect(routeDestination('::/0')).toEqual({ dst: 'default', family: 6 })
    expect(routeDestination('0.0.0.0/0')).toEqual({ dst: 'default', family: 4 })
    expect(() => routeDestination('10.5.0.1/33')).toThrow(/prefix length 33/)
  })

  test('IPv6: gateway and metric; the family comes from the caller or from the addresses', () => {
    const routes = parseRoutes(fixture('routes6-ns2.json'), 6)
    expect(routes.find((r) => r.dst === 'fd00:99::/64')).toMatchObject({ family: 6, via: 'fd00:12::1', metric: 7, table: 'main' })
    expect(routes.every((r) => r.family === 6)).toBe(true)
    expect(parseRoutes(fixture('routes6-ns2.json')).every((r) => r.family === 6)).toBe(true)
    expect(parseRoutes(fixture('routes4-ns2.json')).every((r) => r.family === 4)).toBe(true)
  })
})

test('parseNeighbors: address, device, MAC and state', () => {
  expect(parseNeighbors(fixture('neighbors-ns2.json'))).toEqual([
    { dst: '172.16.0.100', dev: 'eth0', mac: '3e:f4:d9:fb:31:25', state: ['REACHABLE'], router: false },
    { dst: 'fd00:12::1', dev: 'eth0', mac: '3e:f4:d9:fb:31:25', state: ['REACHABLE'], router: false },
  ])
})

test('parseRouteDecision: via a gateway, and on a connected subnet', () => {
  expect(parseRouteDecision(fixture('route-get-ns2.json'))).toEqual({
    dst: '10.9.1.1',
    type: 'unicast',
    dev: 'eth0',
    gateway: '172.16.0.100',
    prefsrc: '172.16.0.102',
    table: 'main',
  })
  expect(parseRouteDecision(fixture('route-get-direct-ns2.json'))).toMatchObject({ dst: '172.16.0.100', gateway: undefined, dev: 'eth0' })
  expect(parseRouteDecision('')).toBeUndefined()
})

test('parseNetnsIds maps the ids a namespace uses for its peers to kernel names', () => {
  expect(parseNetnsIds(fixture('netns-list-id-ns2.json'))).toEqual(new Map([[0, 'rec2-host']]))
  expect(parseNetnsIds(fixture('netns-list-id-host.json'))).toEqual(new Map([[0, 'rec2-ns2']]))
})

test('parseNetnsList gives kernel names', () => {
  expect(parseNetnsList(fixture('netns-list.json'))).toEqual(['rec2-host', 'rec2-ns2'])
  expect(parseNetnsList('')).toEqual([])
})
