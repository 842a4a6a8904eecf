// The pcap decoder against a file recorded by tcpdump -w on a real veth (test/fixtures/pcap/story.pcap):
// `tcpdump -r story.pcap -nn -e` shows the same 14 frames.
import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { decodeEthernet, ipv6, parsePcap } from '../../src/capture/pcap.js'

const story = parsePcap(readFileSync(new URL('../fixtures/pcap/story.pcap', import.meta.url)))

describe('parsePcap on a recorded capture', () => {
  test('reads all 14 frames with their summaries', () => {
    expect(story.map((p) => p.summary)).toEqual([
      'IPv6 :: > ff02::1:ff00:1 ICMPv6 neighbor-solicitation',
      'ARP who-has 10.0.12.2 tell 10.0.12.1',
      'ARP 10.0.12.2 is-at ee:ee:ee:00:00:02',
      'IPv4 10.0.12.1 > 10.0.12.2 ICMP echo-request seq 1',
      'IPv4 10.0.12.2 > 10.0.12.1 ICMP echo-reply seq 1',
      'IPv6 fd00::1 > ff02::1:ff00:2 ICMPv6 neighbor-solicitation',
      'IPv6 fd00::2 > fd00::1 ICMPv6 neighbor-advertisement',
      'IPv6 fd00::1 > fd00::2 ICMPv6 echo-request seq 1',
      'IPv6 fd00::2 > fd00::1 ICMPv6 echo-reply seq 1',
      'IPv4 10.0.12.1 > 10.0.12.2 UDP 55294 > 5353 len 11',
      'IPv4 10.0.12.2 > 10.0.12.1 ICMP unreachable',
      'IPv4 10.0.12.1 > 10.0.12.2 TCP 55218 > 9 [SYN]',
      'IPv4 10.0.12.2 > 10.0.12.1 TCP 9 > 55218 [RST,ACK]',
      'IPv6 fe80::ecee:eeff:fe00:1 > ff02::2 ICMPv6 router-solicitation',
    ])
  })

  test('ARP request and reply carry both link-layer and protocol addresses', () => {
    expect(story[1]).toMatchObject({
      srcMac: 'ee:ee:ee:00:00:01',
      dstMac: 'ff:ff:ff:ff:ff:ff',
      ethertype: 0x0806,
      arp: { op: 'request', senderIp: '10.0.12.1', targetIp: '10.0.12.2', targetMac: '00:00:00:00:00:00' },
    })
    expect(story[2]?.arp).toEqual({ op: 'reply', senderMac: 'ee:ee:ee:00:00:02', senderIp: '10.0.12.2', targetMac: 'ee:ee:ee:00:00:01', targetIp: '10.0.12.1' })
  })

  test('ICMP echo has id and seq, IP has ttl and protocol; TCP has ports, flags, seq and ack', () => {
    expect(story[3]).toMatchObject({ length: 98, ip: { version: 4, protocol: 1, ttl: 64 }, icmp: { kind: 'echo-request', type: 8, code: 0, id: 23740, seq: 1 } })
    expect(story[11]?.tcp).toMatchObject({ srcPort: 55218, dstPort: 9, flags: ['SYN'], seq: 3114392966 })
    expect(story[12]?.tcp).toMatchObject({ flags: ['RST', 'ACK'], ack: 3114392967 })
    expect(story[10]?.icmp).toMatchObject({ kind: 'unreachable', type: 3, code: 3 })
  })

  test('timestamps are seconds with microseconds', () => {
    expect(story[1]!.time).toBeGreaterThan(1.7e9)
    expect(story[2]!.time - story[1]!.time).toBeCloseTo(0.000024, 6)
  })
})

describe('decoding edge cases', () => {
  test('rejects a file that is not pcap, names pcapng', () => {
    expect(() => parsePcap(new Uint8Array(Buffer.from('0a0d0d0a' + '00'.repeat(40), 'hex')))).toThrow(/pcapng is not supported/)
  })
  test('an empty file (tcpdump killed before its header) has no packets', () => {
    expect(parsePcap(new Uint8Array())).toEqual([])
  })
  test('a record cut short at the end is ignored, the earlier ones kept', () => {
    const buf = readFileSync(new URL('../fixtures/pcap/story.pcap', import.meta.url))
    expect(parsePcap(buf.subarray(0, buf.length - 10))).toHaveLength(13)
  })
  test('a runt frame is reported as truncated', () => {
    expect(decodeEthernet(new Uint8Array(10), 0).summary).toBe('truncated frame')
  })
  test('IPv6 text is RFC 5952 compressed', () => {
    const b = new Uint8Array(16)
    b[0] = 0x20; b[1] = 0x01; b[2] = 0x0d; b[3] = 0xb8; b[15] = 1
    expect(ipv6(b, 0)).toBe('2001:db8::1')
    expect(ipv6(new Uint8Array(16), 0)).toBe('::')
  })
})
