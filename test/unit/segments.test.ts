import { describe, expect, test } from 'vitest'
import { isNetspecError } from '../../src/errors.js'
import { SegmentMap, type IfaceRef } from '../../src/lab/segments.js'

const iface = (id: string): IfaceRef => ({ id })

describe('SegmentMap', () => {
  test('the same address on both ends of one wire clashes, naming both interfaces', () => {
    const m = new SegmentMap()
    const [a, b] = [iface('ns1/veth1'), iface('ns2/veth2')]
    m.join(a, b)
    m.addAddress(a, '10.0.12.1')
    try {
      m.check([b], [[b, '10.0.12.1']])
      expect.unreachable()
    } catch (e) {
      expect(isNetspecError(e, 'invalid-input')).toBe(true)
      expect((e as Error).message).toContain('address 10.0.12.1 is used twice on one layer-2 segment: by ns1/veth1 and ns2/veth2')
    }
  })

  test('the same address on separate segments is fine (two labs, two subnets)', () => {
    const m = new SegmentMap()
    const [a, b] = [iface('ns1/veth1'), iface('ns3/veth3')]
    m.addAddress(a, '10.0.12.1')
    expect(() => m.check([b], [[b, '10.0.12.1']])).not.toThrow()
  })

  test('a second address on the same interface is not a clash with itself', () => {
    const m = new SegmentMap()
    const a = iface('ns1/veth1')
    m.addAddress(a, '10.0.12.1')
    expect(() => m.check([a], [[a, '10.0.12.1']])).not.toThrow()
  })

  test('two addresses added at once that collide are caught before either exists', () => {
    const m = new SegmentMap()
    const [a, b] = [iface('ns1/veth1'), iface('ns2/veth2')]
    expect(() => m.check([a, b], [[a, '10.0.0.1'], [b, '10.0.0.1']])).toThrow(/used twice/)
  })

  test('a clash across a bridge: ports of one bridge are one segment', () => {
    const m = new SegmentMap()
    const br = iface('host/br0')
    const [p1, e1, p2, e2] = ['host/br0p1', 'ns2/eth0', 'host/br0p2', 'ns3/eth0'].map(iface) as [IfaceRef, IfaceRef, IfaceRef, IfaceRef]
    m.join(p1, e1)
    m.join(p1, br)
    m.addAddress(e1, '172.16.0.102')
    expect(() => m.check([p2, e2, br], [[e2, '172.16.0.102']])).toThrow(/by ns2\/eth0 and ns3\/eth0/)
    expect(() => m.check([p2, e2, br], [[e2, '172.16.0.103']])).not.toThrow()
  })

  test('joining two segments that each hold the same address clashes', () => {
    const m = new SegmentMap()
    const [a, b] = [iface('x/a'), iface('y/b')]
    m.addAddress(a, '10.1.1.1')
    m.addAddress(b, '10.1.1.1')
    expect(() => m.check([a, b], [])).toThrow(/10\.1\.1\.1/)
  })

  test('check changes nothing; join merges members and addresses', () => {
    const m = new SegmentMap()
    const [a, b] = [iface('x/a'), iface('y/b')]
    m.check([a, b], [[a, '10.0.0.1']])
    expect(m.segmentOf(a).addresses.size).toBe(0)
    expect(m.segmentOf(a)).not.toBe(m.segmentOf(b))
    m.addAddress(b, '10.0.0.2')
    m.join(a, b)
    expect(m.segmentOf(a)).toBe(m.segmentOf(b))
    expect([...m.segmentOf(a).members].map((i) => i.id).sort()).toEqual(['x/a', 'y/b'])
    expect(m.segmentOf(a).addresses.get('10.0.0.2')).toBe(b)
  })

  test('a removed address, or a removed interface, frees the address', () => {
    const m = new SegmentMap()
    const [a, b, c] = [iface('x/a'), iface('y/b'), iface('z/c')]
    m.join(a, b)
    m.join(a, c)
    m.addAddress(a, '10.0.0.1')
    m.removeAddress(a, '10.0.0.1')
    expect(() => m.check([b], [[b, '10.0.0.1']])).not.toThrow()
    m.addAddress(b, '10.0.0.2')
    m.remove(b)
    expect(() => m.check([c], [[c, '10.0.0.2']])).not.toThrow()
  })

  test("removing an address another interface holds does not free it", () => {
    const m = new SegmentMap()
    const [a, b] = [iface('x/a'), iface('y/b')]
    m.join(a, b)
    m.addAddress(a, '10.0.0.1')
    m.removeAddress(b, '10.0.0.1')
    expect(() => m.check([b], [[b, '10.0.0.1']])).toThrow(/used twice/)
  })
})
