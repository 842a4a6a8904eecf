// src/values/port.ts: one strict grammar for ports and the strings that carry them (targets, 'address:port').
// Examples for each refusal (the review found 'tcp://10.0.0.1:080' read as port 80), and properties: whatever is
// accepted prints back to a string that parses to the same value; whatever is refused is a NetspecError
// 'invalid-input' naming the input.
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { isNetspecError } from '../../src/errors.js'
import { parseTarget } from '../../src/assert/target.js'
import { checkPort, formatEndpoint, formatHostPort, parseEndpoint, parseHostPort, parsePort } from '../../src/values/index.js'
import { hostile } from '../fixtures/hostile.js'

const RUNS = 10 * Number(process.env.NETSPEC_FUZZ_RUNS ?? 50)

function refusedOr<T>(fn: () => T): { ok: true; value: T } | { ok: false; error: Error } {
  try {
    return { ok: true, value: fn() }
  } catch (e) {
    if (!isNetspecError(e, 'invalid-input')) throw e
    return { ok: false, error: e }
  }
}

/** Port-shaped text, right and wrong: leading zeros, signs, white space, hex, exponent, out of range. */
const portText = fc.oneof(
  fc.integer({ min: 0, max: 70000 }).map(String),
  fc.constantFrom('080', '00', '0', '+80', '-80', ' 80', '80 ', '8\t0', '0x50', '8e1', '80.0', '١٢', '65535', '65536', '99999', '1', ''),
  fc.stringMatching(/^[0-9+\- .xe]{0,7}$/),
)
const v4 = fc.ipV4()
const v6 = fc.ipV6()

describe('ports', () => {
  test.each(['080', '00', '+80', '-1', ' 80', '80 ', '0x50', '8e1', '80.0', '65536', '', '0'])('the text %j is refused, naming it and the form', (t) => {
    expect(() => parsePort(t, { what: 'p' })).toThrow(/p must be a decimal number 1–65535 with no sign, leading zero or white space, got '/)
  })
  test('0 only where it is asked for', () => {
    expect(parsePort('0', { what: 'p', zero: true })).toBe(0)
    expect(checkPort(0, { what: 'p', zero: true })).toBe(0)
    expect(() => checkPort(0, { what: 'p' })).toThrow(/1–65535/)
  })
  test.each([['80'], [80.5], [Number.NaN], [-1], [65536], [null]])('the option %j is refused (a number, whole, in range)', (v) => {
    expect(() => checkPort(v, { what: 'listen: port' })).toThrow(/listen: port must be a whole number 1–65535/)
  })
  test('accepted port text is exactly the decimal printing of its number', () => {
    fc.assert(
      fc.property(fc.oneof(portText, hostile()), (t) => {
        const r = refusedOr(() => parsePort(t, { what: 'p' }))
        if (r.ok) expect(String(r.value)).toBe(t)
        else expect(r.error.message).toContain('got')
      }),
      { numRuns: RUNS },
    )
  })
})

describe("'address:port'", () => {
  test.each([
    ['10.0.0.1:080', /the port in portForward: 'to' must be a decimal number/],
    ['10.0.0.1:80 ', /decimal number/],
    ['10.0.0.1', /must be 'address:port'/],
    ['fd00::2:80', /must be 'address:port'/],
    ['[10.0.0.1]:80', /brackets go around an IPv6 address/],
    ['[fd00::2]:0', /1–65535/],
    ['[fd00::2]', /must be 'address:port'/],
    ['host:80', /is not an IP address/],
  ])('%j is refused', (t, why) => {
    expect(() => parseHostPort(t, { what: "portForward: 'to'" })).toThrow(why)
  })
  test('round trip: format(parse(s)) parses to the same value, and a generated value prints and parses back', () => {
    fc.assert(
      fc.property(fc.oneof(v4, v6).chain((a) => fc.tuple(fc.constant(a), fc.integer({ min: 1, max: 65535 }))), ([a, p]) => {
        const text = a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`
        const h = parseHostPort(text, { what: 'x' })
        expect(h.port).toBe(p)
        expect(parseHostPort(formatHostPort(h), { what: 'x' })).toEqual(h)
      }),
      { numRuns: RUNS },
    )
    fc.assert(
      fc.property(fc.oneof(hostile(), fc.tuple(fc.oneof(v4, v6, hostile()), portText).map(([a, p]) => `${a}:${p}`)), (t) => {
        const r = refusedOr(() => parseHostPort(t, { what: 'x' }))
        if (r.ok) expect(parseHostPort(formatHostPort(r.value), { what: 'x' })).toEqual(r.value)
      }),
      { numRuns: RUNS },
    )
  })
})

describe('reachability targets', () => {
  test.each([
    ['tcp://10.0.0.1:080', /decimal number 1–65535 with no sign, leading zero/],
    ['tcp://10.0.0.1:+80', /decimal number/],
    ['tcp://10.0.0.1: 80', /decimal number/],
    ['tcp://10.0.0.1:80/', /nothing after the port/],
    ['tcp://10.0.0.1', /needs a port/],
    ['tcp://fd00::2', /IPv6 address without brackets/],
    ['tcp://fd00::2:80', /IPv6 address without brackets/],
    ['tcp://[fd00::2]', /needs a port/],
    ['udp://10.0.0.1:0', /1–65535/],
    ['icmp://10.0.0.2:80', /ICMP has no ports/],
    ['TCP://10.0.0.1:80', /only icmp, tcp and udp \(lower case\)/],
    ['http://10.0.0.1:80', /scheme 'http'/],
    ['[fd00::2]', /brackets but no scheme/],
    ['10.0.0.1:80', /is not an IP address/],
    ['tcp://[10.0.0.1]:80', /IPv4 address in brackets/],
    ['tcp://10.0.0.1:80:80', /more than one port/],
  ])('%j is refused', (t, why) => {
    expect(() => parseTarget(t)).toThrow(why)
  })
  test('the object form: a port is a whole number, a host a bare address', () => {
    expect(parseTarget({ host: 'fd00::2', proto: 'udp', port: 53 })).toMatchObject({ address: 'fd00::2', port: 53, text: 'udp://[fd00::2]:53' })
    expect(() => parseTarget({ host: '10.0.0.1', port: '080' as unknown as number })).toThrow(/must be a whole number 1–65535, got '080'/)
    expect(() => parseTarget({ host: '[fd00::2]', port: 80 })).toThrow(/not an IP address/)
    expect(() => parseTarget({ host: '10.0.0.1', proto: 'sctp' as 'tcp', port: 80 })).toThrow(/proto must be/)
  })
  test('every accepted target prints and parses back to itself; a canonical one prints exactly as written', () => {
    const canonical = fc.oneof(
      fc.oneof(v4, v6).map((a) => ({ proto: 'icmp' as const, a })),
      fc.tuple(fc.constantFrom('tcp' as const, 'udp' as const), fc.oneof(v4, v6), fc.integer({ min: 1, max: 65535 })).map(([proto, a, port]) => ({ proto, a, port })),
    )
    fc.assert(
      fc.property(canonical, (x) => {
        const { proto, a } = x
        const port = 'port' in x ? x.port : undefined
        const e = parseEndpoint(port === undefined ? a : `${proto}://${a.includes(':') ? `[${a}]` : a}:${port}`)
        expect([e.proto, e.port]).toEqual([proto, port])
        expect(parseEndpoint(formatEndpoint(e))).toEqual(e)
        expect(formatEndpoint(parseEndpoint(formatEndpoint(e)))).toBe(formatEndpoint(e))
      }),
      { numRuns: RUNS },
    )
    const anyText = fc.oneof(
      hostile(),
      fc.tuple(fc.constantFrom('tcp://', 'udp://', 'icmp://', 'TCP://', ''), fc.oneof(v4, v6.map((a) => `[${a}]`), v6, hostile()), fc.option(portText)).map(
        ([s, a, p]) => `${s}${a}${p === null ? '' : `:${p}`}`,
      ),
    )
    fc.assert(
      fc.property(anyText, (t) => {
        const r = refusedOr(() => parseTarget(t))
        if (!r.ok) {
          expect(r.error.message).toMatch(/target|port|address/)
          return
        }
        const { text: _, ...value } = r.value
        expect(parseEndpoint(formatEndpoint(value))).toEqual(value)
        if (value.port !== undefined) expect(t.endsWith(`:${value.port}`)).toBe(true) // the port is exactly what was written
      }),
      { numRuns: RUNS },
    )
  })
})
