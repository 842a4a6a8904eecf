// Input checks for route types, tables, MTUs and policy routing rules: pure, run before the kernel is touched.
// Every value that ends up in an `ip -batch` line or an `ip rule` argv is one plain token: no '#', quotes,
// backslashes, white space or a leading '-', and never one of ip's own keywords where a name is expected.
import { invalidInput, type NetspecErrorContext } from '../errors.js'
import type { Family } from '../kernel/types.js'
import { checkIfName, checkKeys, checkMtu, parseCidr, parseDestination } from './validate.js'
import { parseRouteTable } from '../values/names.js'

export const ROUTE_TYPES = ['unicast', 'blackhole', 'unreachable', 'prohibit', 'throw'] as const
export type RouteType = (typeof ROUTE_TYPES)[number]

export function checkRouteType(type: unknown, ctx: NetspecErrorContext = {}): RouteType {
  const t = ROUTE_TYPES.find((x) => x === type)
  if (t === undefined)
    throw invalidInput(`route type must be one of ${ROUTE_TYPES.join(', ')}, got ${JSON.stringify(type)}`, {
      ...ctx,
      hint: "'blackhole' discards silently, 'unreachable' and 'prohibit' refuse with an error, 'throw' continues with the next rule",
    })
  return t
}

/**
 * A routing table, as it goes into an `ip rule` argv: always the number (src/values: 1–4294967295, or 'main', 'local',
 * 'default'), never a name ip would read through the machine's /etc/iproute2/rt_tables; 'all' and 'unspec' are refused.
 */
export function checkTable(table: unknown, ctx: NetspecErrorContext = {}): string {
  return String(parseRouteTable(table, ctx))
}

export function checkPriority(priority: unknown, ctx: NetspecErrorContext = {}): number {
  if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 0 || priority > 0xffffffff)
    throw invalidInput(`rule priority must be a whole number from 0 to 4294967295, got ${JSON.stringify(priority)}`, ctx)
  return priority
}

/** A firewall mark: a number, or `{ value, mask }`; printed as ip takes it ('0x7' or '0x7/0xff'). */
export function checkFwmark(mark: unknown, ctx: NetspecErrorContext = {}): string {
  const u32 = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff
  if (u32(mark)) return `0x${(mark as number).toString(16)}`
  if (typeof mark === 'object' && mark !== null && !Array.isArray(mark)) {
    const m = checkKeys(mark as { value?: unknown; mask?: unknown }, ['value', 'mask'], 'fwmark', ctx)
    if (u32(m.value) && u32(m.mask)) return `0x${(m.value as number).toString(16)}/0x${(m.mask as number).toString(16)}`
  }
  throw invalidInput(`fwmark must be a whole number from 0 to 4294967295, or { value, mask }, got ${JSON.stringify(mark)}`, ctx)
}

/** A route's MTU metric: 68–65535, and at least 1280 for IPv6 (its minimum link MTU). */
export function checkRouteMtu(mtu: unknown, family: Family, ctx: NetspecErrorContext = {}): number {
  const m = checkMtu(mtu, ctx)
  if (family === 6 && m < 1280) throw invalidInput(`an IPv6 route's MTU must be at least 1280 (IPv6's minimum), got ${m}`, ctx)
  return m
}

export type RuleAction = 'lookup' | 'blackhole' | 'unreachable' | 'prohibit'

export interface RuleOptions {
  /** Source prefix or address ('10.0.0.2', '10.0.0.0/8'), or 'all'. */
  from?: string
  /** Destination prefix or address, or 'all'. */
  to?: string
  /** Incoming interface ('lo' matches locally generated packets). */
  iif?: string
  /** Outgoing interface (matches when the socket is bound to it). */
  oif?: string
  /** Firewall mark: `7`, or `{ value: 7, mask: 0xff }`. */
  fwmark?: number | { value: number; mask: number }
  /** The table to look up (action 'lookup', the default). */
  table?: number | string
  /** Lower runs first; without it the kernel picks one below the highest non-default priority. */
  priority?: number
  /** 'lookup' (default, with `table`), or refuse at once: 'blackhole', 'unreachable', 'prohibit'. */
  action?: RuleAction
  /** The family when neither `from` nor `to` says it (default 4). */
  family?: Family
}

const RULE_KEYS = ['from', 'to', 'iif', 'oif', 'fwmark', 'table', 'priority', 'action', 'family'] as const

/** A selector prefix: 'all' or a prefix/address, with its family. */
function selector(text: unknown, what: string, ctx: NetspecErrorContext): { text: string; family?: Family } {
  if (text === 'all') return { text: 'all' }
  if (text === 'default') throw invalidInput(`rule '${what}' takes a prefix or 'all', not 'default'`, ctx)
  const d = parseDestination(text, ctx)
  if (typeof text === 'string' && text.includes('/')) {
    const c = parseCidr(text, ctx)
    return { text: `${d.dst}`, family: c.family }
  }
  return { text: d.dst, family: d.family }
}

/**
 * The arguments after `ip -n NS` for `ip rule add|del`: a family flag, then selectors and the action.
 * `ip -batch` cannot carry `-6` per line and a rule without selectors is IPv4 there, so rules go as argv.
 */
export function ruleArgs(verb: 'add' | 'del', o: RuleOptions, ctx: NetspecErrorContext = {}): { family: Family; args: string[] } {
  checkKeys(o, RULE_KEYS, verb === 'add' ? 'ruleAdd' : 'ruleDel', ctx)
  const parts: string[] = []
  const families = new Set<Family>()
  if (o.family !== undefined) {
    if (o.family !== 4 && o.family !== 6) throw invalidInput(`rule family must be 4 or 6, got ${JSON.stringify(o.family)}`, ctx)
    families.add(o.family)
  }
  if (o.priority !== undefined) parts.push('priority', String(checkPriority(o.priority, ctx)))
  for (const key of ['from', 'to'] as const) {
    if (o[key] === undefined) continue
    const s = selector(o[key], key, ctx)
    if (s.family !== undefined) families.add(s.family)
    parts.push(key, s.text)
  }
  if (families.size > 1)
    throw invalidInput(`rule mixes IPv4 and IPv6 (${[o.family, o.from, o.to].filter((x) => x !== undefined).join(', ')})`, {
      ...ctx,
      hint: 'a rule belongs to one family: add one rule per family',
    })
  if (o.iif !== undefined) parts.push('iif', checkIfName(o.iif, ctx))
  if (o.oif !== undefined) parts.push('oif', checkIfName(o.oif, ctx))
  if (o.fwmark !== undefined) parts.push('fwmark', checkFwmark(o.fwmark, ctx))
  const action = o.action ?? 'lookup'
  if (!['lookup', 'blackhole', 'unreachable', 'prohibit'].includes(action))
    throw invalidInput(`rule action must be 'lookup', 'blackhole', 'unreachable' or 'prohibit', got ${JSON.stringify(action)}`, ctx)
  if (action === 'lookup') {
    if (o.table === undefined) {
      if (verb === 'add') throw invalidInput(`a rule that looks a table up needs 'table'`, { ...ctx, hint: "e.g. ruleAdd({ from: '10.0.0.2', table: 100 })" })
    } else parts.push('table', checkTable(o.table, ctx))
  } else {
    if (o.table !== undefined) throw invalidInput(`a '${action}' rule refuses at once and looks no table up: drop 'table'`, ctx)
    parts.push(action)
  }
  const family = [...families][0] ?? 4
  return { family, args: [family === 4 ? '-4' : '-6', 'rule', verb, ...parts] }
}
