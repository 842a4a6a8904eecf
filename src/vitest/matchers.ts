// Vitest matchers over the assertion functions: each failure message is the function's own verdict and detail.
import { chai, expect } from 'vitest'
import { isNetspecError } from '../errors.js'
import { natMaps, type NatMapsSpec } from '../assert/nat.js'
import { reachable, type ReachableOptions } from '../assert/reachable.js'
import { hasRoute, routeGet, type RouteGetSelectors, type RouteMatch } from '../assert/routes.js'
import type { TargetObject } from '../assert/target.js'
import { explain } from '../explain/explain.js'
import type { ReachabilityMatrix } from '../assert/matrix.js'
import { Namespace } from '../lab/namespace.js'
import { trackCall } from './pending.js'
import { resolves, type ResolveOptions } from '../services/dns.js'
import { parseAddress } from '../lab/validate.js'
import { pollWithin, withinNote, withinOf, withoutWithin, type WithinOptions } from './within.js'
import { isDropped, wantsDrop, type DropExpectation } from '../drops/expect.js'

type Result = { pass: boolean; message: () => string }
type State = { isNot?: boolean }

/** `expect(ns1).toReach('10.0.0.2')`: how a call is named in the forgotten-await failure. */
function callText(name: string, received: unknown, isNot: boolean, args: readonly unknown[]): string {
  const show = (a: unknown) =>
    typeof a === 'string'
      ? `'${a}'`
      : typeof (a as { label?: unknown } | null)?.label === 'string'
        ? (a as { label: string }).label
        : typeof a === 'object' && a !== null
          ? '{…}'
          : String(a)
  return `expect(${show(received)}).${isNot ? 'not.' : ''}${name}(${args.filter((a) => a !== undefined).map(show).join(', ')})`
}

function asNamespace(received: unknown, matcher: string): Namespace {
  if (received instanceof Namespace) return received
  throw new TypeError(`${matcher}: expected a lab namespace (from lab.namespace()), got ${String(received)}`)
}

const matchers = {
  async toReach(this: State, received: unknown, target: string | TargetObject, options: ReachableOptions & WithinOptions = {}): Promise<Result> {
    const from = asNamespace(received, 'toReach')
    if (wantsDrop(options)) return toReachDropped(this.isNot === true, from, target, options as DropExpectation)
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

  async toHaveRoute(this: State, received: unknown, destination: string, match: RouteMatch = {}, options?: WithinOptions): Promise<Result> {
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
    this: State,
    received: unknown,
    address: string,
    expected: RouteViaExpectation,
    selectors: RouteGetSelectors = {},
    options?: WithinOptions,
  ): Promise<Result> {
    const ns = asNamespace(received, 'toRouteVia')
    // `{ via }` as in toHaveRoute; `gateway` is the deprecated spelling of the same field.
    const via = expected.via ?? expected.gateway
    if (expected.via !== undefined && expected.gateway !== undefined && expected.via !== expected.gateway)
      throw new TypeError(`toRouteVia: { via: '${expected.via}' } and the deprecated { gateway: '${expected.gateway}' } disagree; give only via`)
    const within = withinOf(options, 'toRouteVia')
    // Compared in the form the kernel prints ('FD00::2' is fd00::2), as toHaveRoute compares it.
    const gateway = via === undefined ? undefined : parseAddress(via).address
    const polled = await pollWithin(within, this.isNot !== true, async () => {
      const r = await routeGet(ns, address, selectors)
      const d = r.decision
      const pass = r.ok && d !== undefined && (expected.dev === undefined || d.dev === expected.dev) && (gateway === undefined || d.gateway === gateway)
      return { pass, r }
    })
    const { pass, r } = polled.result
    const note = withinNote(polled, within, ns)
    const want = [via && `via ${via}`, expected.dev && `out of ${expected.dev}`].filter(Boolean).join(' ')
    return { pass, message: () => (pass ? `expected ${ns.label} not to send ${address} ${want}, but ${r.detail}${note}` : `expected ${ns.label} to send ${address} ${want}, but ${r.detail}${note}`) }
  },

  async toResolve(
    this: State,
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
}

// `.not.toReach(target, { droppedIn, reason })`: not reached, because the kernel dropped it there, for that reason.
async function toReachDropped(isNot: boolean, from: Namespace, target: string | TargetObject, want: DropExpectation): Promise<Result> {
  if (!isNot) throw new TypeError('toReach: droppedIn and reason describe a failure: use expect(ns).not.toReach(target, { droppedIn, reason })')
  const c = await isDropped(from, target, want)
  return { pass: !c.ok, message: () => `expected ${from.label} not to reach ${c.reachability.target}, dropped as described: ${c.detail}` }
}

// The receiver-constrained types below make `Matchers<MatcherState>` (what expect.extend checks against) `never`.
expect.extend(matchers as never)

// Each async matcher's call is registered with its test: one nobody awaited fails it (src/vitest/pending.ts).
// expect.extend above has just (re)installed the methods, so each is wrapped exactly once.
const GUARDED = Symbol.for('netspec.awaitGuard')
const proto = chai.Assertion.prototype as unknown as Record<string, Record<symbol, boolean> | undefined>
for (const name of ['toReach', 'toHaveRoute', 'toRouteVia', 'toResolve', 'toMapNat', 'toForward'] as const) {
  if (proto[name]?.[GUARDED] === true) continue
  chai.util.overwriteMethod(chai.Assertion.prototype, name, (original: (...args: unknown[]) => unknown) =>
    function (this: object, ...args: unknown[]): unknown {
      const site = new Error('call site') // the spec's line, for the failure (the check itself fails later, async)
      const result = original.apply(this, args)
      if (!(result instanceof Promise)) return result
      const located = result.catch((e: unknown) => {
        // As Vitest does for `.resolves`: the stack of the call, so every reporter points at the spec's line
        // (GitHub Actions' ::error needs a frame in the test file, JUnit and the terminal show the code frame).
        const frames = site.stack?.split('\n').slice(1).join('\n')
        if (e instanceof Error && frames !== undefined) e.stack = `${e.name}: ${e.message}\n${frames}`
        throw e
      })
      const text = callText(name, chai.util.flag(this, 'object'), chai.util.flag(this, 'negate') === true, args)
      return trackCall(chai.util.flag(this, 'vitest-test'), text, located)
    },
  )
  const installed = proto[name]
  if (installed !== undefined) installed[GUARDED] = true
}

/** What `toRouteVia` expects of the kernel's decision: `{ via }` as in `toHaveRoute`, and/or the output device. */
export interface RouteViaExpectation {
  /** The next hop (gateway) the kernel chose. */
  via?: string
  /** The output device the kernel chose. */
  dev?: string
  /** @deprecated the same as `via` (its older name); give `via`. */
  gateway?: string
}

/** A matcher that only exists where the receiver is of type `Receiver` (otherwise `never`: a type error to call). */
type On<T, Receiver, Fn> = [T] extends [never] ? never : 0 extends 1 & T ? Fn : T extends Receiver ? Fn : never

/**
 * The netspec matchers on `expect(x)`, typed by their receiver `T`: `expect('a').toReach(…)` does not type-check.
 * Namespace matchers need a lab namespace; toMatchReachability needs a lab.reachability() matrix.
 */
export interface NetspecMatchers<T = unknown> {
  /**
   * The namespace reaches the target: ICMP ('10.0.0.2'), TCP ('tcp://10.0.0.2:80') or UDP ('udp://…').
   * `{ within: ms }` keeps probing until it does (or, with `.not`, until it no longer does). With `.not`,
   * `{ droppedIn, reason }` asks that the kernel dropped the probe there, for that reason (docs/drops.md).
   */
  toReach: On<T, Namespace, (target: string | TargetObject, options?: ReachableOptions & WithinOptions & DropExpectation) => Promise<void>>
  /** A routing table entry for the destination matches every given field; `{ within: ms }` waits for it (or, with `.not`, for its withdrawal). */
  toHaveRoute: On<T, Namespace, (destination: string, match?: RouteMatch, options?: WithinOptions) => Promise<void>>
  /** The kernel's own decision (`ip route get`) for the address goes via `via` and/or out of `dev`; `{ within: ms }` waits for it. */
  toRouteVia: On<T, Namespace, (address: string, expected: RouteViaExpectation, selectors?: RouteGetSelectors, options?: WithinOptions) => Promise<void>>
  /**
   * From inside the namespace, `name` resolves (through the resolv.conf its processes see) and, when given, to
   * these addresses (each among the answers): `toResolve('web.lab', '10.80.0.50')`. Options: `type`, `server`,
   * `timeoutMs`, `within`. See `resolves()` for the evidence.
   */
  toResolve: On<T, Namespace, (name: string, expected?: string | readonly string[] | (ResolveOptions & WithinOptions), options?: ResolveOptions & WithinOptions) => Promise<void>>
  /** A lab.reachability() matrix: exactly the listed [from, to] label pairs reply; only differing cells are printed. */
  toMatchReachability: On<T, ReachabilityMatrix, (expected: readonly (readonly [string, string])[]) => void>
  /** Source NAT through this gateway: the far side sees `as`. */
  toMapNat: On<T, Namespace, (spec: Omit<NatMapsSpec, 'landsOn'> & { as: string }) => Promise<void>>
  /** Port forward through this gateway: the connection lands on `landsOn`. */
  toForward: On<T, Namespace, (spec: Omit<NatMapsSpec, 'as'> & { landsOn: readonly [Namespace, number] }) => Promise<void>>
}

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Matchers<T = any> extends NetspecMatchers<T> {}
}
