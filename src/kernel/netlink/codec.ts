// rtnetlink messages as bytes: building requests and reading replies (rtnetlink(7), netlink(7)).
// Pure functions on Buffers, so every layout is unit-tested without root. Host byte order (little-endian
// on every machine Node runs netspec on) except where the kernel says network order (addresses).
import { isIP } from 'node:net'
import { canonicalV6, expandV6 } from '../address.js'
import { AF_INET, AF_INET6 } from './ffi.js'

export const NLMSG_ERROR = 2
export const NLMSG_DONE = 3
export const RTM_NEWLINK = 16
export const RTM_DELLINK = 17
export const RTM_GETLINK = 18
export const RTM_NEWADDR = 20
export const RTM_DELADDR = 21
export const RTM_NEWROUTE = 24
export const RTM_DELROUTE = 25
export const RTM_GETROUTE = 26

export const NLM_F_REQUEST = 0x1
export const NLM_F_ACK = 0x4
export const NLM_F_EXCL = 0x200
export const NLM_F_CREATE = 0x400
const NLM_F_ACK_TLVS = 0x200 // in an NLMSG_ERROR reply: extended-ack attributes follow
const NLMSGERR_ATTR_MSG = 1

export const IFLA = { ADDRESS: 1, IFNAME: 3, MTU: 4, MASTER: 10, LINKINFO: 18, NET_NS_FD: 28 } as const
const IFLA_INFO_KIND = 1
const IFLA_INFO_DATA = 2
const VETH_INFO_PEER = 1
const IFLA_BR_STP_STATE = 5
export const IFF_UP = 0x1

const IFA_ADDRESS = 1
const IFA_LOCAL = 2
export const IFA_F_NODAD = 0x02

export const RTA = { DST: 1, SRC: 2, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, METRICS: 8, MULTIPATH: 9, CACHEINFO: 12, TABLE: 15, VIA: 18 } as const
const RTAX_MTU = 2
export const RT_TABLE_MAIN = 254
export const RTN_UNICAST = 1
export const RTN_BLACKHOLE = 6
export const RT_SCOPE_UNIVERSE = 0
export const RT_SCOPE_LINK = 253
export const RT_SCOPE_NOWHERE = 255
const RTPROT_BOOT = 3 // what `ip route add` writes
export const RTNH_F_ONLINK = 4

export const familyOf = (f: 4 | 6): number => (f === 4 ? AF_INET : AF_INET6)

const align = (n: number): number => (n + 3) & ~3

/** One attribute (rtattr/nlattr): a value, or nested attributes. */
export type Attr = [type: number, value: Buffer | Attr[]]

export function encodeAttrs(attrs: readonly Attr[]): Buffer {
  const parts: Buffer[] = []
  for (const [type, value] of attrs) {
    const body = Buffer.isBuffer(value) ? value : encodeAttrs(value)
    const head = Buffer.alloc(4)
    head.writeUInt16LE(4 + body.length, 0)
    head.writeUInt16LE(type, 2)
    parts.push(head, body, Buffer.alloc(align(body.length) - body.length))
  }
  return Buffer.concat(parts)
}

export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n >>> 0)
  return b
}
export const str = (s: string): Buffer => Buffer.from(`${s}\0`)

/** An address as the kernel stores it (network byte order): 4 or 16 bytes. */
export function addressBytes(address: string): Buffer {
  const family = isIP(address)
  if (family === 4) return Buffer.from(address.split('.').map(Number))
  if (family !== 6) throw new Error(`not an IP address: ${address}`)
  const out = Buffer.alloc(16)
  expandV6(address).forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2))
  return out
}

/** Bytes (network order) → the text form `ip` prints (IPv6 compressed, lowercase). */
export function addressText(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.')
  return canonicalV6(Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16)).join(':'))
}

export function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)))
}

/** A whole netlink message: header (length, type, flags, seq, port 0) + fixed body + attributes. */
export function message(type: number, flags: number, seq: number, body: Buffer, attrs: readonly Attr[] = []): Buffer {
  const a = encodeAttrs(attrs)
  const head = Buffer.alloc(16)
  const len = 16 + align(body.length) + a.length
  head.writeUInt32LE(len, 0)
  head.writeUInt16LE(type, 4)
  head.writeUInt16LE(flags, 6)
  head.writeUInt32LE(seq, 8)
  return Buffer.concat([head, body, Buffer.alloc(align(body.length) - body.length), a])
}

/** struct ifinfomsg (16 bytes). */
export function ifinfomsg(o: { index?: number; flags?: number; change?: number } = {}): Buffer {
  const b = Buffer.alloc(16)
  b.writeInt32LE(o.index ?? 0, 4)
  b.writeUInt32LE(o.flags ?? 0, 8)
  b.writeUInt32LE(o.change ?? 0, 12)
  return b
}

/** struct ifaddrmsg (8 bytes). */
export function ifaddrmsg(family: 4 | 6, prefixLength: number, flags: number, scope: number, index: number): Buffer {
  const b = Buffer.alloc(8)
  b.writeUInt8(familyOf(family), 0)
  b.writeUInt8(prefixLength, 1)
  b.writeUInt8(flags, 2)
  b.writeUInt8(scope, 3)
  b.writeUInt32LE(index, 4)
  return b
}

/** struct rtmsg (12 bytes). */
export function rtmsg(o: { family: 4 | 6; dstLen: number; srcLen?: number; table: number; protocol?: number; scope: number; type: number; flags?: number }): Buffer {
  const b = Buffer.alloc(12)
  b.writeUInt8(familyOf(o.family), 0)
  b.writeUInt8(o.dstLen, 1)
  b.writeUInt8(o.srcLen ?? 0, 2)
  b.writeUInt8(Math.min(o.table, 255), 4)
  b.writeUInt8(o.protocol ?? 0, 5)
  b.writeUInt8(o.scope, 6)
  b.writeUInt8(o.type, 7)
  b.writeUInt32LE(o.flags ?? 0, 8)
  return b
}

export interface LinkAttrs {
  name: string
  mac?: string
  mtu?: number
  master?: number
  netnsFd?: number
}

function linkAttrs(o: LinkAttrs): Attr[] {
  return [
    [IFLA.IFNAME, str(o.name)],
    ...(o.mac === undefined ? [] : [[IFLA.ADDRESS, macBytes(o.mac)] as Attr]),
    ...(o.mtu === undefined ? [] : [[IFLA.MTU, u32(o.mtu)] as Attr]),
    ...(o.master === undefined ? [] : [[IFLA.MASTER, u32(o.master)] as Attr]),
    ...(o.netnsFd === undefined ? [] : [[IFLA.NET_NS_FD, u32(o.netnsFd)] as Attr]),
  ]
}

/** RTM_NEWLINK creating a veth pair; the peer's attributes ride inside VETH_INFO_PEER after its own ifinfomsg. */
export function newVeth(seq: number, a: LinkAttrs & { up?: boolean }, b: LinkAttrs): Buffer {
  const peer = Buffer.concat([ifinfomsg(), encodeAttrs(linkAttrs(b))])
  return message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, ifinfomsg(a.up === true ? { flags: IFF_UP, change: IFF_UP } : {}), [
    ...linkAttrs(a),
    [IFLA.LINKINFO, [[IFLA_INFO_KIND, str('veth')], [IFLA_INFO_DATA, [[VETH_INFO_PEER, peer]]]]],
  ])
}

export function newBridge(seq: number, a: LinkAttrs & { stp: boolean }): Buffer {
  return message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, ifinfomsg(), [
    ...linkAttrs(a),
    [IFLA.LINKINFO, [[IFLA_INFO_KIND, str('bridge')], [IFLA_INFO_DATA, [[IFLA_BR_STP_STATE, u32(a.stp ? 1 : 0)]]]]],
  ])
}

/** RTM_NEWLINK on an existing link, by index or by name (the kernel looks it up): up/down, mtu, mac, master (0 = none). */
export function setLink(seq: number, link: number | string, o: { up?: boolean; mtu?: number; mac?: string; master?: number }): Buffer {
  const flags = o.up === undefined ? {} : { flags: o.up ? IFF_UP : 0, change: IFF_UP }
  return message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifinfomsg({ index: typeof link === 'number' ? link : 0, ...flags }), [
    ...(typeof link === 'string' ? [[IFLA.IFNAME, str(link)] as Attr] : []),
    ...(o.mac === undefined ? [] : [[IFLA.ADDRESS, macBytes(o.mac)] as Attr]),
    ...(o.mtu === undefined ? [] : [[IFLA.MTU, u32(o.mtu)] as Attr]),
    ...(o.master === undefined ? [] : [[IFLA.MASTER, u32(o.master)] as Attr]),
  ])
}

export const delLink = (seq: number, index: number): Buffer => message(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifinfomsg({ index }))

/** RTM_GETLINK for one link by name (the reply is RTM_NEWLINK, or an error). */
export const getLink = (seq: number, name: string): Buffer => message(RTM_GETLINK, NLM_F_REQUEST, seq, ifinfomsg(), [[IFLA.IFNAME, str(name)]])

export function addr(seq: number, add: boolean, o: { family: 4 | 6; address: string; prefixLength: number; index: number; nodad: boolean }): Buffer {
  const bytes = addressBytes(o.address)
  const scope = o.family === 4 && o.address.startsWith('127.') ? 254 : o.address === '::1' ? 254 : RT_SCOPE_UNIVERSE
  return message(
    add ? RTM_NEWADDR : RTM_DELADDR,
    NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0),
    seq,
    ifaddrmsg(o.family, o.prefixLength, o.nodad ? IFA_F_NODAD : 0, scope, o.index),
    [
      [IFA_LOCAL, bytes],
      [IFA_ADDRESS, bytes],
    ],
  )
}

export interface RouteSpec {
  family: 4 | 6
  /** Undefined for default. */
  dst?: { address: string; prefixLength: number }
  gateway?: string
  oif?: number
  metric?: number
  table: number
  src?: string
  onlink: boolean
  /** RTN_* (default unicast): blackhole 6, unreachable 7, prohibit 8, throw 9. */
  type?: number
  /** The MTU metric (RTA_METRICS / RTAX_MTU). */
  mtu?: number
}

export function route(seq: number, add: boolean, r: RouteSpec): Buffer {
  const typed = r.type !== undefined && r.type !== RTN_UNICAST
  // As ip chooses it: a typed route (blackhole, …) is universe; a unicast one without gateway is link-scoped.
  const scope = add ? (r.gateway === undefined && !typed ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE) : RT_SCOPE_NOWHERE
  return message(
    add ? RTM_NEWROUTE : RTM_DELROUTE,
    NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0),
    seq,
    rtmsg({
      family: r.family,
      dstLen: r.dst?.prefixLength ?? 0,
      table: r.table,
      protocol: add ? RTPROT_BOOT : 0,
      scope,
      type: r.type ?? (add ? RTN_UNICAST : 0),
      flags: r.onlink ? RTNH_F_ONLINK : 0,
    }),
    [
      ...(r.dst === undefined ? [] : [[RTA.DST, addressBytes(r.dst.address)] as Attr]),
      ...(r.gateway === undefined ? [] : [[RTA.GATEWAY, addressBytes(r.gateway)] as Attr]),
      ...(r.oif === undefined ? [] : [[RTA.OIF, u32(r.oif)] as Attr]),
      ...(r.metric === undefined ? [] : [[RTA.PRIORITY, u32(r.metric)] as Attr]),
      ...(r.src === undefined ? [] : [[RTA.PREFSRC, addressBytes(r.src)] as Attr]),
      ...(r.table > 255 ? [[RTA.TABLE, u32(r.table)] as Attr] : []),
      ...(r.mtu === undefined ? [] : [[RTA.METRICS, [[RTAX_MTU, u32(r.mtu)]]] as Attr]),
    ],
  )
}

const NLM_F_DUMP = 0x300

/** RTM_GETROUTE dump of one family's routes (every table; the caller filters). */
export function dumpRoutes(seq: number, family: 4 | 6): Buffer {
  return message(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq, rtmsg({ family, dstLen: 0, table: 0, scope: 0, type: 0 }))
}

/** Asks the kernel to name the table the lookup found (as `ip route get` does); without it the reply says main. */
const RTM_F_LOOKUP_TABLE = 0x1000

/** RTM_GETROUTE: the kernel's decision for one destination (`ip route get [from SRC]`). */
export function getRoute(seq: number, family: 4 | 6, address: string, src?: string): Buffer {
  const width = family === 4 ? 32 : 128
  return message(RTM_GETROUTE, NLM_F_REQUEST, seq, rtmsg({ family, dstLen: width, srcLen: src === undefined ? 0 : width, table: 0, scope: 0, type: 0, flags: RTM_F_LOOKUP_TABLE }), [
    [RTA.DST, addressBytes(address)],
    ...(src === undefined ? [] : [[RTA.SRC, addressBytes(src)] as Attr]),
  ])
}

export const RTM_NEWNEIGH = 28
const RTM_GETNEIGH = 30
const NDA_DST = 1

/** RTM_GETNEIGH for one neighbour entry (the reply is RTM_NEWNEIGH, or ENOENT). */
export function getNeighbor(seq: number, family: 4 | 6, index: number, address: string): Buffer {
  const ndmsg = Buffer.alloc(12)
  ndmsg.writeUInt8(familyOf(family), 0)
  ndmsg.writeInt32LE(index, 4)
  return message(RTM_GETNEIGH, NLM_F_REQUEST, seq, ndmsg, [[NDA_DST, addressBytes(address)]])
}

const NUD_STATES = ['INCOMPLETE', 'REACHABLE', 'STALE', 'DELAY', 'PROBE', 'FAILED', 'NOARP', 'PERMANENT']

const NDA_LLADDR = 2
const NTF_ROUTER = 0x80

/** An RTM_NEWNEIGH body: its state as `ip` names it (['FAILED'], ['REACHABLE'], …), link-layer address, router flag. */
export function decodeNeighbor(body: Buffer): { state: string[]; mac?: string; router: boolean } {
  const state = body.readUInt16LE(8)
  const lladdr = decodeAttrs(body, 12).get(NDA_LLADDR)
  return {
    state: state === 0 ? ['NONE'] : NUD_STATES.filter((_, i) => (state & (1 << i)) !== 0),
    mac: lladdr === undefined ? undefined : [...lladdr].map((b) => b.toString(16).padStart(2, '0')).join(':'),
    router: (body.readUInt8(10) & NTF_ROUTER) !== 0,
  }
}

// ---- replies ----------------------------------------------------------------------------------

export interface Reply {
  type: number
  flags: number
  seq: number
  /** The message after its 16-byte header. */
  body: Buffer
}

/** Splits a datagram read from a netlink socket into messages. */
export function splitMessages(buf: Buffer): Reply[] {
  const out: Reply[] = []
  let off = 0
  while (off + 16 <= buf.length) {
    const len = buf.readUInt32LE(off)
    if (len < 16 || off + len > buf.length) break
    out.push({ type: buf.readUInt16LE(off + 4), flags: buf.readUInt16LE(off + 6), seq: buf.readUInt32LE(off + 8), body: buf.subarray(off + 16, off + len) })
    off += align(len)
  }
  return out
}

/** Attributes of a message body after its fixed part: type → value (the last of a type wins). */
export function decodeAttrs(buf: Buffer, from = 0): Map<number, Buffer> {
  const out = new Map<number, Buffer>()
  let off = from
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off)
    if (len < 4 || off + len > buf.length) break
    out.set(buf.readUInt16LE(off + 2) & 0x3fff, buf.subarray(off + 4, off + len))
    off += align(len)
  }
  return out
}

/**
 * An NLMSG_ERROR body: errno 0 is the acknowledgement; otherwise the positive errno and the kernel's
 * extended-ack message when it sent one (what `ip` prints as "Error: …").
 */
export function decodeError(r: Reply): { errno: number; message?: string } {
  const headerFlags = r.flags
  const errno = 0 - r.body.readInt32LE(0)
  if (errno === 0) return { errno }
  // The error echoes the request's header (16 bytes) and, without NLM_F_CAPPED, its whole payload.
  const echoed = r.body.readUInt32LE(4)
  const capped = (headerFlags & 0x100) !== 0
  const tlvStart = 4 + (capped ? 16 : align(echoed))
  if ((headerFlags & NLM_F_ACK_TLVS) === 0 || tlvStart > r.body.length) return { errno }
  const msg = decodeAttrs(r.body, tlvStart).get(NLMSGERR_ATTR_MSG)
  return { errno, message: msg === undefined ? undefined : msg.toString('utf8').replace(/\0+$/, '') }
}

export function decodeLink(body: Buffer): { index: number; flags: number; name?: string } {
  const attrs = decodeAttrs(body, 16)
  return { index: body.readInt32LE(4), flags: body.readUInt32LE(8), name: attrs.get(IFLA.IFNAME)?.toString('utf8').replace(/\0+$/, '') }
}

export interface DecodedRoute {
  family: 4 | 6
  type: number
  table: number
  oif?: number
  gateway?: string
  prefsrc?: string
  dst?: string
  /** RTAX_MTU of RTA_METRICS: the route's MTU, or the path MTU the kernel learned. */
  mtu?: number
  /** rta_cacheinfo.rta_expires in seconds, when the kernel holds a learned (expiring) value. */
  expires?: number
  /** RTA_MULTIPATH: the paths of a multipath route (a dump; a lookup's answer names the one path it chose). */
  nexthops?: DecodedNexthop[]
}

/** One struct rtnexthop of RTA_MULTIPATH, with its own RTA_GATEWAY or RTA_VIA. */
export interface DecodedNexthop {
  oif: number
  gateway?: string
  /** rtnh_hops + 1, as ip prints the weight. */
  weight: number
  /** RTNH_F_* (1 dead, 2 pervasive, 4 onlink, 16 linkdown, …). */
  flags: number
}

/** A gateway: RTA_GATEWAY (the route's own family), or RTA_VIA (struct rtvia: family u16, then the address). */
function gatewayOf(attrs: Map<number, Buffer>): string | undefined {
  const gw = attrs.get(RTA.GATEWAY)
  if (gw !== undefined) return addressText(gw)
  const via = attrs.get(RTA.VIA)
  if (via === undefined || via.length < 2) return undefined
  const bytes = via.subarray(2)
  return bytes.length === 4 || bytes.length === 16 ? addressText(bytes) : undefined
}

/** RTA_MULTIPATH: struct rtnexthop { len u16, flags u8, hops u8, ifindex s32 } each followed by its attributes. */
export function decodeMultipath(buf: Buffer): DecodedNexthop[] {
  const out: DecodedNexthop[] = []
  let off = 0
  while (off + 8 <= buf.length) {
    const len = buf.readUInt16LE(off)
    if (len < 8 || off + len > buf.length) break
    const attrs = decodeAttrs(buf.subarray(off, off + len), 8)
    const hop: DecodedNexthop = { oif: buf.readInt32LE(off + 4), weight: buf.readUInt8(off + 3) + 1, flags: buf.readUInt8(off + 2) }
    const gateway = gatewayOf(attrs)
    if (gateway !== undefined) hop.gateway = gateway
    out.push(hop)
    off += align(len)
  }
  return out
}

/** The prefix length of a route message (0 for a default route). */
export const routeDstLen = (body: Buffer): number => body.readUInt8(1)

export function decodeRoute(body: Buffer): DecodedRoute {
  const attrs = decodeAttrs(body, 12)
  const text = (k: number) => {
    const v = attrs.get(k)
    return v === undefined ? undefined : addressText(v)
  }
  const table = attrs.get(RTA.TABLE)
  return {
    family: body.readUInt8(0) === AF_INET6 ? 6 : 4,
    type: body.readUInt8(7),
    table: table === undefined ? body.readUInt8(4) : table.readUInt32LE(0),
    oif: attrs.get(RTA.OIF)?.readUInt32LE(0),
    gateway: gatewayOf(attrs),
    prefsrc: text(RTA.PREFSRC),
    dst: text(RTA.DST),
    ...metricsOf(attrs),
    ...(attrs.has(RTA.MULTIPATH) ? { nexthops: decodeMultipath(attrs.get(RTA.MULTIPATH)!) } : {}),
  }
}

const USER_HZ = 100 // rta_expires is in clock ticks; ip divides by its hz (100) as here

function metricsOf(attrs: Map<number, Buffer>): { mtu?: number; expires?: number } {
  const out: { mtu?: number; expires?: number } = {}
  const metrics = attrs.get(RTA.METRICS)
  const mtu = metrics === undefined ? undefined : decodeAttrs(metrics).get(RTAX_MTU)
  if (mtu !== undefined && mtu.length >= 4) out.mtu = mtu.readUInt32LE(0)
  const ci = attrs.get(RTA.CACHEINFO)
  // struct rta_cacheinfo: clntref, lastuse, expires (s32), error, used, id, ts, tsage
  if (ci !== undefined && ci.length >= 12 && ci.readInt32LE(8) !== 0) out.expires = Math.trunc(ci.readInt32LE(8) / USER_HZ)
  return out
}

/** Route types as `ip -j route get` names them. */
export const ROUTE_TYPES = ['unspec', 'unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat', 'xresolve']
