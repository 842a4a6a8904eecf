// How Namespace verbs render `ip` lines, and what they refuse before any process starts.
import { describe, expect, test } from 'vitest'
import { checkAlias, linkSetLines, routeLine } from '../../src/lab/namespace.js'
import { routeDelLine } from '../../src/lab/route-del.js'

const ctx = { namespace: 'ns2' }

describe('routeDelLine: only what selects the route (the prefix alone is enough, as for ip route del)', () => {
  test.each([
    ['10.8.0.0/16', {}, '10.8.0.0/16'],
    ['10.8.3.0/16', {}, '10.8.0.0/16'],
    ['fd08::/64', {}, 'fd08::/64'],
    ['default', {}, 'default'],
    ['default', { via: 'FD00::1' }, '::/0 via fd00::1'],
    ['10.5.0.1', { dev: 'eth0' }, '10.5.0.1 dev eth0'],
    ['192.0.2.0/24', { type: 'blackhole' }, 'blackhole 192.0.2.0/24'],
    ['10.9.0.0/16', { via: '10.0.0.2', dev: 'eth0', src: '10.0.0.1', metric: 5, table: 100 }, '10.9.0.0/16 via 10.0.0.2 dev eth0 src 10.0.0.1 metric 5 table 100'],
  ] as const)('%s %j → %s', (dst, options, line) => {
    expect(routeDelLine(dst, options, ctx)).toBe(line)
  })

  test.each([
    ['10.8.0.0/16', { mtu: 1400 }, /unknown option 'mtu' for routeDel/],
    ['10.8.0.0/16', { onlink: true }, /unknown option 'onlink'/],
    ['10.8.0.0/16', { via: 'fd00::1' }, /cannot have via fd00::1/],
    ['fd08::/64', { src: '10.0.0.1' }, /cannot have src 10\.0\.0\.1/],
    ['10.8.0.0/16', { dev: '-x' }, /./],
    ['10.8.0.0/16', { table: 'all' }, /./],
    ['10.8.0.0/16', { type: 'local' }, /route type must be one of/],
    ['10.8.0.0/16', { metric: -1 }, /metric must be a whole number/],
    ['10.8.0.0/16 #', {}, /./],
  ] as const)('%s %j is refused', (dst, options, message) => {
    expect(() => routeDelLine(dst, options as never, ctx)).toThrow(message)
  })
})

describe('routeLine', () => {
  test.each([
    ['default', { via: '172.16.0.100' }, 'default via 172.16.0.100'],
    ['default', { via: 'fd00::1' }, '::/0 via fd00::1'],
    ['10.0.1.7/24', { via: '172.16.0.100', metric: 10 }, '10.0.1.0/24 via 172.16.0.100 metric 10'],
    ['10.0.2.0/24', { dev: 'eth0' }, '10.0.2.0/24 dev eth0'],
    ['10.0.2.9', { dev: 'eth0', src: '10.0.2.1' }, '10.0.2.9 dev eth0 src 10.0.2.1'],
    ['10.9.0.0/16', { via: '172.16.0.100', table: 100 }, '10.9.0.0/16 via 172.16.0.100 table 100'],
    ['default', { via: '192.0.2.1', dev: 'eth0', onlink: true }, 'default via 192.0.2.1 dev eth0 onlink'],
    ['FD00:99::/64', { via: 'fd00:12::1' }, 'fd00:99::/64 via fd00:12::1'],
  ] as const)('%s %j → %s', (dst, options, line) => {
    expect(routeLine(dst, options, ctx)).toBe(line)
  })

  test.each([
    ['default', {}, /needs 'via' \(a gateway\) or 'dev'/],
    ['10.0.0.0/8', { via: 'fd00::1' }, /cannot go via fd00::1 \(IPv6\)/],
    ['10.0.0.0/33', { dev: 'eth0' }, /prefix length 33/],
    ['10.0.0.0/8', { via: '10.0.0.1/24' }, /not an IP address/],
    ['10.0.0.0/8', { dev: 'eth0', metric: -1 }, /metric must be a whole number/],
    ['10.0.0.0/8', { dev: 'eth0', metric: 2 ** 32 }, /metric must be a whole number from 0 to 4294967295/],
    ['10.0.0.0/8', { dev: 'eth0', src: 'fd00::1' }, /cannot have source fd00::1 \(IPv6\)/],
    ['10.0.0.0/8', { dev: 'eth0', table: 'main; reboot' }, /not a number or a name/],
    ['10.0.0.0/8', { dev: 'a-very-long-ifname' }, /IFNAMSIZ/],
    ['10.0.0.0/8', { gateway: '10.0.0.1' }, /unknown option 'gateway'/],
  ] as const)('rejects %s %j', (dst, options, why) => {
    expect(() => routeLine(dst, options as never, ctx)).toThrow(why)
  })
})

describe('linkSetLines', () => {
  test('renders each option as its own line, up last, then one read-back', () => {
    expect(linkSetLines('veth1', { up: true, mtu: 1400, mac: 'EE:EE:EE:EE:EE:EE', alias: 'to ns2' }, ctx)).toEqual([
      'link set dev veth1 address ee:ee:ee:ee:ee:ee',
      'link set dev veth1 mtu 1400',
      'link set dev veth1 alias "to ns2"',
      'link set dev veth1 up',
      'link show dev veth1', // forces the kernel's deferred carrier step before traffic flows
    ])
    expect(linkSetLines('lo', { up: false }, ctx)).toEqual(['link set dev lo down'])
    expect(linkSetLines('lo', {}, ctx)).toEqual([])
  })

  test.each([
    [{ mtu: 67 }, /MTU must be a whole number from 68 to 65535/],
    [{ mtu: 1500.5 }, /MTU/],
    [{ mac: '01:00:5e:00:00:01' }, /multicast MAC/],
    [{ mac: 'ee:ee:ee:ee:ee' }, /not a MAC address/],
    [{ alias: `it's "hi"` }, /alias must be 1–255 bytes/],
    [{ alias: '' }, /alias/],
    [{ alias: 'port #1' }, /'#'/],
  ] as const)('rejects %j', (options, why) => {
    expect(() => linkSetLines('veth1', options as never, ctx)).toThrow(why)
  })
})

test('checkAlias quotes for ip -batch and refuses what would break the line', () => {
  expect(checkAlias('port to ns2', ctx)).toBe('"port to ns2"')
  expect(() => checkAlias('a\nlink del lo', ctx)).toThrow(/newlines/)
  expect(() => checkAlias('x'.repeat(256), ctx)).toThrow(/1–255/)
  expect(checkAlias('say "hi"', ctx)).toBe(`'say "hi"'`)
})
