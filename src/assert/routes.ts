// Routes: what the tables hold (hasRoute) and what the kernel decides for one packet (routeGet).
import { isIP } from 'node:net'
import { invalidInput, NetspecError } from '../errors.js'
import { routeDestination, routeGet as kernelRouteGet } from '../kernel/ip.js'
import type { Route, RouteDecision } from '../kernel/types.js'
import { describeRoute } from '../lab/format.js'
import type { Namespace } from '../lab/namespace.js'
import { checkIfName, checkKeys, parseAddress } from '../lab/validate.js'
import { decidedBy as describeDecision, findDecidingRoute, type DecidedBy } from './route-verdict.js'

export interface RouteMatch {
  via?: string
  dev?: string
  src?: string
  table?: string | number
  metric?: number
  proto?: string
  scope?: string
  /** 'unicast', 'blackhole', 'unreachable', 'prohibit', 'throw', … */
  type?: string
  /** The route's MTU metric. */
  mtu?: number
}

export interface HasRouteResult {
  ok: boolean
  /** The entries that matched. */
  matches: Route[]
  /** Entries for the same destination that did not match, for the message. */
  near: Route[]
  detail: string
}

const MATCH_KEYS = ['via', 'dev', 'src', 'table', 'metric', 'proto', 'scope', 'type', 'mtu'] as const

/**
 * Is there an entry for `destination` (any table, IPv4 or IPv6) matching every given field? A host address is its
 * /32 or /128 ('10.5.0.1' is '10.5.0.1/32', as the kernel holds it); addresses compare in canonical form; `via` and
 * `dev` match a multipath route when one of its nexthops has both.
 */
export async function hasRoute(ns: Namespace, destination: string, match: RouteMatch = {}): Promise<HasRouteResult> {
  checkKeys(match, MATCH_KEYS, 'hasRoute')
  const { dst, family } = routeDestination(destination)
  const via = match.via === undefined ? undefined : parseAddress(match.via).address
  const src = match.src === undefined ? undefined : parseAddress(match.src).address
  const routes = (await ns.routes()).filter((r) => r.table !== 'local')
  const same = routes.filter((r) => r.dst === dst && (family === undefined || r.family === family))
  const fits = (r: Route) =>
    pathsOf(r).some((p) => (via === undefined || p.via === via) && (match.dev === undefined || p.dev === match.dev)) &&
    (src === undefined || r.src === src) &&
    (match.table === undefined || r.table === String(match.table)) &&
    (match.metric === undefined || r.metric === match.metric) &&
    (match.proto === undefined || r.protocol === match.proto) &&
    (match.scope === undefined || r.scope === match.scope) &&
    (match.type === undefined || r.type === match.type) &&
    (match.mtu === undefined || r.mtu === match.mtu)
  const matches = same.filter(fits)
  const want = describeMatch(dst, match)
  const detail =
    matches.length > 0
      ? `${ns.label} has ${describeRoute(matches[0]!)}`
      : same.length > 0
        ? `${ns.label} has no route ${want}; for ${dst} it has: ${same.map(describeRoute).join('; ')}`
        : `${ns.label} has no route to ${dst} at all; its routes: ${routes.filter((r) => !r.dst.startsWith('fe80')).map(describeRoute).join('; ') || '(none)'}`
  return { ok: matches.length > 0, matches, near: matches.length > 0 ? [] : same, detail }
}

/** The ways a route sends packets: its nexthops, or its own gateway and device. */
export const pathsOf = (r: Route): { via?: string; dev?: string }[] => r.nexthops ?? [{ via: r.via, dev: r.dev }]

export interface RouteGetSelectors {
  from?: string
  iif?: string
  oif?: string
  mark?: number
}

export interface RouteGetResult {
  ok: boolean
  decision?: RouteDecision
  /** What the kernel said when it had no route (e.g. "Network is unreachable"). */
  error?: string
  /** Which route (and rule) decided, and its type: from the kernel's decision, or, when it refused, from the namespace's rules and routes. */
  decidedBy?: DecidedBy
  detail: string
}

/**
 * @internal The kernel's decision for one destination: over the lab's netlink socket where it has one (no
 * process), else `ip route get` (also whenever selectors are given).
 */
export async function routeDecision(ns: Namespace, address: string, selectors: readonly string[] = []): Promise<{ decision?: RouteDecision; error?: string }> {
  if (ns.lab.netlink !== undefined) {
    if (selectors.length === 0) return ns.lab.netlink.routeGet(ns.name, address)
    if (selectors.length === 2 && selectors[0] === 'from') return ns.lab.netlink.routeGet(ns.name, address, selectors[1])
  }
  return kernelRouteGet(ns.lab.executor, ns.name, address, [...selectors])
}

const REFUSING = ['unreachable', 'blackhole', 'prohibit', 'throw']

/**
 * @internal What a connecting socket gets (IPv4): a socket without a source has connect() look the route up twice
 * (ip4_route_connect): first without a source, which picks one (the decision's prefsrc), then again from that
 * source, and the second answer decides, so rules selecting on `from` apply. `src` says the second lookup was made;
 * `first` is the sourceless decision. (IPv6 picks the source inside its one lookup: `ip route get` already tells.)
 */
export async function connectDecision(ns: Namespace, address: string): Promise<{ decision?: RouteDecision; error?: string; src?: string; first?: RouteDecision }> {
  const first = await routeDecision(ns, address)
  const src = first.decision?.prefsrc
  if (first.decision === undefined || src === undefined || isIP(address) !== 4 || REFUSING.includes(first.decision.type)) return first
  return { ...(await routeDecision(ns, address, ['from', src])), src, first: first.decision }
}

/** Whether two decisions send the packet the same way (same route type, table, device and gateway). */
export function sameWay(a: RouteDecision, b: RouteDecision): boolean {
  return a.type === b.type && a.table === b.table && a.dev === b.dev && a.gateway === b.gateway
}

/** " (from 10.1.0.1, the source a connecting socket gets)" */
export const connectSource = (src: string) => ` (from ${src}, the source a connecting socket gets)`

/** The kernel's own forwarding decision for one destination (`ip route get`), with optional selectors. */
export async function routeGet(ns: Namespace, address: string, selectors: RouteGetSelectors = {}): Promise<RouteGetResult> {
  checkKeys(selectors, ['from', 'iif', 'oif', 'mark'], 'routeGet')
  const a = parseAddress(address)
  const sel: string[] = []
  if (selectors.from !== undefined) sel.push('from', parseAddress(selectors.from).address)
  // An interface selector names a device of this namespace: a misspelt one is a wrong question (the kernel answers
  // "Cannot find device"), never a routing verdict that a negative check would pass on.
  for (const key of ['iif', 'oif'] as const) {
    const dev = selectors[key]
    if (dev === undefined) continue
    checkIfName(dev, { namespace: ns.label, command: `routeGet(${key})` })
    sel.push(key, dev)
  }
  if (selectors.mark !== undefined) {
    if (!Number.isInteger(selectors.mark) || selectors.mark < 0 || selectors.mark > 0xffffffff) throw invalidInput(`routeGet: mark must be a whole number from 0 to 4294967295 (32 bits), got ${String(selectors.mark)}`)
    sel.push('mark', String(selectors.mark))
  }
  await ns.lab.settle()
  for (const key of ['iif', 'oif'] as const) {
    const dev = selectors[key]
    if (dev !== undefined && (await ns.link(dev)) === undefined)
      throw new NetspecError('invalid-input', `routeGet: ${ns.label} has no interface '${dev}' (${key})`, {
        namespace: ns.label,
        netns: ns.name,
        command: `ip route get ${address} ${sel.join(' ')}`,
        stderr: `Cannot find device "${dev}"`,
        hint: `its interfaces: ${(await ns.links()).map((l) => l.name).join(', ')}`,
      })
  }
  // Without selectors: what a connecting socket gets (asked again from the source the first lookup chose).
  const { decision, error, src, first } = sel.length === 0 ? await connectDecision(ns, a.address) : { ...(await routeDecision(ns, a.address, sel)), src: undefined, first: undefined }
  const differs = src !== undefined && (decision === undefined || first === undefined || !sameWay(first, decision))
  const withSel = sel.length > 0 ? ` (${sel.join(' ')})` : differs ? connectSource(src) : ''
  // The route that decided, from the namespace's rules and routes (the kernel names none when it refuses).
  const flow = { dst: a.address, src: selectors.from === undefined ? (differs ? src : undefined) : parseAddress(selectors.from).address, iif: selectors.iif, oif: selectors.oif, fwmark: selectors.mark }
  const by = describeDecision(await findDecidingRoute(ns, flow))
  if (decision === undefined) {
    const named = by.route !== undefined || by.rule !== undefined ? ` (decided by ${by.text})` : ''
    return { ok: false, error, decidedBy: by, detail: `${ns.label} has no route to ${a.address}${withSel}: ${error}${named}` }
  }
  const ok = !REFUSING.includes(decision.type)
  const sourceless = differs && first !== undefined ? `; without a source it would go ${first.gateway === undefined ? 'directly' : `via ${first.gateway}`}${first.dev === undefined ? '' : ` out of ${first.dev}`} (table ${first.table})` : ''
  return {
    ok,
    decision,
    decidedBy: by,
    detail: `${ns.label} sends ${a.address}${withSel} ${decision.gateway === undefined ? 'directly' : `via ${decision.gateway}`}${decision.dev === undefined ? '' : ` out of ${decision.dev}`}${decision.type === 'unicast' ? '' : ` (type ${decision.type})`}${by.route === undefined ? '' : `, by ${by.text}`}${sourceless}`,
  }
}

function describeMatch(dst: string, m: RouteMatch): string {
  const parts = [`to ${dst}`]
  for (const k of MATCH_KEYS) if (m[k] !== undefined) parts.push(`${k} ${m[k]}`)
  return parts.join(' ')
}
