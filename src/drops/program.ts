// The bpftrace program of the drop watcher and the parser of what it prints. One line per dropped packet:
//   D <netns inode> <reason number> <ifindex> <kernel function> <first 64 bytes of the network header, 8 × u64 hex>
//     <when: the kernel's CLOCK_MONOTONIC in ns (bpftrace's nsecs), the clock of process.hrtime.bigint()>
// The netns is the device's (skb->dev->nd_net); packets without a device (dropped at socket level, or before a
// device was set) take their socket's netns, else inode 0 (not attributable: ignored). Drops in the watcher's own
// namespace (the machine's root namespace) are filtered in the kernel: they are never ours, and never printed.
import { addressText } from '../kernel/netlink/codec.js'

export function bpftraceProgram(ownInode: number): string {
  if (!Number.isSafeInteger(ownInode) || ownInode < 0) throw new Error(`bad namespace inode ${ownInode}`)
  const words = Array.from({ length: 8 }, (_, i) => `*(uint64 *)($h + ${i * 8})`).join(', ')
  return `BEGIN { printf("ready\\n"); }
tracepoint:skb:kfree_skb
{
  $skb = (struct sk_buff *)args->skbaddr;
  $dev = $skb->dev;
  $ino = (uint32)0;
  $ifi = (int32)0;
  if ($dev != 0) { $ino = $dev->nd_net.net->ns.inum; $ifi = $dev->ifindex; }
  else if ($skb->sk != 0) { $ino = $skb->sk->__sk_common.skc_net.net->ns.inum; }
  if ($ino != 0 && $ino != ${ownInode}) {
    $h = $skb->head + $skb->network_header;
    printf("D %u %d %d %s %lx %lx %lx %lx %lx %lx %lx %lx %llu\\n", $ino, args->reason, $ifi, ksym(args->location), ${words}, nsecs);
  }
}
`
}

/** The IP packet a drop was of, as far as its first 64 bytes tell. */
export interface DroppedPacket {
  family: 4 | 6
  src: string
  dst: string
  /** 'icmp' also for ICMPv6; a number for other protocols. */
  proto: 'icmp' | 'tcp' | 'udp' | number
  icmpType?: number
  /** ICMP echo id and sequence. */
  id?: number
  seq?: number
  sport?: number
  dport?: number
}

export interface RawDrop {
  inode: number
  reasonCode: number
  ifindex: number
  function: string
  packet?: DroppedPacket
  /** When the kernel dropped it (CLOCK_MONOTONIC ns), if the line says. */
  nsecs?: bigint
}

/** One printed line, or undefined for anything else (bpftrace's own messages). */
export function parseDropLine(line: string): RawDrop | undefined {
  const f = line.trim().split(' ')
  if (f[0] !== 'D' || (f.length !== 13 && f.length !== 14)) return undefined
  if (f.length === 14 && !/^\d{1,20}$/.test(f[13]!)) return undefined
  const [inode, reasonCode, ifindex] = [Number(f[1]), Number(f[2]), Number(f[3])]
  if (![inode, reasonCode, ifindex].every(Number.isFinite)) return undefined
  const head = Buffer.alloc(64)
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-f]{1,16}$/.test(f[5 + i]!)) return undefined
    head.writeBigUInt64LE(BigInt(`0x${f[5 + i]}`), i * 8) // read from memory as a little-endian u64: back to bytes
  }
  return { inode, reasonCode, ifindex, function: f[4]!, packet: decodePacket(head), ...(f.length === 14 ? { nsecs: BigInt(f[13]!) } : {}) }
}

/** IPv4 or IPv6 header and the first bytes of ICMP, TCP or UDP (no extension headers followed). */
export function decodePacket(b: Buffer): DroppedPacket | undefined {
  const version = b[0]! >>> 4
  let proto: number
  let l4: number
  let p: DroppedPacket
  if (version === 4) {
    const ihl = (b[0]! & 0x0f) * 4
    if (ihl < 20) return undefined
    proto = b[9]!
    l4 = ihl
    p = { family: 4, src: addressText(b.subarray(12, 16)), dst: addressText(b.subarray(16, 20)), proto }
  } else if (version === 6) {
    proto = b[6]!
    l4 = 40
    p = { family: 6, src: addressText(b.subarray(8, 24)), dst: addressText(b.subarray(24, 40)), proto }
  } else return undefined
  if (l4 + 8 > b.length) return p
  if (proto === 1 || proto === 58) {
    p.proto = 'icmp'
    p.icmpType = b[l4]!
    if ([0, 8, 128, 129].includes(p.icmpType)) {
      p.id = b.readUInt16BE(l4 + 4)
      p.seq = b.readUInt16BE(l4 + 6)
    }
  } else if (proto === 6 || proto === 17) {
    p.proto = proto === 6 ? 'tcp' : 'udp'
    p.sport = b.readUInt16BE(l4)
    p.dport = b.readUInt16BE(l4 + 2)
  }
  return p
}
