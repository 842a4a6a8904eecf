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
  protocol: number
  ttl: number
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
  decodeL4(f, o + ihl, ip, p, options)
}

function decodeIpv6(f: Uint8Array, o: number, p: Packet, options: DecodeOptions): void {
  if (f.length < o + 40) return
  let next = f[o + 6]!
  let l4 = o + 40
  // Skip the common extension headers (hop-by-hop, routing, destination options), e.g. before MLD.
  while ((next === 0 || next === 43 || next === 60) && f.length >= l4 + 8) {
    next = f[l4]!
    l4 += (f[l4 + 1]! + 1) * 8
  }
  const ip: IpInfo = { version: 6, src: ipv6(f, o + 8), dst: ipv6(f, o + 24), protocol: next, ttl: f[o + 7]! }
  p.ip = ip
  decodeL4(f, l4, ip, p, options)
}

const ICMP4: Record<number, string> = { 0: 'echo-reply', 3: 'unreachable', 8: 'echo-request', 11: 'time-exceeded' }
const ICMP6: Record<number, string> = {
  1: 'unreachable', 3: 'time-exceeded', 128: 'echo-request', 129: 'echo-reply',
  133: 'router-solicitation', 134: 'router-advertisement', 135: 'neighbor-solicitation', 136: 'neighbor-advertisement',
}

function decodeL4(f: Uint8Array, o: number, ip: IpInfo, p: Packet, options: DecodeOptions): void {
  const base = `IPv${ip.version} ${ip.src} > ${ip.dst}`
  p.summary = `${base} proto ${ip.protocol}`
  if ((ip.protocol === 1 || ip.protocol === 58) && f.length >= o + 4) {
    const type = f[o]!
    const names = ip.protocol === 1 ? ICMP4 : ICMP6
    const icmp: IcmpInfo = { kind: names[type] ?? `type-${type}`, type, code: f[o + 1]! }
    if (icmp.kind.startsWith('echo') && f.length >= o + 8) {
      icmp.id = (f[o + 4]! << 8) | f[o + 5]!
      icmp.seq = (f[o + 6]! << 8) | f[o + 7]!
    }
    p.icmp = icmp
    p.summary = `${base} ICMP${ip.version === 6 ? 'v6' : ''} ${icmp.kind}${icmp.seq !== undefined ? ` seq ${icmp.seq}` : ''}`
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
    p.summary = `${base} TCP ${tcp.srcPort} > ${tcp.dstPort} [${tcp.flags.join(',')}]`
  } else if (ip.protocol === 17 && f.length >= o + 8) {
    const udp: UdpInfo = { srcPort: (f[o]! << 8) | f[o + 1]!, dstPort: (f[o + 2]! << 8) | f[o + 3]!, length: (f[o + 4]! << 8) | f[o + 5]! }
    p.udp = udp
    p.summary = `${base} UDP ${udp.srcPort} > ${udp.dstPort} len ${udp.length}`
    // VXLAN (RFC 7348 §5): 8 bytes (flags with the I bit 0x08, 24 reserved bits, the 24-bit VNI, 8 reserved bits), then a whole Ethernet frame.
    if ((options.vxlanPorts ?? VXLAN_PORTS).includes(udp.dstPort) && f.length >= o + 16 + 14 && (f[o + 8]! & 0x08) !== 0) {
      const vni = (f[o + 12]! << 16) | (f[o + 13]! << 8) | f[o + 14]!
      const inner = decodeEthernet(f.subarray(o + 16), p.time, Math.max(0, udp.length - 16), options)
      p.vxlan = { vni, flags: f[o + 8]!, inner }
      p.summary = `${base} UDP ${udp.srcPort} > ${udp.dstPort} VXLAN ${vni}: ${inner.summary}`
    }
  }
}
