// The netspec matchers are typed on `expect` from 'netspec/vitest' (module augmentation of vitest 4's Matchers),
// and only on the receivers they work on: `npm run typecheck` (tsc over test/) proves every line here.
import { expectTypeOf, test } from 'vitest'
import { expect } from 'netspec/vitest'
import type { Namespace, ReachabilityMatrix } from 'netspec'

declare const ns: Namespace
declare const m: ReachabilityMatrix
declare const anything: any

test('matchers exist with their argument types', () => {
  expectTypeOf(expect(ns).toReach).parameter(0).toEqualTypeOf<string | { proto?: 'icmp' | 'tcp' | 'udp'; host: string; port?: number }>()
  expectTypeOf(expect(ns).toReach('10.0.0.2')).toEqualTypeOf<Promise<void>>()
  expectTypeOf(expect(ns).not.toReach('10.0.0.2')).toEqualTypeOf<Promise<void>>()
  expectTypeOf(expect(ns).toHaveRoute).toBeCallableWith('default', { via: '10.0.0.1' })
  expectTypeOf(expect(ns).toRouteVia).toBeCallableWith('10.0.0.2', { dev: 'eth0' }, { mark: 7 })
  expectTypeOf(expect(ns).toMapNat).toBeCallableWith({ from: ns, to: 'tcp://10.0.1.26:80', as: '10.0.1.48' })
  expectTypeOf(expect(ns).toForward).toBeCallableWith({ from: ns, to: 'tcp://10.0.1.48:8088', landsOn: [ns, 80] })
  expectTypeOf(expect(m).toMatchReachability).toBeCallableWith([['a', 'b']])
  expectTypeOf(expect(m).toMatchReachability([['a', 'b']])).toEqualTypeOf<void>()
  expectTypeOf(expect(ns).toHaveRoute).toBeCallableWith('10.2.0.0/24', { proto: 'bird' }, { within: 20_000 })
  expectTypeOf(expect(ns).toRouteVia).toBeCallableWith('10.0.0.2', { dev: 'eth0' }, {}, { within: 1000 })
  expectTypeOf(expect(ns).toReach).toBeCallableWith('10.0.0.2', { within: 5000 })
  expectTypeOf(expect(ns).toResolve).toBeCallableWith('web.lab', '10.80.0.50')
  expectTypeOf(expect(ns).toResolve).toBeCallableWith('web.lab', ['fd00::50'], { type: 'AAAA', within: 3000 })
  expectTypeOf(expect(ns).toResolve).toBeCallableWith('web.lab', { server: '10.0.0.53' })
  // @ts-expect-error within is a number of milliseconds
  void expect(ns).toHaveRoute('default', {}, { within: '20s' })
  expectTypeOf(expect(ns).not.toReach).toBeCallableWith('10.0.2.1', { droppedIn: ns, reason: 'IP_RPFILTER' })
  expectTypeOf(expect(ns).not.toReach).toBeCallableWith('10.0.2.1', { reason: 'A_REASON_OF_A_NEWER_KERNEL', timeoutMs: 4000 })
  // @ts-expect-error droppedIn is a lab namespace, not its label
  void expect(ns).not.toReach('10.0.2.1', { droppedIn: 'gw' })
  // @ts-expect-error a mapping needs `as`
  void expect(ns).toMapNat({ from: ns, to: 'tcp://10.0.1.26:80' })
})

test('one vocabulary: toRouteVia takes { via } like toHaveRoute; { gateway } is a deprecated alias', () => {
  expectTypeOf(expect(ns).toRouteVia).toBeCallableWith('10.0.0.2', { via: '10.0.0.1' })
  expectTypeOf(expect(ns).toRouteVia).toBeCallableWith('10.0.0.2', { via: '10.0.0.1', dev: 'eth0' })
  expectTypeOf(expect(ns).toRouteVia).toBeCallableWith('10.0.0.2', { gateway: '10.0.0.1' })
  // @ts-expect-error not a field of the expectation
  void expect(ns).toRouteVia('10.0.0.2', { nexthop: '10.0.0.1' })
})

test('matchers constrain their receiver', () => {
  expectTypeOf(expect('a').toReach).toBeNever()
  expectTypeOf(expect(42).toHaveRoute).toBeNever()
  expectTypeOf(expect(m).toReach).toBeNever()
  expectTypeOf(expect(ns).toMatchReachability).toBeNever()
  expectTypeOf(expect({ label: 'a', name: 'b' }).toRouteVia).toBeNever()
  // @ts-expect-error a string is not a lab namespace
  void expect('a').toReach('10.0.0.2')
  // @ts-expect-error a string is not a lab namespace
  void expect('a').not.toHaveRoute('default')
  // @ts-expect-error a namespace is not a reachability matrix
  expect(ns).toMatchReachability([['a', 'b']])
  // @ts-expect-error a matrix is not a namespace
  void expect(m).toMapNat({ from: ns, to: 'tcp://10.0.1.26:80', as: '10.0.1.48' })
  // An `any` receiver stays usable (the check happens at run time).
  expectTypeOf(expect(anything).toReach).not.toBeNever()
})
