// Parses classic pcap files (as `tcpdump -w` writes them) into typed packet records in TypeScript:
// no prose parsing of tcpdump's text output, whose format changes between versions.

export interface ArpInfo {
  op: 'request' | 'reply' | number
  senderMac: string
  senderIp: string
  targetMac: string
  targetIp: string
}
export interface IpInfo {
  version: 4 | 6
  src: string
  dst: string
  /**
   * The upper-layer protocol (1 ICMP, 6 TCP, 17 UDP, 58 ICMPv6, …): for IPv6 the one after the extension headers
   * (hop-by-hop, routing, fragment, destination options, AH), or the header where the walk stopped (a truncated
   * chain, 59 no next header).
   */
  protocol: number
  ttl: number
  /** A fragment (IPv4 MF flag or offset, an IPv6 Fragment header): only the first (offset 0) carries the transport header. */
  fragment?: FragmentInfo
  /** IPv6: the extension headers walked, in order (0 hop-by-hop, 43 routing, 44 fragment, 51 AH, 60 destination options). */
  extensions?: number[]
}

export interface FragmentInfo {
  /** The identification shared by the fragments of one datagram (16 bits in IPv4, 32 in IPv6). */
  id: number
  /** Where this fragment's data starts in the datagram, in bytes (tcpdump's "offset"). */
  offset: number
  /** More fragments follow (the MF / M flag). */
  more: boolean
}
export interface IcmpInfo {
  /** 'echo-request' / 'echo-reply' for ICMP and ICMPv6 alike; other types by number. */
  kind: string
  type: number
  code: number
  id?: number
  seq?: number
}
export interface TcpInfo {
  srcPort: number
  dstPort: number
  flags: string[]
  seq: number
  ack: number
}
export interface UdpInfo {
  srcPort: number
  dstPort: number
  length: number
}

/** A VXLAN packet's header (RFC 7348) and the Ethernet frame it carries, decoded like any other. */
export interface VxlanInfo {
  /** The 24-bit VXLAN Network Identifier. */
  vni: number
  /** The header's flags byte (0x08: the VNI is valid). */
  flags: number
  inner: Packet
}

/** How far to look into UDP payloads. */
export interface DecodeOptions {
  /**
   * UDP destination ports whose payload is decoded as VXLAN (default 4789 and 8472; a lab's capture adds
   * the ports of the tunnels it made).
   */
  vxlanPorts?: readonly number[]
}

/** IANA's VXLAN port and Linux's pre-standard default. */
export const VXLAN_PORTS: readonly number[] = [4789, 8472]

/** One captured frame, decoded as far as netspec understands it. */
export interface Packet {
  /** Seconds since the epoch, with microseconds. */
  time: number
  length: number
  srcMac?: string
  dstMac?: string
  ethertype?: number
  arp?: ArpInfo
  ip?: IpInfo
  icmp?: IcmpInfo
  tcp?: TcpInfo
  udp?: UdpInfo
  /** A VXLAN packet (UDP to a VXLAN port): its VNI and the inner frame. */
  vxlan?: VxlanInfo
  /** One line a person reads, e.g. `ARP who-has 10.0.12.2 tell 10.0.12.1`. */
  summary: string
}

const LINKTYPE_ETHERNET = 1

const mac = (b: Uint8Array, o: number): string =>
  Array.from(b.subarray(o, o + 6), (x) => x.toString(16).padStart(2, '0')).join(':')
const ipv4 = (b: Uint8Array, o: number): string => Array.from(b.subarray(o, o + 4)).join('.')

/** Compressed IPv6 text (RFC 5952: longest run of zero groups as `::`). */
export function ipv6(b: Uint8Array, o: number): string {
  const g: number[] = []
  for (let i = 0; i < 8; i++) g.push((b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!)
  let best = -1
  let bestLen = 1
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen) { best = i; bestLen = j - i }
    i = j
  }
  const hex = g.map((x) => x.toString(16))
  if (best < 0) return hex.join(':')
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`
}

const TCP_FLAGS = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'] as const

/** Decodes a whole pcap file (either byte order, µs or ns timestamps). Throws on a file that is not pcap. */
export function parsePcap(buf: Uint8Array, options: DecodeOptions = {}): Packet[] {
  if (buf.length < 24) return []
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const magic = dv.getUint32(0, true)
  let le: boolean
  let nano = false
  if (magic === 0xa1b2c3d4) le = true
  else if (magic === 0xd4c3b2a1) le = false
  else if (magic === 0xa1b23c4d) { le = true; nano = true }
  else if (magic === 0x4d3cb2a1) { le = false; nano = true }
  else throw new Error(`not a pcap file (magic 0x${magic.toString(16)}); pcapng is not supported`)
  const linktype = dv.getUint32(20, le)
  const packets: Packet[] = []
  for (let o = 24; o + 16 <= buf.length; ) {
    const sec = dv.getUint32(o, le)
    const frac = dv.getUint32(o + 4, le)
    const incl = dv.getUint32(o + 8, le)
    const orig = dv.getUint32(o + 12, le)
    const start = o + 16
    if (start + incl > buf.length) break // a record cut short by a kill: ignore the torn tail
    const frame = buf.subarray(start, start + incl)
    const time = sec + frac / (nano ? 1e9 : 1e6)
    packets.push(linktype === LINKTYPE_ETHERNET ? decodeEthernet(frame, time, orig, options) : { time, length: orig, summary: `linktype ${linktype}` })
    o = start + incl
  }
  return packets
}

/** Decodes one Ethernet frame (and, inside a VXLAN packet, the frame it carries). */
export function decodeEthernet(f: Uint8Array, time: number, length = f.length, options: DecodeOptions = {}): Packet {
  const p: Packet = { time, length, summary: 'truncated frame' }
  if (f.length < 14) return p
  p.dstMac = mac(f, 0)
  p.srcMac = mac(f, 6)
  let type = (f[12]! << 8) | f[13]!
  let o = 14
  if (type === 0x8100 && f.length >= 18) { type = (f[16]! << 8) | f[17]!; o = 18 } // 802.1Q tag: look through it
  p.ethertype = type
  p.summary = `ethertype 0x${type.toString(16).padStart(4, '0')}`
  if (type === 0x0806) decodeArp(f, o, p)
  else if (type === 0x0800) decodeIpv4(f, o, p, options)
  else if (type === 0x86dd) decodeIpv6(f, o, p, options)
  return p
}

function decodeArp(f: Uint8Array, o: number, p: Packet): void {
  if (f.length < o + 28) return
  const opn = (f[o + 6]! << 8) | f[o + 7]!
  const op = opn === 1 ? 'request' : opn === 2 ? 'reply' : opn
  const arp: ArpInfo = { op, senderMac: mac(f, o + 8), senderIp: ipv4(f, o + 14), targetMac: mac(f, o + 18), targetIp: ipv4(f, o + 24) }
  p.arp = arp
  p.summary =
    op === 'request' ? `ARP who-has ${arp.targetIp} tell ${arp.senderIp}`
    : op === 'reply' ? `ARP ${arp.senderIp} is-at ${arp.senderMac}`
    : `ARP op ${opn}`
}

function decodeIpv4(f: Uint8Array, o: number, p: Packet, options: DecodeOptions): void {
  if (f.length < o + 20) return
  const ihl = (f[o]! & 0x0f) * 4
  const ip: IpInfo = { version: 4, src: ipv4(f, o + 12), dst: ipv4(f, o + 16), protocol: f[o + 9]!, ttl: f[o + 8]! }
  p.ip = ip
  const base = `IPv4 ${ip.src} > ${ip.dst}`
  if (ihl < 20) {
    p.summary = `${base} bad header length ${ihl}`
    return
  }
  const flagsOffset = (f[o + 6]! << 8) | f[o + 7]!
  const more = (flagsOffset & 0x2000) !== 0
  const offset = (flagsOffset & 0x1fff) * 8
  if (more || offset > 0) ip.fragment = { id: (f[o + 4]! << 8) | f[o + 5]!, offset, more }
  // The datagram ends at its total length (a short frame is padded), or where the capture was cut.
  const total = (f[o + 2]! << 8) | f[o + 3]!
  const end = Math.min(f.length, o + Math.max(total, ihl))
  decodeL4(f.subarray(0, end), o + ihl, ip, p, options)
}

/** IPv6 extension headers the walk steps over: hop-by-hop, routing, fragment, AH, destination options. */
const EXTENSIONS = new Set([0, 43, 44, 51, 60])
/** More headers than this is no packet a lab sends: the walk stops (tcpdump stops too, at its own bound). */
const MAX_EXTENSIONS = 16

function decodeIpv6(f: Uint8Array, o: number, p: Packet, options: DecodeOptions): void {
  if (f.length < o + 40) return
  const payload = (f[o + 4]! << 8) | f[o + 5]!
  // Payload length 0 is a jumbogram (its length is in a hop-by-hop option): the capture's end bounds it then.
  const g = f.subarray(0, payload === 0 ? f.length : Math.min(f.length, o + 40 + payload))
  let next = g[o + 6]!
  let l4 = o + 40
  const ip: IpInfo = { version: 6, src: ipv6(g, o + 8), dst: ipv6(g, o + 24), protocol: next, ttl: g[o + 7]! }
  const extensions: number[] = []
  let complete = true
  while (EXTENSIONS.has(next)) {
    if (extensions.length >= MAX_EXTENSIONS || g.length < l4 + 8) {
      complete = false // truncated or absurd chain: the header it stopped at is named, nothing is decoded past it
      break
    }
    extensions.push(next)
    if (next === 44) {
      const v = (g[l4 + 2]! << 8) | g[l4 + 3]!
      ip.fragment = { id: ((g[l4 + 4]! << 24) | (g[l4 + 5]! << 16) | (g[l4 + 6]! << 8) | g[l4 + 7]!) >>> 0, offset: (v >> 3) * 8, more: (v & 1) !== 0 }
      next = g[l4]!
      l4 += 8
    } else {
      const len = next === 51 ? (g[l4 + 1]! + 2) * 4 : (g[l4 + 1]! + 1) * 8
      next = g[l4]!
      l4 += len
    }
  }
  ip.protocol = next
  if (extensions.length > 0) ip.extensions = extensions
  p.ip = ip
  if (!complete) {
    p.summary = `IPv6 ${ip.src} > ${ip.dst} truncated extension header ${next}`
    return
  }
  decodeL4(g, l4, ip, p, options)
}

const ICMP4: Record<number, string> = { 0: 'echo-reply', 3: 'unreachable', 8: 'echo-request', 11: 'time-exceeded' }
const ICMP6: Record<number, string> = {
  1: 'unreachable', 2: 'packet-too-big', 3: 'time-exceeded', 128: 'echo-request', 129: 'echo-reply',
  130: 'mld-query', 131: 'mld-report', 132: 'mld-done', 143: 'mld2-report',
  133: 'router-solicitation', 134: 'router-advertisement', 135: 'neighbor-solicitation', 136: 'neighbor-advertisement',
}

/** " frag (id 4660, offset 1480, more)", as tcpdump -v names a fragment. */
const fragText = (fr: FragmentInfo | undefined) => (fr === undefined ? '' : ` frag (id ${fr.id}, offset ${fr.offset}${fr.more ? ', more' : ''})`)

function decodeL4(f: Uint8Array, o: number, ip: IpInfo, p: Packet, options: DecodeOptions): void {
  const base = `IPv${ip.version} ${ip.src} > ${ip.dst}`
  const frag = fragText(ip.fragment)
  p.summary = `${base} proto ${ip.protocol}${frag}`
  // A later fragment carries data, not a transport header (tcpdump: "ip-proto-1", "frag (0|1448)" without ICMP6).
  if (ip.fragment !== undefined && ip.fragment.offset > 0) return
  if ((ip.protocol === 1 || ip.protocol === 58) && f.length >= o + 4) {
    const type = f[o]!
    const names = ip.protocol === 1 ? ICMP4 : ICMP6
    const icmp: IcmpInfo = { kind: names[type] ?? `type-${type}`, type, code: f[o + 1]! }
    if (icmp.kind.startsWith('echo') && f.length >= o + 8) {
      icmp.id = (f[o + 4]! << 8) | f[o + 5]!
      icmp.seq = (f[o + 6]! << 8) | f[o + 7]!
    }
    p.icmp = icmp
    p.summary = `${base} ICMP${ip.version === 6 ? 'v6' : ''} ${icmp.kind}${icmp.seq !== undefined ? ` seq ${icmp.seq}` : ''}${frag}`
  } else if (ip.protocol === 6 && f.length >= o + 14) {
    const bits = f[o + 13]!
    const tcp: TcpInfo = {
      srcPort: (f[o]! << 8) | f[o + 1]!,
      dstPort: (f[o + 2]! << 8) | f[o + 3]!,
      seq: new DataView(f.buffer, f.byteOffset + o + 4, 4).getUint32(0),
      ack: new DataView(f.buffer, f.byteOffset + o + 8, 4).getUint32(0),
      flags: TCP_FLAGS.filter((_, i) => (bits & (1 << i)) !== 0),
    }
    p.tcp = tcp
    p.summary = `${base} TCP ${tcp.srcPort} > ${tcp.dstPort} [${tcp.flags.join(',')}]${frag}`
  } else if (ip.protocol === 17 && f.length >= o + 8) {
    const udp: UdpInfo = { srcPort: (f[o]! << 8) | f[o + 1]!, dstPort: (f[o + 2]! << 8) | f[o + 3]!, length: (f[o + 4]! << 8) | f[o + 5]! }
    p.udp = udp
    p.summary = `${base} UDP ${udp.srcPort} > ${udp.dstPort} len ${udp.length}${frag}`
    // VXLAN (RFC 7348 §5): 8 bytes (flags with the I bit 0x08, 24 reserved bits, the 24-bit VNI, 8 reserved bits), then a whole Ethernet frame.
    if ((options.vxlanPorts ?? VXLAN_PORTS).includes(udp.dstPort) && f.length >= o + 16 + 14 && (f[o + 8]! & 0x08) !== 0) {
      const vni = (f[o + 12]! << 16) | (f[o + 13]! << 8) | f[o + 14]!
      const inner = decodeEthernet(f.subarray(o + 16), p.time, Math.max(0, udp.length - 16), options)
      p.vxlan = { vni, flags: f[o + 8]!, inner }
      p.summary = `${base} UDP ${udp.srcPort} > ${udp.dstPort} VXLAN ${vni}: ${inner.summary}`
    }
  }
}
