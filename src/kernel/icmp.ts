// ICMP echo probes sent from this process: one raw socket per lab namespace (opened from inside it, kept
// for the lab's life) instead of one `ping` process per probe (~4–6 ms each, PERF-NOTES). Replies and ICMP
// errors are matched to their probe by echo id and sequence; the socket is read without blocking from
// short timers, so the event loop stays free and many probes share one socket.
import { withNamespace } from './setns.js'
import { addressBytes, addressText } from './netlink/codec.js'
import { AF_INET, AF_INET6, MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_RAW, type Libc } from './netlink/ffi.js'

const IPPROTO_ICMP = 1
const IPPROTO_ICMPV6 = 58

/** What became of one echo request. */
export type EchoOutcome =
  | { kind: 'reply'; from: string; rttMs: number }
  /**
   * An ICMP error about our probe, e.g. type 3 code 1 (host unreachable) from a router; `mtu` for "Frag needed"
   * (type 3 code 4, next-hop MTU in bytes 6–7) and ICMPv6 "Packet too big" (type 2, MTU in bytes 4–7).
   */
  | { kind: 'error'; from: string; family: 4 | 6; type: number; code: number; mtu?: number }
  /** sendto() refused at once: ENETUNREACH, EHOSTUNREACH, EPERM (an output filter), … */
  | { kind: 'send-failed'; errno: number; message: string }
  | { kind: 'timeout' }
  /** The lab was torn down while the probe waited. */
  | { kind: 'closed' }

interface Waiter {
  key: number
  sentAt: number
  deadline: number
  resolve: (o: EchoOutcome) => void
}

const SOL_RAW = 255
const PMTUDISC_DONT = 0
const PMTUDISC_WANT = 1 // a socket's default (net.ipv4.ip_no_pmtu_disc = 0)
const PMTUDISC_DO = 2
const ICMP_FILTER = 1
const ICMP6_FILTER = 1

/**
 * What the kernel may queue on a raw socket: every ICMP packet of the namespace arrives on it otherwise
 * (other probes' echo requests, neighbour discovery), and a full queue would drop our replies (as `ping` does).
 * IPv4: a set bit blocks that type; we pass echo reply (0), unreachable (3), time exceeded (11), parameter problem (12).
 * IPv6 (struct icmp6_filter, eight u32): a set bit blocks; we pass 1–4 (errors) and 129 (echo reply).
 */
export function icmpFilter(family: 4 | 6): Buffer {
  if (family === 4) {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(~((1 << 0) | (1 << 3) | (1 << 11) | (1 << 12)) >>> 0)
    return b
  }
  const words = new Uint32Array(8).fill(0xffffffff)
  for (const type of [1, 2, 3, 4, 129]) words[type >>> 5]! &= ~(1 << (type & 31)) >>> 0
  return Buffer.from(words.buffer)
}

class EchoSocket {
  readonly waiters = new Map<number, Waiter>()
  readonly #buf = Buffer.alloc(2048)
  readonly #from = Buffer.alloc(28)
  readonly #fromLen = Buffer.alloc(4)

  constructor(
    readonly c: Libc,
    readonly fd: number,
    readonly family: 4 | 6,
  ) {}

  /** Reads everything queued and settles the probes it answers. */
  drain(): void {
    for (;;) {
      this.#fromLen.writeUInt32LE(this.#from.length)
      const n = this.c.recvfrom(this.fd, this.#buf, this.#buf.length, MSG_DONTWAIT, this.#from, this.#fromLen)
      if (n < 0) return // EAGAIN: nothing more queued
      this.#dispatch(this.#buf.subarray(0, n))
    }
  }

  /** Settles the probes whose deadline has passed. */
  expire(now: number): void {
    for (const w of this.waiters.values()) {
      if (now < w.deadline) continue
      this.waiters.delete(w.key)
      w.resolve({ kind: 'timeout' })
    }
  }

  #dispatch(packet: Buffer): void {
    const from = addressText(this.family === 4 ? this.#from.subarray(4, 8) : this.#from.subarray(8, 24))
    // IPv4 raw sockets see the IP header; IPv6 ones only the ICMPv6 message.
    const icmp = this.family === 4 ? packet.subarray((packet[0]! & 0x0f) * 4) : packet
    if (icmp.length < 8) return
    const type = icmp[0]!
    const code = icmp[1]!
    if (type === (this.family === 4 ? 0 : 129)) return this.#settle(icmp.readUInt32BE(4), (w) => ({ kind: 'reply', from, rttMs: performance.now() - w.sentAt }))
    if (this.family === 4 ? [3, 11, 12].includes(type) : [1, 2, 3, 4].includes(type)) {
      // The error quotes our packet: its IP header, then our echo header (type, code, sum, id, seq).
      const quoted = this.family === 4 ? icmp.subarray(8 + ((icmp[8]! & 0x0f) * 4)) : icmp.subarray(8 + 40)
      const mtu = this.family === 4 ? (type === 3 && code === 4 ? icmp.readUInt16BE(6) : undefined) : type === 2 ? icmp.readUInt32BE(4) : undefined
      if (quoted.length >= 8 && quoted[0] === (this.family === 4 ? 8 : 128))
        this.#settle(quoted.readUInt32BE(4), () => ({ kind: 'error', from, family: this.family, type, code, ...(mtu === undefined ? {} : { mtu }) }))
    }
  }

  #settle(key: number, outcome: (w: Waiter) => EchoOutcome): void {
    const w = this.waiters.get(key)
    if (w === undefined) return
    this.waiters.delete(key)
    w.resolve(outcome(w))
  }

  close(): void {
    for (const w of this.waiters.values()) w.resolve({ kind: 'closed' })
    this.waiters.clear()
    this.c.close(this.fd)
  }
}

/** The Internet checksum (RFC 1071). */
export function checksum(b: Buffer): number {
  let sum = 0
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i)
  if (b.length % 2 === 1) sum += b[b.length - 1]! << 8
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return ~sum & 0xffff
}

/** An echo request: type 8 (ICMPv6: 128), id and sequence, and a payload naming us (`size` bytes, as `ping -s`; default 16). */
export function echoRequest(family: 4 | 6, id: number, seq: number, size = 16): Buffer {
  const b = Buffer.alloc(8 + Math.max(size, 0))
  b[0] = family === 4 ? 8 : 128
  b.writeUInt16BE(id, 4)
  b.writeUInt16BE(seq, 6)
  if (size >= 13) b.write('netspec-probe', 8)
  if (family === 4) b.writeUInt16BE(checksum(b), 2) // the kernel fills in the ICMPv6 checksum itself
  return b
}

function sockaddr(family: 4 | 6, address: string): Buffer {
  const b = Buffer.alloc(family === 4 ? 16 : 28)
  b.writeUInt16LE(family === 4 ? AF_INET : AF_INET6, 0)
  addressBytes(address).copy(b, family === 4 ? 4 : 8)
  return b
}

let nextKey = (Math.random() * 0xffffffff) >>> 0

export class IcmpProber {
  readonly #c: Libc
  readonly #sockets = new Map<string, EchoSocket>()
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined
  #closed = false
  /** Told of every echo request before it is sent (netns, address, id, sequence): the drop watcher ties drops to probes. */
  readonly sendListeners = new Set<(netns: string, address: string, id: number, seq: number) => void>()

  /** `enterAs` maps a namespace name to what withNamespace enters (a held fd, or the name). */
  constructor(c: Libc, readonly enterAs: (netns: string) => string | number = (n) => n) {
    this.#c = c
  }

  /**
   * Sends one echo request from `netns` to `address` and waits up to `timeoutMs` for what comes back. With `size`
   * (ICMP payload bytes, as `ping -s`), `dontFragment` true sets DF as `ping -M do` does (IP_MTU_DISCOVER /
   * IPV6_MTU_DISCOVER = PMTUDISC_DO: too big for the known path MTU fails at once with EMSGSIZE), false lets it
   * fragment (`-M dont`); the socket's default (WANT) is restored right after the send.
   */
  echo(netns: string, address: string, family: 4 | 6, timeoutMs: number, options: { size?: number; dontFragment?: boolean } = {}): Promise<EchoOutcome> {
    const s = this.#socket(netns, family)
    const key = (nextKey = (nextKey + 1) >>> 0)
    const packet = echoRequest(family, key >>> 16, key & 0xffff, options.size)
    const to = sockaddr(family, address)
    s.drain() // what is queued now is older than this probe; a full queue would drop its reply
    const pmtu = options.dontFragment === undefined ? undefined : options.dontFragment ? PMTUDISC_DO : PMTUDISC_DONT
    for (const fn of this.sendListeners) fn(netns, address, key >>> 16, key & 0xffff)
    return new Promise((resolve) => {
      const sentAt = performance.now()
      if (pmtu !== undefined) this.#pmtuDisc(s, pmtu)
      const sent = this.#c.sendto(s.fd, packet, packet.length, 0, to, to.length)
      const errno = sent < 0 ? this.#c.errno() : 0
      if (pmtu !== undefined) this.#pmtuDisc(s, PMTUDISC_WANT)
      if (sent < 0) {
        resolve({ kind: 'send-failed', errno, message: this.#c.strerror(errno) })
        return
      }
      s.waiters.set(key, { key, sentAt, deadline: sentAt + timeoutMs, resolve })
      this.#timer ??= setImmediate(() => this.#pump())
    })
  }

  #pmtuDisc(s: EchoSocket, value: number): void {
    const v = Buffer.alloc(4)
    v.writeInt32LE(value)
    // IPPROTO_IP/IP_MTU_DISCOVER (10), IPPROTO_IPV6/IPV6_MTU_DISCOVER (23)
    this.#c.setsockopt(s.fd, s.family === 4 ? 0 : 41, s.family === 4 ? 10 : 23, v, 4)
  }

  /** Closes every socket, for good: pending probes end as 'closed'. */
  close(): void {
    this.#closed = true
    for (const s of this.#sockets.values()) s.close()
    this.#sockets.clear()
  }

  /**
   * One pump for every socket with probes in flight. It looks again at the next turn of the event loop
   * while the newest probe is under a millisecond old (on a veth a reply, even after ARP, is there within a
   * fraction of one), then every millisecond (a timer's floor), so a long matrix does not spin a core.
   */
  #pump(): void {
    this.#timer = undefined
    const now = performance.now()
    let newest = -Infinity
    let waiting = false
    for (const s of this.#sockets.values()) {
      if (s.waiters.size === 0) continue
      s.drain()
      s.expire(now)
      for (const w of s.waiters.values()) newest = Math.max(newest, w.sentAt)
      waiting ||= s.waiters.size > 0
    }
    if (!waiting) return
    this.#timer = now - newest < 1 ? setImmediate(() => this.#pump()) : setTimeout(() => this.#pump(), 1)
  }

  #socket(netns: string, family: 4 | 6): EchoSocket {
    if (this.#closed) throw new Error(`the lab's ICMP sockets are closed (torn down); no probe from ${netns}`)
    const k = `${family}:${netns}`
    let s = this.#sockets.get(k)
    if (s !== undefined) return s
    const fd = withNamespace(this.enterAs(netns), () =>
      this.#c.socket(family === 4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_CLOEXEC, family === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6),
    )
    if (fd < 0) throw new Error(`cannot open a raw ICMP socket in ${netns}: ${this.#c.strerror(this.#c.errno())}`)
    const filter = icmpFilter(family)
    this.#c.setsockopt(fd, family === 4 ? SOL_RAW : IPPROTO_ICMPV6, family === 4 ? ICMP_FILTER : ICMP6_FILTER, filter, filter.length)
    this.#sockets.set(k, (s = new EchoSocket(this.#c, fd, family)))
    return s
  }
}
