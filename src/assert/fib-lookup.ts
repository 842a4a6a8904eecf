// Which route decides a packet, found the way the kernel finds it, from the namespace's own rules and
// routes. Needed because for a blackhole, unreachable or prohibit route the kernel answers the route query
// (even with fibmatch) with the errno alone, never with the route that matched. Pure: unit-tested without root.
//
// The model (net/core/fib_rules.c, net/ipv4/fib_rules.c, net/ipv6/fib6_rules.c): rules are tried by priority;
// a rule matches on family, from/to prefixes, iif ('lo' for locally generated packets), oif (only when the
// flow has one), fwmark under its mask, inverted by `not`. A 'lookup' rule asks its table: the longest prefix
// containing the destination wins, then the lowest metric; a 'throw' route, or no route at all, sends the
// lookup on to the next rule. 'blackhole', 'unreachable' and 'prohibit' rules refuse at once. No rule left:
// "Network is unreachable". Not modelled: uidrange, ipproto/ports, l3mdev, suppress_prefixlength, goto.
import { isIP } from 'node:net'
import type { Family, Route, Rule } from '../kernel/types.js'
import { toBits } from '../lab/validate.js'

/** The packet being routed. */
export interface Flow {
  dst: string
  /** Source address when the socket has one; undefined matches only rules 'from all' (the kernel's saddr 0). */
  src?: string
  /** Incoming interface; default 'lo' (a locally generated packet). */
  iif?: string
  /** Outgoing interface, when the socket is bound to one. */
  oif?: string
  fwmark?: number
}

export type LookupResult =
  /** A route in a table decided (of any type: unicast, local, blackhole, unreachable, prohibit, …). */
  | { kind: 'route'; route: Route; rule?: Rule; thrown: Route[] }
  /** A rule refused at once (action blackhole, unreachable, prohibit). */
  | { kind: 'rule'; rule: Rule; thrown: Route[] }
  /** Nothing matched: the kernel says "Network is unreachable". `thrown` are throw routes that sent it on. */
  | { kind: 'none'; thrown: Route[] }

function parsePrefix(text: string, family: Family): { bits: bigint; len: number } | undefined {
  const width = family === 4 ? 32 : 128
  if (text === 'default' || text === 'all') return { bits: 0n, len: 0 }
  const [address = '', l] = text.split('/')
  if (isIP(address) !== family) return undefined
  return { bits: toBits(address, family), len: l === undefined ? width : Number(l) }
}

function contains(prefix: { bits: bigint; len: number }, address: bigint, family: Family): boolean {
  const width = BigInt(family === 4 ? 32 : 128)
  const shift = width - BigInt(prefix.len)
  return prefix.len === 0 || address >> shift === prefix.bits >> shift
}

function addressBits(address: string | undefined, family: Family): bigint {
  return address === undefined ? 0n : toBits(address, family)
}

/** Does this rule select the flow? */
export function ruleMatches(rule: Rule, flow: Flow, family: Family): boolean {
  if (rule.family !== family) return false
  const from = parsePrefix(rule.from, family)
  const to = parsePrefix(rule.to, family)
  let m =
    from !== undefined &&
    to !== undefined &&
    contains(from, addressBits(flow.src, family), family) &&
    contains(to, addressBits(flow.dst, family), family) &&
    (rule.iif === undefined || rule.iif === (flow.iif ?? 'lo')) &&
    (rule.oif === undefined || rule.oif === flow.oif) &&
    (rule.fwmark === undefined || ((rule.fwmark ^ (flow.fwmark ?? 0)) & (rule.fwmask ?? 0xffffffff)) >>> 0 === 0)
  if (rule.not) m = !m
  return m
}

/** The route of one table the kernel picks: longest prefix containing dst, then the lowest metric. */
export function tableLookup(routes: readonly Route[], table: string, dst: string, family: Family): Route | undefined {
  const d = toBits(dst, family)
  let best: { r: Route; len: number } | undefined
  for (const r of routes) {
    if (r.family !== family || r.table !== table || r.flags.includes('dead')) continue
    const p = parsePrefix(r.dst, family)
    if (p === undefined || !contains(p, d, family)) continue
    if (best === undefined || p.len > best.len || (p.len === best.len && (r.metric ?? 0) < (best.r.metric ?? 0))) best = { r, len: p.len }
  }
  return best?.r
}

/** The kernel's default rules, for a namespace that has none listed (never happens with `ip -j rule`, but keeps the function total). */
const DEFAULT_RULES = (family: Family): Rule[] =>
  [
    [0, 'local'],
    [32766, 'main'],
    [32767, 'default'],
  ].map(([priority, table]) => ({ family, priority: priority as number, from: 'all', to: 'all', not: false, action: 'lookup', table: table as string }))

export function lookup(rules: readonly Rule[], routes: readonly Route[], flow: Flow): LookupResult {
  const family = isIP(flow.dst) as Family
  const mine = rules.filter((r) => r.family === family)
  // Equal priorities keep the order ip lists them in (the kernel's list order).
  const ordered = (mine.length > 0 ? mine : DEFAULT_RULES(family)).map((r, i) => [r, i] as const).sort((a, b) => a[0].priority - b[0].priority || a[1] - b[1])
  const thrown: Route[] = []
  for (const [rule] of ordered) {
    if (!ruleMatches(rule, flow, family)) continue
    if (rule.action === 'blackhole' || rule.action === 'unreachable' || rule.action === 'prohibit') return { kind: 'rule', rule, thrown }
    if (rule.action !== 'lookup' || rule.table === undefined) continue
    const route = tableLookup(routes, rule.table, flow.dst, family)
    if (route === undefined) continue
    if (route.type === 'throw') {
      thrown.push(route)
      continue
    }
    return { kind: 'route', route, rule, thrown }
  }
  return { kind: 'none', thrown }
}

/** The errno words the kernel gives for each refusing type, as `ip route get` prints them. */
export const REFUSALS: Record<string, string> = {
  blackhole: 'Invalid argument',
  unreachable: 'No route to host',
  prohibit: 'Permission denied',
}
