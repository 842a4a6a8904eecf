// The netspec matchers are typed on `expect` from 'netspec/vitest' (module augmentation of vitest 4's Matchers).
import { expectTypeOf, test } from 'vitest'
import { expect } from 'netspec/vitest'
import type { Namespace, ReachabilityMatrix } from 'netspec'

declare const ns: Namespace
declare const m: ReachabilityMatrix

test('matchers exist with their argument types', () => {
  expectTypeOf(expect(ns).toReach).parameter(0).toEqualTypeOf<string | { proto?: 'icmp' | 'tcp' | 'udp'; host: string; port?: number }>()
  expectTypeOf(expect(ns).toReach('10.0.0.2')).resolves.toBeVoid
  expectTypeOf(expect(ns).toHaveRoute).toBeCallableWith('default', { via: '10.0.0.1' })
  expectTypeOf(expect(ns).toRouteVia).toBeCallableWith('10.0.0.2', { dev: 'eth0' }, { mark: 7 })
  expectTypeOf(expect(ns).toMapNat).toBeCallableWith({ from: ns, to: 'tcp://10.0.1.26:80', as: '10.0.1.48' })
  expectTypeOf(expect(ns).toForward).toBeCallableWith({ from: ns, to: 'tcp://10.0.1.48:8088', landsOn: [ns, 80] })
  expectTypeOf(expect(m).toMatchReachability).toBeCallableWith([['a', 'b']])
  expectTypeOf(expect(ns).not.toReach).toBeCallableWith('10.0.2.1', { droppedIn: ns, reason: 'IP_RPFILTER' })
  expectTypeOf(expect(ns).not.toReach).toBeCallableWith('10.0.2.1', { reason: 'A_REASON_OF_A_NEWER_KERNEL', timeoutMs: 4000 })
  // @ts-expect-error droppedIn is a lab namespace, not its label
  void expect(ns).not.toReach('10.0.2.1', { droppedIn: 'gw' })
  // @ts-expect-error a mapping needs `as`
  void expect(ns).toMapNat({ from: ns, to: 'tcp://10.0.1.26:80' })
})
