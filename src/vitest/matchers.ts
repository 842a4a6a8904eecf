// Vitest matchers over the assertion functions: each failure message is the function's own verdict and detail.
import { expect } from 'vitest'
import { isNetspecError } from '../errors.js'
import { natMaps, type NatMapsSpec } from '../assert/nat.js'
import { reachable, type ReachableOptions } from '../assert/reachable.js'
import { hasRoute, routeGet, type RouteGetSelectors, type RouteMatch } from '../assert/routes.js'
import type { TargetObject } from '../assert/target.js'
import { explain } from '../explain/explain.js'
import type { ReachabilityMatrix } from '../assert/matrix.js'
import { Namespace } from '../lab/namespace.js'
import { resolves, type ResolveOptions } from '../services/dns.js'
import { parseAddress } from '../lab/validate.js'
import { pollWithin, withinNote, withinOf, withoutWithin, type WithinOptions } from './within.js'

type Result = { pass: boolean; message: () => string }

function asNamespace(received: unknown, matcher: string): Namespace {
  if (received instanceof Namespace) return received
  throw new TypeError(`${matcher}: expected a lab namespace (from lab.namespace()), got ${String(received)}`)
}

expect.extend({
  async toReach(received: unknown, target: string | TargetObject, options: ReachableOptions & WithinOptions = {}): Promise<Result> {
    const from = asNamespace(received, 'toReach')
    const within = withinOf(options, 'toReach')
    const opts = withoutWithin(options) ?? {}
    const polled = await pollWithin(within, this.isNot !== true, async () => {
      const r = await reachable(from, target, { ...opts, expectFailure: this.isNot === true ? true : opts.expectFailure })
      return { pass: r.ok, r }
    })
    const r = polled.result.r
    // A failure the caller did not expect also gets the hop-by-hop walk of explain() (none for expected failures: fast).
    const walk = !r.ok && this.isNot !== true ? await explain(from, target).then(String, () => '') : ''
    const note = withinNote(polled, within, from)
    return {
      pass: r.ok,
      message: () =>
        r.ok
          ? `expected ${from.label} not to reach ${r.target}, but it did: ${r.detail}${note}`
          : `expected ${from.label} to reach ${r.target}: ${r.verdict}\n  ${r.detail}${walk === '' ? '' : `\n  path: ${walk.split('\n').join('\n        ')}`}${note}`,
    }
  },

  async toHaveRoute(received: unknown, destination: string, match: RouteMatch = {}, options?: WithinOptions): Promise<Result> {
    const ns = asNamespace(received, 'toHaveRoute')
    const within = withinOf(options, 'toHaveRoute')
    const polled = await pollWithin(within, this.isNot !== true, async () => {
      const r = await hasRoute(ns, destination, match)
      return { pass: r.ok, r }
    })
    const r = polled.result.r
    const note = withinNote(polled, within, ns)
    return { pass: r.ok, message: () => (r.ok ? `expected no such route, but ${r.detail}${note}` : `expected a route: ${r.detail}${note}`) }
  },

  async toRouteVia(
    received: unknown,
    address: string,
    expected: { dev?: string; gateway?: string },
    selectors: RouteGetSelectors = {},
    options?: WithinOptions,
  ): Promise<Result> {
    const ns = asNamespace(received, 'toRouteVia')
    const within = withinOf(options, 'toRouteVia')
    const polled = await pollWithin(within, this.isNot !== true, async () => {
      const r = await routeGet(ns, address, selectors)
      const d = r.decision
      const pass =
        r.ok &&
        d !== undefined &&
        (expected.dev === undefined || d.dev === expected.dev) &&
        (expected.gateway === undefined || d.gateway === expected.gateway)
      return { pass, r }
    })
    const { pass, r } = polled.result
    const note = withinNote(polled, within, ns)
    const want = [expected.gateway && `via ${expected.gateway}`, expected.dev && `out of ${expected.dev}`].filter(Boolean).join(' ')
    return { pass, message: () => (pass ? `expected ${ns.label} not to send ${address} ${want}, but ${r.detail}${note}` : `expected ${ns.label} to send ${address} ${want}, but ${r.detail}${note}`) }
  },

  async toResolve(
    received: unknown,
    name: string,
    expected?: string | readonly string[] | (ResolveOptions & WithinOptions),
    options?: ResolveOptions & WithinOptions,
  ): Promise<Result> {
    const ns = asNamespace(received, 'toResolve')
    const [want, opts] = typeof expected === 'object' && !Array.isArray(expected) ? [[], expected as ResolveOptions & WithinOptions] : [typeof expected === 'string' ? [expected] : ((expected ?? []) as readonly string[]), options]
    const wanted = want.map((a) => parseAddress(a).address)
    const within = withinOf(opts, 'toResolve')
    const polled = await pollWithin(within, this.isNot !== true, async () => {
      const r = await resolves(ns, name, withoutWithin(opts))
      return { pass: r.ok && wanted.every((a) => r.records.includes(a)), r }
    })
    const { pass, r } = polled.result
    const note = withinNote(polled, within, ns)
    const what = wanted.length === 0 ? name : `${name} to ${wanted.join(', ')}`
    return { pass, message: () => (pass ? `expected ${ns.label} not to resolve ${what}, but ${r.detail}${note}` : `expected ${ns.label} to resolve ${what}, but ${r.detail}${note}`) }
  },

  toMatchReachability(received: unknown, expected: readonly (readonly [string, string])[]): Result {
    const m = received as ReachabilityMatrix
    if (typeof m?.diff !== 'function') throw new TypeError(`toMatchReachability: expected the result of lab.reachability(), got ${String(received)}`)
    const diff = m.diff(expected)
    return {
      pass: diff.length === 0,
      message: () =>
        diff.length === 0
          ? `expected the reachability matrix to differ from the given pairs, but it matched:\n${m.table()}`
          : `reachability differs in ${diff.length} cell${diff.length === 1 ? '' : 's'}:\n  ${diff.join('\n  ')}`,
    }
  },

  async toMapNat(received: unknown, spec: Omit<NatMapsSpec, 'landsOn'> & { as: string }): Promise<Result> {
    const gw = asNamespace(received, 'toMapNat')
    const r = await natMaps(gw, spec)
    return { pass: r.ok, message: () => (r.ok ? `expected no such mapping, but ${r.detail}` : `expected ${gw.label} to map the source to ${spec.as}: ${r.detail}`) }
  },

  async toForward(received: unknown, spec: Omit<NatMapsSpec, 'as'> & { landsOn: readonly [Namespace, number] }): Promise<Result> {
    const gw = asNamespace(received, 'toForward')
    try {
      const r = await natMaps(gw, spec)
      return { pass: r.ok, message: () => (r.ok ? `expected no forwarding, but ${r.detail}` : `expected ${gw.label} to forward ${spec.to}: ${r.detail}`) }
    } catch (e) {
      if (isNetspecError(e)) return { pass: false, message: () => e.message }
      throw e
    }
  },
})

interface NetspecMatchers<R = unknown> {
  /**
   * The namespace reaches the target: ICMP ('10.0.0.2'), TCP ('tcp://10.0.0.2:80') or UDP ('udp://…').
   * `{ within: ms }` keeps probing until it does (or, with `.not`, until it no longer does).
   */
  toReach(target: string | TargetObject, options?: ReachableOptions & WithinOptions): Promise<R>
  /** A routing table entry for the destination matches every given field; `{ within: ms }` waits for it (or, with `.not`, for its withdrawal). */
  toHaveRoute(destination: string, match?: RouteMatch, options?: WithinOptions): Promise<R>
  /** The kernel's own decision (`ip route get`) for the address goes out of `dev` / via `gateway`; `{ within: ms }` waits for it. */
  toRouteVia(address: string, expected: { dev?: string; gateway?: string }, selectors?: RouteGetSelectors, options?: WithinOptions): Promise<R>
  /**
   * From inside the namespace, `name` resolves (through the resolv.conf its processes see) and, when given, to
   * these addresses (each among the answers): `toResolve('web.lab', '10.80.0.50')`. Options: `type`, `server`,
   * `timeoutMs`, `within`. See `resolves()` for the evidence.
   */
  toResolve(name: string, expected?: string | readonly string[] | (ResolveOptions & WithinOptions), options?: ResolveOptions & WithinOptions): Promise<R>
  /** A lab.reachability() matrix: exactly the listed [from, to] label pairs reply; only differing cells are printed. */
  toMatchReachability(expected: readonly (readonly [string, string])[]): R
  /** Source NAT through this gateway: the far side sees `as`. */
  toMapNat(spec: Omit<NatMapsSpec, 'landsOn'> & { as: string }): Promise<R>
  /** Port forward through this gateway: the connection lands on `landsOn`. */
  toForward(spec: Omit<NatMapsSpec, 'as'> & { landsOn: readonly [Namespace, number] }): Promise<R>
}

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Matchers<T = any> extends NetspecMatchers<T> {}
}
