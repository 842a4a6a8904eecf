// The route lookup model (src/assert/fib-lookup.ts) and the rule/route readers and checks it relies on, without
// root: rules and routes as `ip -j` prints them (outputs captured from this kernel), and the lines netspec writes.
import { describe, expect, test } from 'vitest'
import { lookup, ruleMatches, tableLookup } from '../../src/assert/fib-lookup.js'
import { decidedBy, describeRule } from '../../src/assert/route-verdict.js'
import { parseRoutes, parseRouteDecision } from '../../src/kernel/ip.js'
import { parseRules } from '../../src/kernel/rules.js'
import * as nl from '../../src/kernel/netlink/codec.js'
import { parseLine } from '../../src/kernel/netlink/engine.js'
import { routeLine } from '../../src/lab/namespace.js'
import { checkFwmark, checkTable, ruleArgs } from '../../src/lab/rules-validate.js'

// `ip -j -4 rule` after: from 10.0.0.0/8 to 192.0.2.0/24 iif lo fwmark 0x7/0xff priority 100 table 100;
// oif v0 priority 101 blackhole; fwmark 3 prohibit (99); not from 10.1.0.0/16 lookup 7 (98).
const RULES4 = `[{"priority":0,"src":"all","table":"local"},{"priority":98,"not":null,"src":"10.1.0.0","srclen":16,"table":"7"},{"priority":99,"src":"all","fwmark":"0x3","action":"prohibit"},{"priority":100,"src":"10.0.0.0","srclen":8,"dst":"192.0.2.0","dstlen":24,"fwmark":"0x7","fwmask":"0xff","iif":"lo","table":"100"},{"priority":101,"src":"all","oif":"v0","action":"blackhole"},{"priority":32766,"src":"all","table":"main"},{"priority":32767,"src":"all","table":"default"}]`
const ROUTES4 = `[{"type":"throw","dst":"10.9.0.0/16","table":"100","flags":[]},{"type":"unreachable","dst":"198.51.100.0/24","table":"100","flags":[]},{"dst":"10.0.0.0/24","dev":"v0","protocol":"kernel","scope":"link","prefsrc":"10.0.0.1","flags":[]},{"dst":"10.8.0.0/16","gateway":"10.0.0.2","dev":"v0","flags":[],"metrics":[{"mtu":1400}]},{"type":"blackhole","dst":"192.0.2.0/24","flags":[]},{"type":"prohibit","dst":"203.0.113.0/24","metric":5,"flags":[]},{"type":"local","dst":"10.0.0.1","dev":"v0","table":"local","protocol":"kernel","scope":"host","prefsrc":"10.0.0.1","flags":[]}]`

describe('ip -j rule', () => {
  test('every selector and action is read back', () => {
    const rules = parseRules(RULES4, 4)
    expect(rules.map(describeRule)).toEqual([
      '0: from all lookup local',
      '98: not from 10.1.0.0/16 lookup 7',
      '99: from all fwmark 0x3 prohibit',
      '100: from 10.0.0.0/8 to 192.0.2.0/24 iif lo fwmark 0x7/0xff lookup 100',
      '101: from all oif v0 blackhole',
      '32766: from all lookup main',
      '32767: from all lookup default',
    ])
    expect(rules[3]).toEqual({ family: 4, priority: 100, from: '10.0.0.0/8', to: '192.0.2.0/24', iif: 'lo', fwmark: 7, fwmask: 0xff, not: false, action: 'lookup', table: '100' })
  })
})

describe('lookup', () => {
  const rules = parseRules(RULES4, 4).filter((r) => r.priority !== 98) // the `not` rule would catch everything here
  const routes = parseRoutes(ROUTES4, 4)
  test('longest prefix, then metric', () => {
    const r = parseRoutes(`[{"dst":"10.0.0.0/8","gateway":"1.1.1.1","metric":5,"flags":[]},{"dst":"10.0.0.0/16","gateway":"1.1.1.2","metric":9,"flags":[]},{"dst":"10.0.0.0/16","gateway":"1.1.1.3","metric":7,"flags":[]},{"dst":"default","gateway":"1.1.1.4","flags":[]}]`, 4)
    expect(tableLookup(r, 'main', '10.0.3.4', 4)?.via).toBe('1.1.1.3')
    expect(tableLookup(r, 'main', '10.1.3.4', 4)?.via).toBe('1.1.1.1')
    expect(tableLookup(r, 'main', '192.0.2.1', 4)?.via).toBe('1.1.1.4')
    expect(tableLookup(r, '100', '192.0.2.1', 4)).toBeUndefined()
  })
  test('a blackhole route in main decides, named with its table', () => {
    const res = lookup(rules, routes, { dst: '192.0.2.1' })
    expect(res).toMatchObject({ kind: 'route', route: { type: 'blackhole', dst: '192.0.2.0/24', table: 'main' } })
    expect(decidedBy(res).text).toBe('a blackhole route 192.0.2.0/24 (table main)')
  })
  test('rule selectors: the fwmark rule picks table 100 only for its mark, source and destination', () => {
    const flow = { dst: '192.0.2.1', src: '10.0.0.1', fwmark: 0x107 }
    expect(lookup(rules, routes, flow)).toMatchObject({ kind: 'route', route: { type: 'blackhole' }, rule: { priority: 32766 } }) // table 100 has no route there: on to main
    expect(ruleMatches(rules[2]!, flow, 4)).toBe(true) // 0x107 & 0xff == 7
    expect(ruleMatches(rules[2]!, { ...flow, fwmark: 8 }, 4)).toBe(false)
    expect(ruleMatches(rules[2]!, { ...flow, src: undefined }, 4)).toBe(false) // saddr 0 is not in 10.0.0.0/8
    expect(ruleMatches(rules[2]!, { ...flow, iif: 'eth0' }, 4)).toBe(false)
  })
  test('refusing rules and oif', () => {
    expect(lookup(rules, routes, { dst: '10.8.1.1', fwmark: 3 })).toMatchObject({ kind: 'rule', rule: { action: 'prohibit', priority: 99 } })
    expect(lookup(rules, routes, { dst: '10.8.1.1', oif: 'v0' })).toMatchObject({ kind: 'rule', rule: { action: 'blackhole' } })
    expect(lookup(rules, routes, { dst: '10.8.1.1' })).toMatchObject({ kind: 'route', route: { via: '10.0.0.2', mtu: 1400 } })
  })
  test('a throw route sends the lookup on to the next rule; nothing left is "none"', () => {
    const r = parseRules(`[{"priority":0,"src":"all","table":"local"},{"priority":10,"src":"all","table":"100"},{"priority":32766,"src":"all","table":"main"}]`, 4)
    expect(lookup(r, routes, { dst: '10.9.1.1' })).toMatchObject({ kind: 'none', thrown: [{ dst: '10.9.0.0/16', type: 'throw' }] })
    expect(lookup(r, routes, { dst: '198.51.100.7' })).toMatchObject({ kind: 'route', route: { type: 'unreachable', table: '100' } })
    const withMain = [...routes, ...parseRoutes(`[{"dst":"10.9.0.0/16","gateway":"10.0.0.3","flags":[]}]`, 4)]
    expect(lookup(r, withMain, { dst: '10.9.1.1' })).toMatchObject({ kind: 'route', route: { via: '10.0.0.3' }, thrown: [{ type: 'throw' }] })
  })
  test('`not` inverts a rule', () => {
    const all = parseRules(RULES4, 4)
    expect(lookup(all, routes, { dst: '192.0.2.1', src: '10.1.2.3' })).toMatchObject({ kind: 'route', route: { type: 'blackhole' } })
    expect(ruleMatches(all[1]!, { dst: '192.0.2.1', src: '10.1.2.3' }, 4)).toBe(false)
    expect(ruleMatches(all[1]!, { dst: '192.0.2.1', src: '10.2.2.3' }, 4)).toBe(true)
    const seven = parseRoutes(`[{"dst":"192.0.2.0/25","gateway":"10.0.0.7","table":"7","flags":[]}]`, 4)
    expect(lookup(all, [...routes, ...seven], { dst: '192.0.2.1', src: '10.2.2.3' })).toMatchObject({ kind: 'route', rule: { priority: 98 }, route: { via: '10.0.0.7' } })
    expect(lookup(all, [...routes, ...seven], { dst: '192.0.2.1', src: '10.1.2.3' })).toMatchObject({ kind: 'route', route: { type: 'blackhole' } })
  })
  test('IPv6', () => {
    const routes6 = parseRoutes(`[{"type":"blackhole","dst":"fd66::/64","dev":"lo","metric":1024,"flags":[],"pref":"medium"},{"dst":"fd00::/64","dev":"v0","metric":256,"flags":[]}]`, 6)
    const rules6 = parseRules(`[{"priority":0,"src":"all","table":"local"},{"priority":32766,"src":"all","table":"main"}]`, 6)
    expect(lookup(rules6, routes6, { dst: 'fd66::1' })).toMatchObject({ kind: 'route', route: { type: 'blackhole' } })
    expect(lookup(rules6, routes6, { dst: 'fd00::9' })).toMatchObject({ kind: 'route', route: { dev: 'v0' } })
    expect(lookup(rules6, routes6, { dst: 'fd77::1' })).toMatchObject({ kind: 'none' })
  })
})

describe('route types and MTU on both paths', () => {
  const ctx = {}
  test.each([
    ['192.0.2.0/24', { type: 'blackhole' }, 'blackhole 192.0.2.0/24'],
    ['198.51.100.0/24', { type: 'unreachable', table: 100, metric: 5 }, 'unreachable 198.51.100.0/24 metric 5 table 100'],
    ['fd66::/64', { type: 'prohibit' }, 'prohibit fd66::/64'],
    ['10.9.0.0/16', { type: 'throw', table: 'main' }, 'throw 10.9.0.0/16 table 254'],
    ['10.8.0.0/16', { via: '10.0.0.2', mtu: 1400 }, '10.8.0.0/16 via 10.0.0.2 mtu 1400'],
  ] as const)('%s %j → %s, which the netlink engine takes', (dst, o, line) => {
    expect(routeLine(dst, o as never, ctx)).toBe(line)
    expect(parseLine(`route add ${line}`)).toBeDefined()
  })
  test.each([
    ['192.0.2.0/24', { type: 'blackhole', via: '10.0.0.1' }, /takes no 'via'/],
    ['192.0.2.0/24', { type: 'black-hole' }, /route type must be one of/],
    ['fd00::/64', { dev: 'eth0', mtu: 1200 }, /at least 1280/],
    ['10.0.0.0/8', { dev: 'eth0', mtu: 40 }, /MTU must be a whole number/],
    ['10.0.0.0/8', { dev: 'eth0', table: 'all' }, /not a number or a name netspec knows/],
    ['10.0.0.0/8', { dev: 'eth0', table: '-1' }, /not a number or a name/],
    ['10.0.0.0/8', { dev: 'eth0', table: 0 }, /from 1 to 4294967295/],
    ['10.0.0.0/8', { dev: 'eth0', table: 'x#y' }, /not a number or a name/],
  ] as const)('refuses %s %j', (dst, o, why) => {
    expect(() => routeLine(dst, o as never, ctx)).toThrow(why)
  })
  test('the request carries the type, universe scope, and RTA_METRICS/RTAX_MTU', () => {
    const m = nl.route(1, true, { family: 4, dst: { address: '192.0.2.0', prefixLength: 24 }, table: 254, onlink: false, type: nl.RTN_BLACKHOLE })
    expect(m.readUInt8(16 + 7)).toBe(6) // rtm_type
    expect(m.readUInt8(16 + 6)).toBe(0) // RT_SCOPE_UNIVERSE
    const withMtu = nl.route(1, true, { family: 4, dst: { address: '10.8.0.0', prefixLength: 16 }, gateway: '10.0.0.2', table: 254, onlink: false, mtu: 1400 })
    const attrs = nl.decodeAttrs(withMtu, 16 + 12)
    expect(nl.decodeAttrs(attrs.get(nl.RTA.METRICS)!).get(2)!.readUInt32LE(0)).toBe(1400)
    expect(nl.decodeRoute(withMtu.subarray(16)).mtu).toBe(1400)
  })
  test('ip -j route get: the route MTU and a learned path MTU', () => {
    expect(parseRouteDecision(`[{"dst":"10.8.1.1","gateway":"10.0.0.2","dev":"v0","prefsrc":"10.0.0.1","flags":[],"uid":0,"cache":[],"metrics":[{"mtu":1400}]}]`)).toMatchObject({ mtu: 1400 })
  })
})

describe('rules as argv', () => {
  test.each([
    [{ from: '10.0.0.2', table: 100 }, ['-4', 'rule', 'add', 'from', '10.0.0.2', 'table', '100']],
    [{ to: 'fd00::/8', fwmark: { value: 7, mask: 0xff }, priority: 5, table: 'main' }, ['-6', 'rule', 'add', 'priority', '5', 'to', 'fd00::/8', 'fwmark', '0x7/0xff', 'table', '254']],
    [{ family: 6, table: 100 }, ['-6', 'rule', 'add', 'table', '100']],
    [{ iif: 'eth0', oif: 'eth1', action: 'prohibit' }, ['-4', 'rule', 'add', 'iif', 'eth0', 'oif', 'eth1', 'prohibit']],
  ] as const)('%j', (o, argv) => {
    expect(ruleArgs('add', o as never).args).toEqual(argv)
  })
  test.each([
    [{ from: '10.0.0.2' }, /needs 'table'/],
    [{ from: '10.0.0.2', to: 'fd00::1', table: 1 }, /mixes IPv4 and IPv6/],
    [{ table: 100, action: 'blackhole' }, /drop 'table'/],
    [{ table: 'unspec' }, /not a number or a name netspec knows/],
    [{ table: 100, iif: 'eth0 lookup' }, /not allowed/],
    [{ table: 100, fwmark: -1 }, /fwmark must be/],
    [{ table: 100, priority: 1.5 }, /priority must be/],
    [{ table: 100, from: 'default' }, /not 'default'/],
    [{ table: 100, lookup: 5 }, /unknown option 'lookup'/],
  ] as const)('refuses %j', (o, why) => {
    expect(() => ruleArgs('add', o as never)).toThrow(why)
  })
  test('tables and marks print as one plain token', () => {
    expect(checkTable('100')).toBe('100')
    expect(checkFwmark(255)).toBe('0xff')
    for (const bad of ['', ' ', 'a b', 'a\nb', '"x"', '\\x', '-x', 'x'.repeat(40), 'ünï']) expect(() => checkTable(bad), bad).toThrow()
  })
})
