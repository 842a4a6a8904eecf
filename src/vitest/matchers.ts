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
import { isDropped, wantsDrop, type DropExpectation } from '../drops/expect.js'

type Result = { pass: boolean; message: () => string }

function asNamespace(received: unknown, matcher: string): Namespace {
  if (received instanceof Namespace) return received
  throw new TypeError(`${matcher}: expected a lab namespace (from lab.namespace()), got ${String(received)}`)
}

expect.extend({
  async toReach(received: unknown, target: string | TargetObject, options: ReachableOptions = {}): Promise<Result> {
    const from = asNamespace(received, 'toReach')
    if (wantsDrop(options)) return toReachDropped(this.isNot === true, from, target, options as DropExpectation)
    const r = await reachable(from, target, { ...options, expectFailure: this.isNot === true ? true : options.expectFailure })
    // A failure the caller did not expect also gets the hop-by-hop walk of explain() (none for expected failures: fast).
    const walk = !r.ok && this.isNot !== true ? await explain(from, target).then(String, () => '') : ''
    return {
      pass: r.ok,
      message: () =>
        r.ok
          ? `expected ${from.label} not to reach ${r.target}, but it did: ${r.detail}`
          : `expected ${from.label} to reach ${r.target}: ${r.verdict}\n  ${r.detail}${walk === '' ? '' : `\n  path: ${walk.split('\n').join('\n        ')}`}`,
    }
  },

  async toHaveRoute(received: unknown, destination: string, match: RouteMatch = {}): Promise<Result> {
    const ns = asNamespace(received, 'toHaveRoute')
    const r = await hasRoute(ns, destination, match)
    return { pass: r.ok, message: () => (r.ok ? `expected no such route, but ${r.detail}` : `expected a route: ${r.detail}`) }
  },

  async toRouteVia(
    received: unknown,
    address: string,
    expected: { dev?: string; gateway?: string },
    selectors: RouteGetSelectors = {},
  ): Promise<Result> {
    const ns = asNamespace(received, 'toRouteVia')
    const r = await routeGet(ns, address, selectors)
    const d = r.decision
    const pass =
      r.ok &&
      d !== undefined &&
      (expected.dev === undefined || d.dev === expected.dev) &&
      (expected.gateway === undefined || d.gateway === expected.gateway)
    const want = [expected.gateway && `via ${expected.gateway}`, expected.dev && `out of ${expected.dev}`].filter(Boolean).join(' ')
    return { pass, message: () => (pass ? `expected ${ns.label} not to send ${address} ${want}, but ${r.detail}` : `expected ${ns.label} to send ${address} ${want}, but ${r.detail}`) }
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

// `.not.toReach(target, { droppedIn, reason })`: not reached, because the kernel dropped it there, for that reason.
async function toReachDropped(isNot: boolean, from: Namespace, target: string | TargetObject, want: DropExpectation): Promise<Result> {
  if (!isNot) throw new TypeError('toReach: droppedIn and reason describe a failure: use expect(ns).not.toReach(target, { droppedIn, reason })')
  const c = await isDropped(from, target, want)
  return { pass: !c.ok, message: () => `expected ${from.label} not to reach ${c.reachability.target}, dropped as described: ${c.detail}` }
}

interface NetspecMatchers<R = unknown> {
  /**
   * The namespace reaches the target: ICMP ('10.0.0.2'), TCP ('tcp://10.0.0.2:80') or UDP ('udp://…'). With `.not`,
   * `{ droppedIn, reason }` asks that the kernel dropped the probe there, for that reason (docs/drops.md).
   */
  toReach(target: string | TargetObject, options?: ReachableOptions & DropExpectation): Promise<R>
  /** A routing table entry for the destination matches every given field. */
  toHaveRoute(destination: string, match?: RouteMatch): Promise<R>
  /** The kernel's own decision (`ip route get`) for the address goes out of `dev` / via `gateway`. */
  toRouteVia(address: string, expected: { dev?: string; gateway?: string }, selectors?: RouteGetSelectors): Promise<R>
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
