// The verdict when the kernel refuses a destination before anything is sent: which route (or rule) decided,
// found from the namespace's own rules and routes (fib-lookup.ts), since the kernel's answer is only an errno.
import type { Namespace } from '../lab/namespace.js'
import { describeRoute } from '../lab/format.js'
import type { Route, RouteDecision, Rule } from '../kernel/types.js'
import { lookup, type Flow, type LookupResult } from './fib-lookup.js'

export type RefusalVerdict = 'no-route' | 'blackholed' | 'unreachable' | 'prohibited'

/** What decided a destination: the route (with the rule that chose its table) or a refusing rule. */
export interface DecidedBy {
  route?: Route
  rule?: Rule
  /** Throw routes the lookup passed on its way (each sent it on to the next rule). */
  thrown: Route[]
  /** One phrase: "a blackhole route 192.0.2.0/24 (table main)". */
  text: string
}

const BY_TYPE: Record<string, RefusalVerdict> = { blackhole: 'blackholed', unreachable: 'unreachable', prohibit: 'prohibited' }
const BY_WORDS: Record<string, RefusalVerdict> = {
  'Invalid argument': 'blackholed',
  'No route to host': 'unreachable',
  'Permission denied': 'prohibited',
  'Network is unreachable': 'no-route',
}
const CONSEQUENCE: Record<RefusalVerdict, string> = {
  blackholed: 'the kernel discards the packet',
  unreachable: 'the kernel refuses with "No route to host"',
  prohibited: 'an administrative refusal: the kernel answers "Permission denied"',
  'no-route': 'no route matched',
}

/** A rule as `ip rule` prints it: "100: from all fwmark 0x7 lookup 100". */
export function describeRule(r: Rule): string {
  // A single address without its /32 or /128, as `ip rule` prints it.
  const host = (p: string) => p.replace(r.family === 4 ? /\/32$/ : /\/128$/, '')
  const parts = [`${r.priority}:`, ...(r.not ? ['not'] : []), `from ${host(r.from)}`]
  if (r.to !== 'all') parts.push(`to ${host(r.to)}`)
  if (r.iif !== undefined) parts.push(`iif ${r.iif}`)
  if (r.oif !== undefined) parts.push(`oif ${r.oif}`)
  if (r.fwmark !== undefined) parts.push(`fwmark 0x${r.fwmark.toString(16)}${r.fwmask === 0xffffffff ? '' : `/0x${(r.fwmask ?? 0).toString(16)}`}`)
  parts.push(r.action === 'lookup' ? `lookup ${r.table}` : r.action)
  return parts.join(' ')
}

const isDefaultRule = (r: Rule | undefined) =>
  r === undefined || (r.from === 'all' && r.to === 'all' && r.action === 'lookup' && r.iif === undefined && r.oif === undefined && r.fwmark === undefined && !r.not && ((r.priority === 0 && r.table === 'local') || (r.priority === 32766 && r.table === 'main') || (r.priority === 32767 && r.table === 'default')))

const article = (type: string) => (/^[aeiou]/.test(type) && !type.startsWith('uni') ? 'an' : 'a')

/** "a blackhole route 192.0.2.0/24 (table main)", naming the rule too when it is not one of the kernel's defaults. */
export function decidedBy(result: LookupResult): DecidedBy {
  const thrown = result.thrown
  if (result.kind === 'rule') return { rule: result.rule, thrown, text: `${article(result.rule.action)} ${result.rule.action} rule (${describeRule(result.rule)})` }
  if (result.kind === 'none') return { thrown, text: 'no route' }
  const r = result.route
  const via = isDefaultRule(result.rule) ? '' : `, chosen by rule ${describeRule(result.rule!)}`
  return { route: r, rule: result.rule, thrown, text: `${article(r.type)} ${r.type} route ${r.dst} (table ${r.table}${via})` }
}

/** "; the throw route 10.9.0.0/16 in table 100 sent the lookup on", or '' when no throw route was passed. */
export function thrownText(found: DecidedBy): string {
  return found.thrown.length === 0 ? '' : `; ${found.thrown.map((r) => `the throw route ${r.dst} in table ${r.table}`).join(' and ')} sent the lookup on`
}

/** Reads the namespace's rules and routes and finds what decides `flow`. */
export async function findDecidingRoute(ns: Namespace, flow: Flow): Promise<LookupResult> {
  const [rules, routes] = await Promise.all([ns.rules(), ns.routes()])
  return lookup(rules, routes, flow)
}

/**
 * The verdict for a destination the kernel refused at once (`error`, e.g. "Invalid argument"), or whose decision is a
 * refusing type. `noDefault` adds the old hint for a plain no-route ("no IPv4 default route; main table lookup failed").
 */
export async function refusalVerdict(
  ns: Namespace,
  flow: Flow,
  decision: RouteDecision | undefined,
  error: string | undefined,
  noDefault: () => Promise<string>,
  mayHaveThrown: () => Promise<boolean> = async () => true,
): Promise<{ verdict: RefusalVerdict; detail: string; decidedBy: DecidedBy }> {
  // The common "no route" needs no lookup (reading rules and routes costs processes): only a throw route would add to it.
  if (error === 'Network is unreachable' && !(await mayHaveThrown()))
    return { verdict: 'no-route', detail: `${ns.label} has no route to ${flow.dst}: ip route get says "${error}"${await noDefault()}`, decidedBy: { thrown: [], text: 'no route' } }
  const found = decidedBy(await findDecidingRoute(ns, flow))
  const type = found.route?.type ?? found.rule?.action
  const said = error ?? `route type ${decision?.type}`
  const fromModel = type === undefined ? 'no-route' : BY_TYPE[type]
  const fromKernel = error === undefined ? BY_TYPE[decision?.type ?? ''] : BY_WORDS[error]
  const verdict = fromKernel ?? fromModel ?? 'no-route'
  const thrown = thrownText(found)
  if (fromModel !== verdict) {
    // The model and the kernel disagree (a selector it does not model): say what the kernel said, and what was found.
    const detail = `${ns.label} has no usable route to ${flow.dst}: ip route get says "${said}"${verdict === 'no-route' ? await noDefault() : ''} (its rules and routes point to ${found.text})${thrown}`
    return { verdict, detail, decidedBy: found }
  }
  if (verdict === 'no-route')
    return { verdict, detail: `${ns.label} has no route to ${flow.dst}: ip route get says "${said}"${await noDefault()}${thrown}${thrown === '' ? '' : ', and no later rule\'s table has a route'}`, decidedBy: found }
  const owner = found.rule !== undefined && found.route === undefined ? `${ns.label}'s ${found.text.replace(/^an? /, '')}` : `${ns.label} has ${found.text}`
  return { verdict, detail: `${owner}: ${CONSEQUENCE[verdict]}${thrown}`, decidedBy: found }
}

/**
 * A router on the way refused the destination with a typed route or rule: a blackhole there is silence here, an
 * unreachable route comes back as ICMP "Host Unreachable" (which looks like a neighbour that never answered), a
 * prohibit route as "Packet filtered" (which looks like a firewall). `router` is the next hop or the sender of the
 * ICMP error; the router's own kernel is asked (`ip route get … from SRC iif DEV`, as for a forwarded packet) and,
 * if it refuses, the route that decided is named.
 */
export async function refusedByRouter(
  from: Namespace,
  target: string,
  router: string,
  src: string | undefined,
): Promise<{ verdict: Exclude<RefusalVerdict, 'no-route'>; detail: string; decidedBy: DecidedBy; router: string } | undefined> {
  const { namespaceOwning } = await import('./owners.js')
  const owner = await namespaceOwning(from.lab.namespaces.filter((n) => n !== from), router)
  if (owner === undefined) return undefined
  const iif = (await owner.addresses()).find((a) => a.address === router)?.dev
  const { routeDecision } = await import('./routes.js')
  const selectors = [...(src === undefined ? [] : ['from', src]), ...(iif === undefined || src === undefined ? [] : ['iif', iif])]
  const { decision, error } = await routeDecision(owner, target, selectors)
  const verdict = error === undefined ? BY_TYPE[decision?.type ?? ''] : BY_WORDS[error]
  if (verdict === undefined || verdict === 'no-route') return undefined
  const found = decidedBy(await findDecidingRoute(owner, { dst: target, src, iif }))
  // A forwarded packet is refused with the same errno for other reasons (forwarding off: EHOSTUNREACH, reverse-path
  // filter: EXDEV…): name a route type only where the router's own routes or rules hold one that decides.
  const typed = found.rule !== undefined && found.route === undefined ? BY_TYPE[found.rule.action] : BY_TYPE[found.route?.type ?? '']
  if (typed !== verdict) return undefined
  const what = found.text
  const consequence = verdict === 'blackholed' ? 'it discards the packet, and nothing comes back' : CONSEQUENCE[verdict].replace('the kernel', 'its kernel')
  return { verdict, detail: `router ${owner.label} (${router}) has ${what}: ${consequence}`, decidedBy: found, router: owner.label }
}
