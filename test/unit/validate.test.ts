import { describe, expect, test } from 'vitest'
import { isNetspecError } from '../../src/errors.js'
import { canonicalV6 } from '../../src/kernel/address.js'
import { checkIfName, checkKeys, networkOf, parseCidr, parseDestination } from '../../src/lab/validate.js'

describe('parseCidr', () => {
  test('accepts IPv4 and IPv6 and canonicalises IPv6 as ip prints it', () => {
    expect(parseCidr('10.0.12.1/24')).toEqual({ address: '10.0.12.1', prefixLength: 24, family: 4, cidr: '10.0.12.1/24' })
    expect(parseCidr('FD00:0:0::0001/64').cidr).toBe('fd00::1/64')
  })

  test('a bare address is rejected with the fix in the hint', () => {
    try {
      parseCidr('10.0.12.1')
      expect.unreachable()
    } catch (e) {
      expect(isNetspecError(e, 'invalid-input')).toBe(true)
      expect((e as Error).message).toContain("add the prefix length, e.g. '10.0.12.1/24'")
    }
  })

  test.each(['10.0.12.300/24', '10.0.12.1/33', 'fd00::1/129', 'nonsense', ''])('rejects %j', (bad) => {
    expect(() => parseCidr(bad)).toThrow(/CIDR|prefix length|not an address/)
  })
})

test('networkOf clears host bits', () => {
  expect(networkOf(parseCidr('172.16.0.102/24'))).toBe('172.16.0.0')
  expect(networkOf(parseCidr('fd00:1:2:3::9/48'))).toBe('fd00:1:2::')
  expect(parseDestination('10.0.1.7/24').dst).toBe('10.0.1.0/24')
})

test('canonicalV6 compresses the longest zero run', () => {
  expect(canonicalV6('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1')
  expect(canonicalV6('::')).toBe('::')
})

test('interface names are held to IFNAMSIZ', () => {
  expect(checkIfName('veth-fifteen-ch')).toBe('veth-fifteen-ch')
  expect(() => checkIfName('veth-sixteen-chr')).toThrow(/16 bytes; Linux allows at most 15 \(IFNAMSIZ\)/)
  expect(() => checkIfName('a/b')).toThrow(/no '\/'/)
  expect(() => checkIfName('a b')).toThrow(/white space/)
})

test('a misspelt option is named with a suggestion', () => {
  expect(() => checkKeys({ adresses: [] }, ['addresses', 'mac'], 'veth end')).toThrow(/unknown option 'adresses'[\s\S]*did you mean 'addresses'/)
})
