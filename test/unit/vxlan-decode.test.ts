// The VXLAN decoder (RFC 7348) against a real capture and against frames built byte by byte.
// test/fixtures/pcap/vxlan.pcap was recorded by `tcpdump -w` on the underlay veth of two lab "hypervisors"
// (10.0.0.1 ⇄ 10.0.0.2, vx42 with VNI 42 on UDP 4789) while a VM pinged across the overlay;
// `tcpdump -r vxlan.pcap -nn -e` shows the same four frames ("VXLAN, flags [I] (0x08), vni 42" and the inner frame).
import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { decodeEthernet, parsePcap, VXLAN_PORTS, type Packet } from '../../src/index.js'

const recorded = readFileSync(new URL('../fixtures/pcap/vxlan.pcap', import.meta.url))

describe('a recorded VXLAN capture', () => {
  const packets = parsePcap(recorded)

  test('every frame carries VNI 42 and its inner frame, summarised through the tunnel', () => {
    expect(packets.map((p) => p.summary)).toEqual([
      'IPv4 10.0.0.1 > 10.0.0.2 UDP 34875 > 4789 VXLAN 42: ARP who-has 192.168.50.2 tell 192.168.50.1',
      'IPv4 10.0.0.2 > 10.0.0.1 UDP 34875 > 4789 VXLAN 42: ARP 192.168.50.2 is-at 86:d0:4b:92:9c:6c',
      'IPv4 10.0.0.1 > 10.0.0.2 UDP 51906 > 4789 VXLAN 42: IPv4 192.168.50.1 > 192.168.50.2 ICMP echo-request seq 1',
      'IPv4 10.0.0.2 > 10.0.0.1 UDP 51906 > 4789 VXLAN 42: IPv4 192.168.50.2 > 192.168.50.1 ICMP echo-reply seq 1',
    ])
  })

  test('outer headers stay as they were; the inner frame is a Packet like any other', () => {
    const echo = packets[2]!
    expect(echo).toMatchObject({
      length: 100,
      srcMac: '02:00:00:00:00:01',
      dstMac: '02:00:00:00:00:02',
      ip: { version: 4, src: '10.0.0.1', dst: '10.0.0.2', protocol: 17 },
      udp: { srcPort: 51906, dstPort: 4789, length: 66 },
    })
    expect(echo.vxlan).toMatchObject({ vni: 42, flags: 0x08 })
    expect(echo.vxlan!.inner).toEqual({
      time: echo.time,
      length: 50,
      srcMac: '02:00:00:00:50:01',
      dstMac: '86:d0:4b:92:9c:6c',
      ethertype: 0x0800,
      ip: { version: 4, src: '192.168.50.1', dst: '192.168.50.2', protocol: 1, ttl: 64 },
      icmp: { kind: 'echo-request', type: 8, code: 0, id: 13984, seq: 1 },
      summary: 'IPv4 192.168.50.1 > 192.168.50.2 ICMP echo-request seq 1',
    } satisfies Packet)
    expect(packets[0]!.vxlan!.inner.arp).toEqual({ op: 'request', senderMac: '02:00:00:00:50:01', senderIp: '192.168.50.1', targetMac: '00:00:00:00:00:00', targetIp: '192.168.50.2' })
  })

  test('with other ports named, 4789 is plain UDP again', () => {
    const plain = parsePcap(recorded, { vxlanPorts: [4800] })
    expect(plain.every((p) => p.vxlan === undefined)).toBe(true)
    expect(plain[2]!.summary).toBe('IPv4 10.0.0.1 > 10.0.0.2 UDP 51906 > 4789 len 66')
  })
})

// Byte by byte: Ethernet II, IPv4 or IPv6, UDP, the 8-byte VXLAN header (RFC 7348 §5), then the inner frame.
const hex = (s: string): number[] => s.replace(/\s+/g, '').match(/../g)!.map((b) => parseInt(b, 16))
const u16 = (n: number): number[] => [n >> 8, n & 0xff]
const MAC_A = hex('020000000001')
const MAC_B = hex('020000000002')

function innerArp(): number[] {
  // who-has 192.168.50.2 tell 192.168.50.1, from 02:00:00:00:50:01
  return [...hex('ffffffffffff 020000005001 0806'), ...hex('0001 0800 06 04 0001 020000005001 c0a83201 000000000000 c0a83202')]
}

function vxlanHeader(vni: number, flags = 0x08): number[] {
  return [flags, 0, 0, 0, (vni >> 16) & 0xff, (vni >> 8) & 0xff, vni & 0xff, 0]
}

function udp(dst: number, payload: number[]): number[] {
  return [...u16(40000), ...u16(dst), ...u16(8 + payload.length), 0, 0, ...payload]
}

function ipv4Frame(payload: number[]): Uint8Array {
  const ip = [0x45, 0, ...u16(20 + payload.length), 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]
  return Uint8Array.from([...MAC_B, ...MAC_A, 0x08, 0x00, ...ip, ...payload])
}

function ipv6Frame(payload: number[]): Uint8Array {
  const ip = [0x60, 0, 0, 0, ...u16(payload.length), 17, 64, ...hex('fd000010000000000000000000000001'), ...hex('fd000010000000000000000000000002')]
  return Uint8Array.from([...MAC_B, ...MAC_A, 0x86, 0xdd, ...ip, ...payload])
}

describe('frames built byte by byte', () => {
  test('the largest VNI, over IPv6, on Linux\'s own port 8472', () => {
    const p = decodeEthernet(ipv6Frame(udp(8472, [...vxlanHeader(16_777_215), ...innerArp()])), 1)
    expect(p.ip).toMatchObject({ version: 6, src: 'fd00:10::1', dst: 'fd00:10::2' })
    expect(p.vxlan).toMatchObject({ vni: 16_777_215, inner: { arp: { op: 'request', targetIp: '192.168.50.2' }, length: 42 } })
    expect(p.summary).toBe('IPv6 fd00:10::1 > fd00:10::2 UDP 40000 > 8472 VXLAN 16777215: ARP who-has 192.168.50.2 tell 192.168.50.1')
  })

  test('VNI 0 is a VNI; the VNI is the three bytes after the reserved ones, not the reserved bytes', () => {
    expect(decodeEthernet(ipv4Frame(udp(4789, [...vxlanHeader(0), ...innerArp()])), 1).vxlan?.vni).toBe(0)
    const header = vxlanHeader(0x0a0b0c)
    header[1] = header[2] = header[3] = header[7] = 0xff // reserved bits set by a sender: ignored, as the RFC says
    expect(decodeEthernet(ipv4Frame(udp(4789, [...header, ...innerArp()])), 1).vxlan?.vni).toBe(0x0a0b0c)
  })

  test('an inner 802.1Q tag is looked through like an outer one', () => {
    const tagged = [...hex('ffffffffffff 020000005001 8100 000a 0806'), ...innerArp().slice(14)]
    const p = decodeEthernet(ipv4Frame(udp(4789, [...vxlanHeader(42), ...tagged])), 1)
    expect(p.vxlan?.inner).toMatchObject({ ethertype: 0x0806, arp: { targetIp: '192.168.50.2' } })
  })

  test('not VXLAN: the I flag clear, another port, or a payload too short for a header and a frame', () => {
    const flagless = decodeEthernet(ipv4Frame(udp(4789, [...vxlanHeader(42, 0x00), ...innerArp()])), 1)
    expect(flagless.vxlan).toBeUndefined()
    expect(flagless.udp).toMatchObject({ dstPort: 4789 })
    expect(decodeEthernet(ipv4Frame(udp(5000, [...vxlanHeader(42), ...innerArp()])), 1).vxlan).toBeUndefined()
    const short = decodeEthernet(ipv4Frame(udp(4789, [...vxlanHeader(42), ...innerArp().slice(0, 13)])), 1)
    expect(short.vxlan).toBeUndefined()
    expect(short.summary).toBe('IPv4 10.0.0.1 > 10.0.0.2 UDP 40000 > 4789 len 29')
  })

  test('the ports decoded by default are IANA\'s and Linux\'s; a capture adds its lab\'s', () => {
    expect(VXLAN_PORTS).toEqual([4789, 8472])
    const frame = ipv4Frame(udp(4790, [...vxlanHeader(7), ...innerArp()]))
    expect(decodeEthernet(frame, 1).vxlan).toBeUndefined()
    expect(decodeEthernet(frame, 1, frame.length, { vxlanPorts: [4790] }).vxlan?.vni).toBe(7)
  })

  test('VXLAN inside VXLAN decodes both layers', () => {
    const innerFrame = [...MAC_B, ...MAC_A, 0x08, 0x00, 0x45, 0, ...u16(20 + 8 + 8 + 42), 0, 0, 0, 0, 64, 17, 0, 0, 10, 1, 0, 1, 10, 1, 0, 2, ...udp(4789, [...vxlanHeader(2), ...innerArp()])]
    const p = decodeEthernet(ipv4Frame(udp(4789, [...vxlanHeader(1), ...innerFrame])), 1)
    expect(p.vxlan?.vni).toBe(1)
    expect(p.vxlan?.inner.vxlan?.vni).toBe(2)
    expect(p.summary).toBe('IPv4 10.0.0.1 > 10.0.0.2 UDP 40000 > 4789 VXLAN 1: IPv4 10.1.0.1 > 10.1.0.2 UDP 40000 > 4789 VXLAN 2: ARP who-has 192.168.50.2 tell 192.168.50.1')
  })
})
