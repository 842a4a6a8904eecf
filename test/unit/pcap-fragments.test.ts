// The decoder on fragments and IPv6 extension header chains (REVIEW-5), on frames built here byte by byte as the
// kernel lays them out (RFC 791, RFC 8200 §4), and on arbitrary bytes (fast-check): it never throws, and what it
// says depends only on the captured bytes (never on memory past the frame's end).
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { decodeEthernet, parsePcap } from '../../src/capture/pcap.js'

const eth = (type: number) => [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, type >> 8, type & 255]

function ipv4(opts: { id?: number; offset?: number; more?: boolean; proto?: number; payload: number[]; ihl?: number; total?: number }): number[] {
  const ihl = opts.ihl ?? 5
  const total = opts.total ?? ihl * 4 + opts.payload.length
  const fo = ((opts.more ? 0x2000 : 0) | ((opts.offset ?? 0) / 8)) & 0xffff
  const id = opts.id ?? 0x1234
  const h = [0x40 | ihl, 0, total >> 8, total & 255, id >> 8, id & 255, fo >> 8, fo & 255, 64, opts.proto ?? 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]
  while (h.length < ihl * 4) h.push(1) // options (NOPs)
  return [...eth(0x0800), ...h, ...opts.payload]
}

const v6addr = (last: number) => [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last]
function ipv6(next: number, payload: number[], payloadLength = payload.length): number[] {
  return [...eth(0x86dd), 0x60, 0, 0, 0, payloadLength >> 8, payloadLength & 255, next, 64, ...v6addr(1), ...v6addr(2), ...payload]
}
/** An options header (hop-by-hop 0, destination options 60) of 8 bytes: PadN. */
const options = (next: number) => [next, 0, 1, 4, 0, 0, 0, 0]
/** A routing header (type 4, segment routing, no segments left) of 24 bytes. */
const routing = (next: number) => [next, 2, 4, 0, 0, 0, 0, 0, ...v6addr(9)]
/** A fragment header. */
const fragment = (next: number, offset: number, more: boolean, id = 0xc7ce82fa) => [next, 0, (offset >> 8) & 255, (offset & 0xf8) | (more ? 1 : 0), id >>> 24, (id >> 16) & 255, (id >> 8) & 255, id & 255]
/** An AH header (RFC 4302: length in 4-byte units minus 2): 12 bytes of fixed fields + 12 of ICV = 24 bytes, len 4. */
const ah = (next: number) => [next, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, ...Array<number>(12).fill(0xaa)]
const echo = [128, 0, 0, 0, 0x12, 0x34, 0, 7, 1, 2, 3, 4]
const udp = [0xc0, 0x01, 0x27, 0x0f, 0, 13, 0, 0, 1, 2, 3, 4, 5]

const decode = (bytes: number[]) => decodeEthernet(Uint8Array.from(bytes), 0)

describe('IPv4 fragments', () => {
  test('the first fragment has its ICMP header and the fragment marked; later ones have no transport header', () => {
    const first = decode(ipv4({ more: true, payload: [8, 0, 0, 0, 0x2e, 0xea, 0, 1, 9, 9] }))
    expect(first.ip!.fragment).toEqual({ id: 0x1234, offset: 0, more: true })
    expect(first.icmp).toMatchObject({ kind: 'echo-request', id: 0x2eea, seq: 1 })
    expect(first.summary).toBe('IPv4 10.0.0.1 > 10.0.0.2 ICMP echo-request seq 1 frag (id 4660, offset 0, more)')
    // Data that happens to look like ICMP type 192 / TCP / UDP: a fragment at offset 1480 is data, nothing else.
    for (const proto of [1, 6, 17]) {
      const later = decode(ipv4({ offset: 1480, more: proto !== 17, proto, payload: Array<number>(40).fill(0xc0) }))
      expect(later.ip).toMatchObject({ protocol: proto, fragment: { id: 0x1234, offset: 1480, more: proto !== 17 } })
      expect(later.icmp ?? later.tcp ?? later.udp).toBeUndefined()
      expect(later.summary).toBe(`IPv4 10.0.0.1 > 10.0.0.2 proto ${proto} frag (id 4660, offset 1480${proto !== 17 ? ', more' : ''})`)
    }
  })

  test('an unfragmented packet (DF or not) has no fragment; options are skipped by the header length', () => {
    const df = ipv4({ payload: [0, 0, 0, 0, 0, 1, 0, 2] })
    df[14 + 6] = 0x40 // DF
    expect(decode(df).ip!.fragment).toBeUndefined()
    expect(decode(df).icmp?.kind).toBe('echo-reply')
    expect(decode(ipv4({ ihl: 6, payload: [8, 0, 0, 0, 0, 1, 0, 5] })).icmp).toMatchObject({ kind: 'echo-request', seq: 5 })
  })

  test('the transport header is read within the total length, not from the frame padding; a bad header length decodes nothing', () => {
    // 20 + 4 bytes of IP, padded to the Ethernet minimum: the ICMP header's id/seq are not in the datagram.
    const short = decode([...ipv4({ payload: [8, 0, 0, 0] }), ...Array<number>(22).fill(0x55)])
    expect(short.icmp).toEqual({ kind: 'echo-request', type: 8, code: 0 })
    const bad = decode(ipv4({ ihl: 5, payload: [8, 0, 0, 0, 0, 1, 0, 1] }).map((b, i) => (i === 14 ? 0x43 : b)))
    expect(bad.icmp).toBeUndefined()
    expect(bad.summary).toBe('IPv4 10.0.0.1 > 10.0.0.2 bad header length 12')
  })
})

describe('IPv6 extension headers', () => {
  test('the chain is walked to the upper-layer header: hop-by-hop, routing, fragment, AH, destination options', () => {
    const chain = decode(ipv6(0, [...options(43), ...routing(44), ...fragment(51, 0, true), ...ah(60), ...options(58), ...echo]))
    expect(chain.ip).toMatchObject({ version: 6, protocol: 58, extensions: [0, 43, 44, 51, 60], fragment: { id: 0xc7ce82fa, offset: 0, more: true } })
    expect(chain.icmp).toMatchObject({ kind: 'echo-request', id: 0x1234, seq: 7 })
    expect(chain.summary).toBe('IPv6 fd00::1 > fd00::2 ICMPv6 echo-request seq 7 frag (id 3352199930, offset 0, more)')
    const dst = decode(ipv6(60, [...options(17), ...udp]))
    expect(dst.ip).toMatchObject({ protocol: 17, extensions: [60] })
    expect(dst.udp).toEqual({ srcPort: 0xc001, dstPort: 9999, length: 13 })
  })

  test('a later fragment has no transport header; its protocol is the one its Fragment header names', () => {
    const later = decode(ipv6(44, [...fragment(58, 1448, false), ...Array<number>(64).fill(0x80)]))
    expect(later.ip).toMatchObject({ protocol: 58, extensions: [44], fragment: { offset: 1448, more: false } })
    expect(later.icmp).toBeUndefined()
    expect(later.summary).toBe('IPv6 fd00::1 > fd00::2 proto 58 frag (id 3352199930, offset 1448)')
  })

  test('a truncated chain names where it stopped and decodes nothing past it; no next header (59) is no transport', () => {
    const cut = decode(ipv6(0, [...options(60), 58, 0, 1], 40))
    expect(cut.ip).toMatchObject({ protocol: 60, extensions: [0] })
    expect(cut.icmp).toBeUndefined()
    expect(cut.summary).toBe('IPv6 fd00::1 > fd00::2 truncated extension header 60')
    // The payload length ends the packet before the header the frame still holds (e.g. Ethernet padding).
    const past = decode(ipv6(60, [...options(58), ...echo], 8))
    expect(past.icmp).toBeUndefined()
    const none = decode(ipv6(60, [...options(59), ...echo]))
    expect(none.ip).toMatchObject({ protocol: 59 })
    expect(none.icmp).toBeUndefined()
    // A chain that never ends (each header says another follows) stops at the bound.
    const loop = decode(ipv6(60, Array.from({ length: 40 }, () => options(60)).flat()))
    expect(loop.ip!.extensions).toHaveLength(16)
    expect(loop.summary).toMatch(/truncated extension header 60$/)
  })
})

describe('on arbitrary bytes', () => {
  // An Ethernet frame whose IP part is random, under either ethertype; often with real-looking first bytes.
  const frame = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.tuple(fc.constantFrom(0x0800, 0x86dd, 0x8100, 0x0806), fc.uint8Array({ maxLength: 180 })).map(([t, rest]) => Uint8Array.from([...eth(t), ...rest])),
    fc.tuple(fc.constantFrom(0, 43, 44, 51, 60, 58, 6, 17), fc.uint8Array({ maxLength: 160 })).map(([next, rest]) => Uint8Array.from(ipv6(next, [...rest], rest.length)).subarray(0, 54 + rest.length)),
    fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(1, 6, 17), fc.uint8Array({ maxLength: 80 })).map(([fo, proto, rest]) => {
      const b = ipv4({ proto, payload: [...rest] })
      b[20] = fo >> 8
      b[21] = fo & 255
      return Uint8Array.from(b)
    }),
  )

  test('never throws, and decodes the same whatever lies past the captured length', () => {
    fc.assert(
      fc.property(frame, fc.uint8Array({ minLength: 1, maxLength: 64 }), (f, after) => {
        const exact = decodeEthernet(Uint8Array.from(f), 1)
        // The same bytes as a view into a larger buffer whose tail is other data: nothing of it may be read.
        const big = new Uint8Array(f.length + after.length)
        big.set(f)
        big.set(after, f.length)
        expect(decodeEthernet(big.subarray(0, f.length), 1)).toEqual(exact)
        big.fill(0xff, f.length)
        expect(decodeEthernet(big.subarray(0, f.length), 1)).toEqual(exact)
      }),
      { numRuns: 3000 },
    )
  })

  test('a pcap file of arbitrary records never throws', () => {
    const header = [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0]
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 5 }), fc.uint8Array({ maxLength: 30 }), (frames, torn) => {
        const records = frames.flatMap((f) => [0, 0, 0, 0, 0, 0, 0, 0, f.length & 255, f.length >> 8, 0, 0, f.length & 255, f.length >> 8, 0, 0, ...f])
        expect(parsePcap(Uint8Array.from([...header, ...records, ...torn])).length).toBeGreaterThanOrEqual(frames.length)
      }),
      { numRuns: 1000 },
    )
  })
})
