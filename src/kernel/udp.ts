// One UDP request and its reply, sent from inside a lab namespace by this process: a datagram socket opened
// there through setns (as kernel/icmp.ts opens its raw sockets), connected, so an ICMP "port unreachable"
// comes back as ECONNREFUSED, read without blocking from short timers, and closed at once (an open socket
// would keep the namespace alive after teardown). ~1 ms instead of a process per query.
import { addressBytes } from './netlink/codec.js'
import { AF_INET, AF_INET6, MSG_DONTWAIT, SOCK_CLOEXEC, type Libc } from './netlink/ffi.js'
import { withNamespace } from './setns.js'

const SOCK_DGRAM = 2
const EAGAIN = 11
const ERRNO_NAMES: Record<number, string> = { 111: 'ECONNREFUSED', 101: 'ENETUNREACH', 113: 'EHOSTUNREACH', 1: 'EPERM', 13: 'EACCES', 99: 'EADDRNOTAVAIL' }

export interface UdpExchange {
  /** 'answer', 'timeout', or the socket error's name (ECONNREFUSED: nothing listens there). */
  outcome: string
  reply?: Buffer
  ms: number
}

function sockaddr(family: 4 | 6, address: string, port: number): Buffer {
  const b = Buffer.alloc(family === 4 ? 16 : 28)
  b.writeUInt16LE(family === 4 ? AF_INET : AF_INET6, 0)
  b.writeUInt16BE(port, 2)
  addressBytes(address).copy(b, family === 4 ? 4 : 8)
  return b
}

/** Sends `payload` to address:port from inside `enterAs` and waits up to `timeoutMs` for a reply that `accept`s. */
export function udpExchange(
  c: Libc,
  enterAs: string | number,
  family: 4 | 6,
  address: string,
  port: number,
  payload: Buffer,
  timeoutMs: number,
  accept: (reply: Buffer) => boolean,
): Promise<UdpExchange> {
  const t0 = performance.now()
  const errName = (errno: number) => ERRNO_NAMES[errno] ?? `errno ${errno} (${c.strerror(errno)})`
  const fd = withNamespace(enterAs, () => c.socket(family === 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0))
  if (fd < 0) return Promise.resolve({ outcome: errName(c.errno()), ms: performance.now() - t0 })
  const to = sockaddr(family, address, port)
  if (c.connect(fd, to, to.length) < 0 || c.send(fd, payload, payload.length, 0) < 0) {
    const outcome = errName(c.errno())
    c.close(fd)
    return Promise.resolve({ outcome, ms: performance.now() - t0 })
  }
  const buf = Buffer.alloc(65535)
  return new Promise((resolve) => {
    const done = (r: Omit<UdpExchange, 'ms'>) => {
      c.close(fd)
      resolve({ ...r, ms: performance.now() - t0 })
    }
    let wait = 0
    const poll = () => {
      for (;;) {
        const n = c.recv(fd, buf, buf.length, MSG_DONTWAIT)
        if (n < 0) {
          const errno = c.errno()
          if (errno !== EAGAIN) return done({ outcome: errName(errno) })
          break
        }
        const reply = Buffer.from(buf.subarray(0, n))
        if (accept(reply)) return done({ outcome: 'answer', reply })
      }
      const left = t0 + timeoutMs - performance.now()
      if (left <= 0) return done({ outcome: 'timeout' })
      // The next turn at first (a reply on a veth takes well under a millisecond), then up to every 5 ms.
      if (wait === 0) setImmediate(poll)
      else setTimeout(poll, Math.min(wait, left))
      wait = wait === 0 ? 1 : Math.min(wait * 2, 5)
    }
    poll()
  })
}
