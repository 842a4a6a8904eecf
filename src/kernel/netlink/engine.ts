// The in-process kernel path: the lab's `ip` batch lines (the subset netspec itself writes) carried out
// as rtnetlink requests on one socket per namespace, opened once from inside it (setns) and kept for the
// lab's life. No process per batch: a request costs ~0.05 ms against ~3 ms for spawning `ip` (PERF-NOTES).
// A batch with any line outside the subset goes to `ip` whole, so both paths give the same kernel state;
// failures are reported in ip's own words ("RTNETLINK answers: File exists", "Error: …", "Cannot find
// device …") so error messages do not depend on the path taken.
import { closeSync, openSync } from 'node:fs'
import { isIP } from 'node:net'
import { createNamespace, netnsDirReady, withNamespace } from '../setns.js'
import type { Neighbor, RouteDecision } from '../types.js'
import { IcmpProber } from '../icmp.js'
import * as nl from './codec.js'
import { AF_NETLINK, EAGAIN, ENODEV, ENOENT, MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_RAW, libc, type Libc } from './ffi.js'

const NETLINK_ROUTE = 0
const SOL_NETLINK = 270
const NETLINK_EXT_ACK = 11

type Cidr = { address: string; prefixLength: number; family: 4 | 6 }

interface End {
  name: string
  mac?: string
  mtu?: number
  up?: boolean
  master?: string
  netns?: string
}

/** One line of an `ip` batch, understood. */
export type Op =
  | { op: 'netns-add'; name: string }
  | { op: 'veth'; a: End; b: End }
  | { op: 'bridge'; name: string; mac?: string; mtu?: number; stp: boolean }
  | { op: 'set'; dev: string; up?: boolean; mtu?: number; mac?: string; master?: string | null }
  | { op: 'del'; dev: string }
  | { op: 'show'; dev: string }
  | { op: 'addr'; add: boolean; cidr: Cidr; dev: string; nodad: boolean }
  | { op: 'route'; add: boolean; family: 4 | 6; dst?: Omit<Cidr, 'family'>; via?: string; dev?: string; metric?: number; table: number; src?: string; onlink: boolean; type?: number; mtu?: number }

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i
const NAME = /^[\w.@:-]{1,15}$/
const uint = (s: string | undefined): number | undefined => (s !== undefined && /^\d{1,10}$/.test(s) && Number(s) <= 0xffffffff ? Number(s) : undefined)

function cidrOf(text: string | undefined): Cidr | undefined {
  if (text === undefined) return undefined
  const [address = '', len] = text.split('/')
  const family = isIP(address)
  if (family === 0) return undefined
  const prefixLength = len === undefined ? (family === 4 ? 32 : 128) : uint(len)
  if (prefixLength === undefined || prefixLength > (family === 4 ? 32 : 128)) return undefined
  return { address, prefixLength, family: family as 4 | 6 }
}

/** Reads `name X`/`X` then link options (`address`, `mtu`, `up`, `master`, `netns`) until `type` or the end. */
function parseEnd(t: string[], allowNetns: boolean): { end: End; rest: string[] } | undefined {
  let i = 0
  let name: string | undefined
  const end: Partial<End> = {}
  while (i < t.length && t[i] !== 'type') {
    const [k, v] = [t[i]!, t[i + 1]]
    if (k === 'name' && v !== undefined && NAME.test(v)) (name = v), (i += 2)
    else if (k === 'address' && v !== undefined && MAC.test(v)) (end.mac = v), (i += 2)
    else if (k === 'mtu' && uint(v) !== undefined) (end.mtu = uint(v)), (i += 2)
    else if (k === 'master' && v !== undefined && NAME.test(v)) (end.master = v), (i += 2)
    else if (k === 'netns' && allowNetns && v !== undefined && /^[\w.-]+$/.test(v)) (end.netns = v), (i += 2)
    else if (k === 'up') (end.up = true), (i += 1)
    else if (i === 0 && NAME.test(k) && !['address', 'mtu', 'master', 'netns', 'up', 'type', 'name'].includes(k)) (name = k), (i += 1)
    else return undefined
  }
  return name === undefined ? undefined : { end: { ...end, name }, rest: t.slice(i) }
}

function devOf(t: string[]): string | undefined {
  return t[0] === 'dev' && t[1] !== undefined && NAME.test(t[1]) && t.length === 2 ? t[1] : undefined
}

const TABLES = new Map([['main', 254], ['local', 255], ['default', 253]])
const ROUTE_TYPE_WORDS = new Set(['unicast', 'blackhole', 'unreachable', 'prohibit', 'throw'])

/** The subset of `ip` batch syntax netspec writes, as ops; undefined for anything else (then `ip` runs it). */
export function parseLine(line: string): Op | undefined {
  if (/["'#\\]/.test(line)) return undefined
  const t = line.trim().split(/\s+/)
  const [obj, verb] = [t[0], t[1]]
  const rest = t.slice(2)
  if (obj === 'netns' && verb === 'add' && rest.length === 1 && /^[\w.-]+$/.test(rest[0]!)) return { op: 'netns-add', name: rest[0]! }
  if (obj === 'link' && verb === 'add') {
    const a = parseEnd(rest, false)
    if (a === undefined || a.rest[0] !== 'type') return undefined
    const kind = a.rest[1]
    const tail = a.rest.slice(2)
    if (kind === 'veth' && tail[0] === 'peer') {
      const b = parseEnd(tail.slice(1), true)
      if (b === undefined || b.rest.length > 0 || b.end.up !== undefined || b.end.master !== undefined) return undefined
      return { op: 'veth', a: a.end, b: b.end }
    }
    if (kind === 'bridge' && a.end.up === undefined && a.end.master === undefined) {
      if (tail.length === 0) return { op: 'bridge', name: a.end.name, mac: a.end.mac, mtu: a.end.mtu, stp: false }
      if (tail.length === 2 && tail[0] === 'stp_state' && (tail[1] === '0' || tail[1] === '1'))
        return { op: 'bridge', name: a.end.name, mac: a.end.mac, mtu: a.end.mtu, stp: tail[1] === '1' }
    }
    return undefined
  }
  if (obj === 'link' && verb === 'set') {
    let i = rest[0] === 'dev' ? 1 : 0
    const dev = rest[i++]
    if (dev === undefined || !NAME.test(dev)) return undefined
    const op: Extract<Op, { op: 'set' }> = { op: 'set', dev }
    while (i < rest.length) {
      const [k, v] = [rest[i]!, rest[i + 1]]
      if (k === 'up' || k === 'down') (op.up = k === 'up'), (i += 1)
      else if (k === 'nomaster') (op.master = null), (i += 1)
      else if (k === 'mtu' && uint(v) !== undefined) (op.mtu = uint(v)), (i += 2)
      else if (k === 'address' && v !== undefined && MAC.test(v)) (op.mac = v), (i += 2)
      else if (k === 'master' && v !== undefined && NAME.test(v)) (op.master = v), (i += 2)
      else return undefined
    }
    return i > (rest[0] === 'dev' ? 2 : 1) ? op : undefined
  }
  if (obj === 'link' && (verb === 'del' || verb === 'delete')) {
    const dev = devOf(rest)
    return dev === undefined ? undefined : { op: 'del', dev }
  }
  if (obj === 'link' && verb === 'show') {
    const dev = devOf(rest)
    return dev === undefined ? undefined : { op: 'show', dev }
  }
  if (obj === 'addr' && (verb === 'add' || verb === 'del')) {
    const cidr = cidrOf(rest[0])
    const nodad = rest[3] === 'nodad'
    const dev = devOf(rest.slice(1, 3))
    if (cidr === undefined || dev === undefined || rest.length !== (nodad ? 4 : 3) || !rest[0]!.includes('/')) return undefined
    return { op: 'addr', add: verb === 'add', cidr, dev, nodad }
  }
  if (obj === 'route' && (verb === 'add' || verb === 'del')) {
    // A leading type keyword, as `ip route add blackhole 192.0.2.0/24` writes it.
    const type = rest[0] !== undefined && ROUTE_TYPE_WORDS.has(rest[0]) ? nl.ROUTE_TYPES.indexOf(rest.shift()!) : undefined
    const d = rest[0]
    const dst = d === 'default' ? undefined : cidrOf(d)
    if (d === undefined || (d !== 'default' && dst === undefined)) return undefined
    const op: Extract<Op, { op: 'route' }> = { op: 'route', add: verb === 'add', family: dst?.family ?? 4, table: 254, onlink: false }
    if (type !== undefined) op.type = type
    if (dst !== undefined && dst.prefixLength > 0) op.dst = { address: dst.address, prefixLength: dst.prefixLength }
    let i = 1
    while (i < rest.length) {
      const [k, v] = [rest[i]!, rest[i + 1]]
      if (k === 'onlink') (op.onlink = true), (i += 1)
      else if (k === 'via' && v !== undefined && isIP(v) !== 0) (op.via = v), (i += 2)
      else if (k === 'src' && v !== undefined && isIP(v) !== 0) (op.src = v), (i += 2)
      else if (k === 'dev' && v !== undefined && NAME.test(v)) (op.dev = v), (i += 2)
      else if (k === 'metric' && uint(v) !== undefined) (op.metric = uint(v)), (i += 2)
      else if (k === 'mtu' && uint(v) !== undefined) (op.mtu = uint(v)), (i += 2)
      else if (k === 'table' && v !== undefined && (uint(v) !== undefined || TABLES.has(v))) (op.table = uint(v) ?? TABLES.get(v)!), (i += 2)
      else return undefined
    }
    if (d === 'default' && op.via !== undefined) op.family = isIP(op.via) as 4 | 6
    // A gateway or source of the other family: ip refuses it, so let ip say so.
    if ((op.via !== undefined && isIP(op.via) !== op.family) || (op.src !== undefined && isIP(op.src) !== op.family)) return undefined
    // A typed route with a next hop: rare, and ip's handling of it is its own; let ip do it.
    if (op.type !== undefined && op.type !== nl.RTN_UNICAST && (op.via !== undefined || op.dev !== undefined || op.src !== undefined || op.onlink)) return undefined
    return op
  }
  return undefined
}

/** A line's failure, in ip's words; `line` is its index in the batch. */
export interface LineFailure {
  line: number
  message: string
}

class Failed extends Error {}

/** Whether the in-process path can serve `ip` batches on this machine (root's own executor only). */
export function netlinkAvailable(): boolean {
  return libc() !== undefined
}

export class NetlinkEngine {
  readonly #c: Libc
  readonly #sockets = new Map<string, number>()
  #closed = false
  /** fds of the namespaces this engine created, kept open for setns and IFLA_NET_NS_FD until close(). */
  readonly #fds = new Map<string, number>()
  readonly #buf = Buffer.alloc(1 << 16)
  #seq = 1
  /** ICMP echo probes from raw sockets in the same namespaces (kernel/icmp.ts). */
  readonly icmp: IcmpProber

  private constructor(c: Libc) {
    this.#c = c
    this.icmp = new IcmpProber(c, (n) => this.target(n))
  }

  /** An engine, or undefined where libc cannot be reached (then callers spawn `ip`). */
  static create(): NetlinkEngine | undefined {
    const c = libc()
    return c === undefined ? undefined : new NetlinkEngine(c)
  }

  /** The lines as ops, or undefined if any is outside the subset (or needs the machine's first `ip netns add`). */
  plan(netns: string | undefined, lines: readonly string[]): Op[] | undefined {
    const ops: Op[] = []
    for (const line of lines) {
      const op = parseLine(line)
      if (op === undefined || (op.op === 'netns-add') !== (netns === undefined)) return undefined
      if (op.op === 'netns-add' && !netnsDirReady()) return undefined
      ops.push(op)
    }
    return ops
  }

  /** Runs every op (like `ip -force -batch`: a failure does not stop the rest) and returns the failures. */
  run(netns: string | undefined, ops: readonly Op[]): LineFailure[] {
    const failures: LineFailure[] = []
    this.#indexes.clear()
    this.#open()
    ops.forEach((op, line) => {
      try {
        if (op.op === 'netns-add') {
          const made = createNamespace(op.name)
          if ('error' in made) throw new Failed(made.error)
          this.#fds.set(op.name, made.fd)
        } else this.#apply(this.#socket(netns!), op)
      } catch (e) {
        if (!(e instanceof Failed)) throw e
        failures.push({ line, message: e.message })
      }
    })
    this.#indexes.clear() // only valid within one batch: anything may change the links between batches
    return failures
  }

  /** `ip route get ADDRESS [from SRC]` in-process: the kernel's decision, or its refusal in its words. */
  routeGet(netns: string, address: string, src?: string): { decision?: RouteDecision; error?: string } {
    const fd = this.#socket(netns)
    const family = isIP(address) as 4 | 6
    const r = this.#talk(fd, nl.getRoute(this.#seq++, family, address, src), nl.RTM_NEWROUTE)
    if ('errno' in r) return { error: this.#words(r).replace(/^RTNETLINK answers: /, '') }
    const d = nl.decodeRoute(r.body)
    const dev = d.oif === undefined ? undefined : this.#linkName(fd, d.oif)
    return {
      decision: {
        dst: address,
        type: nl.ROUTE_TYPES[d.type] ?? String(d.type),
        dev,
        gateway: d.gateway,
        prefsrc: d.prefsrc,
        table: d.table === 254 ? 'main' : d.table === 255 ? 'local' : String(d.table),
        ...(d.mtu === undefined ? {} : { mtu: d.mtu }),
        ...(d.expires === undefined ? {} : { mtuExpires: d.expires }),
      },
    }
  }

  /** @internal Every route of one family as the kernel dumps it (all tables), with each one's prefix length. */
  routes(netns: string, family: 4 | 6): (nl.DecodedRoute & { dstLen: number })[] {
    const fd = this.#socket(netns)
    return this.#dump(fd, nl.dumpRoutes(this.#seq++, family), nl.RTM_NEWROUTE).map((body) => ({ ...nl.decodeRoute(body), dstLen: nl.routeDstLen(body) }))
  }

  /** Whether the main table holds a default route of this family (what `ip route` would list as `default`). */
  hasDefaultRoute(netns: string, family: 4 | 6): boolean {
    const fd = this.#socket(netns)
    return this.#dump(fd, nl.dumpRoutes(this.#seq++, family), nl.RTM_NEWROUTE).some((body) => {
      const r = nl.decodeRoute(body)
      return nl.routeDstLen(body) === 0 && r.table === nl.RT_TABLE_MAIN && r.family === family
    })
  }

  /** Whether any table holds a route of this family and type (e.g. 'throw'): one dump, no process. */
  hasRouteType(netns: string, family: 4 | 6, type: string): boolean {
    const fd = this.#socket(netns)
    const want = nl.ROUTE_TYPES.indexOf(type)
    return this.#dump(fd, nl.dumpRoutes(this.#seq++, family), nl.RTM_NEWROUTE).some((body) => {
      const r = nl.decodeRoute(body)
      return r.family === family && r.type === want
    })
  }

  /** One neighbour entry as `ip -j neigh` gives it (state ['FAILED'], ['REACHABLE'], …), or undefined if there is none. */
  neighbor(netns: string, dev: string, address: string): Neighbor | undefined {
    const fd = this.#socket(netns)
    const index = this.#lookup(fd, dev) // not cached: links change between batches
    if (index === undefined) return undefined
    const r = this.#talk(fd, nl.getNeighbor(this.#seq++, isIP(address) as 4 | 6, index, address), nl.RTM_NEWNEIGH)
    if (!('errno' in r)) return { dst: address, dev, ...nl.decodeNeighbor(r.body) }
    // No entry; anything else (a kernel before 5.0 cannot get one entry) is for the caller's fallback.
    if (r.errno === ENOENT) return undefined
    throw new Error(`reading neighbour ${address} on ${dev} in ${netns}: ${this.#words(r)}`)
  }

  /** Closes every socket and namespace fd, for good: an open one would keep a deleted namespace alive. */
  close(): void {
    this.#closed = true
    this.#indexes.clear()
    this.icmp.close()
    for (const held of [this.#sockets, this.#fds]) {
      for (const fd of held.values()) closeSync(fd)
      held.clear()
    }
  }

  /** The namespace to enter: an fd held since this engine created it, or else its name (opened each time). */
  target(netns: string): string | number {
    return this.#fds.get(netns) ?? netns
  }

  /** After close() nothing reopens: a socket opened during teardown would keep a deleted namespace alive. */
  #open(): void {
    if (this.#closed) throw new Error("the lab's netlink sockets are closed (torn down)")
  }

  #socket(netns: string): number {
    this.#open()
    let fd = this.#sockets.get(netns)
    if (fd !== undefined) return fd
    try {
      fd = withNamespace(this.target(netns), () => this.#c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE))
    } catch (e) {
      throw new Failed(`Cannot open network namespace "${netns}": ${(e as Error).message.replace(/^ENOENT: .*/, 'No such file or directory')}`)
    }
    if (fd < 0) throw new Failed(`cannot open a netlink socket in ${netns}: ${this.#c.strerror(this.#c.errno())}`)
    this.#c.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, nl.u32(1), 4) // the kernel's own words in errors
    this.#sockets.set(netns, fd)
    return fd
  }

  /**
   * Sends one request and hands each message answering it to `take` until `take` returns a result. rtnetlink
   * answers within send() (a dump is filled on each read), so the socket is read without ever blocking.
   */
  #exchange<T>(fd: number, msg: Buffer, spins: number, take: (r: nl.Reply) => T | undefined): T | { errno: number; message?: string } {
    const seq = msg.readUInt32LE(8)
    if (this.#c.send(fd, msg, msg.length, 0) < 0) return { errno: this.#c.errno() }
    for (let i = 0; i < spins; i++) {
      const n = this.#c.recv(fd, this.#buf, this.#buf.length, MSG_DONTWAIT)
      if (n < 0) {
        if (this.#c.errno() === EAGAIN) continue
        return { errno: this.#c.errno() }
      }
      for (const r of nl.splitMessages(this.#buf.subarray(0, n))) {
        if (r.seq !== seq) continue // a late answer to an earlier request
        const done = take(r)
        if (done !== undefined) return done
      }
    }
    return { errno: EAGAIN, message: 'no answer from the kernel' }
  }

  /** One request: the reply of `want` type, or the error/ack. */
  #talk(fd: number, msg: Buffer, want?: number): nl.Reply | { errno: number; message?: string } {
    return this.#exchange(fd, msg, 64, (r) => {
      if (r.type === nl.NLMSG_ERROR) {
        const e = nl.decodeError(r)
        return e.errno === 0 ? { ...r } : e
      }
      return r.type === want ? { ...r, body: Buffer.from(r.body) } : undefined
    })
  }

  /** A dump request: every message of type `want` until NLMSG_DONE (or an error: what came so far). */
  #dump(fd: number, msg: Buffer, want: number): Buffer[] {
    const out: Buffer[] = []
    this.#exchange(fd, msg, 4096, (r) => {
      if (r.type === nl.NLMSG_DONE || r.type === nl.NLMSG_ERROR) return out
      if (r.type === want) out.push(Buffer.from(r.body))
      return undefined
    })
    return out
  }

  /**
   * Sends a request that is answered by an acknowledgement; throws Failed with ip's words otherwise (`noDevice`
   * instead when given and the kernel found no such link: ENODEV).
   */
  #ack(fd: number, msg: Buffer, noDevice?: string): void {
    const r = this.#talk(fd, msg)
    if (!('errno' in r) || r.errno === 0) return
    throw new Failed(noDevice !== undefined && r.errno === ENODEV ? noDevice : this.#words(r))
  }

  #words(e: { errno: number; message?: string }): string {
    if (e.message !== undefined && e.message !== '') return `Error: ${e.message}${e.message.endsWith('.') ? '' : '.'}`
    return `RTNETLINK answers: ${this.#c.strerror(e.errno)}`
  }

  /** Interface indexes looked up during one run(); forgotten whenever a link is deleted (adding one changes no other index). */
  readonly #indexes = new Map<string, number>()

  /** The index this run already knows for `dev`, without asking the kernel. */
  #known(fd: number, dev: string): number | undefined {
    return this.#indexes.get(`${fd}/${dev}`)
  }

  #index(fd: number, dev: string): number {
    const known = this.#known(fd, dev)
    if (known !== undefined) return known
    const index = this.#lookup(fd, dev)
    if (index === undefined) throw new Failed(`Cannot find device "${dev}"`)
    this.#indexes.set(`${fd}/${dev}`, index)
    return index
  }

  /** A link's index as the kernel has it now (never cached), undefined if there is no such link. */
  #lookup(fd: number, dev: string): number | undefined {
    const r = this.#talk(fd, nl.getLink(this.#seq++, dev), nl.RTM_NEWLINK)
    if (!('errno' in r)) return nl.decodeLink(r.body).index
    if (r.errno === ENODEV) return undefined
    throw new Failed(this.#words(r))
  }

  /** A `master` device, in ip's words when it is missing. */
  #masterIndex(fd: number, dev: string): number {
    try {
      return this.#index(fd, dev)
    } catch (e) {
      if (e instanceof Failed && e.message.startsWith('Cannot find device')) throw new Failed(`Error: argument "${dev}" is wrong: Device does not exist`)
      throw e
    }
  }

  #linkName(fd: number, index: number): string | undefined {
    const r = this.#talk(fd, nl.message(nl.RTM_GETLINK, nl.NLM_F_REQUEST, this.#seq++, nl.ifinfomsg({ index })), nl.RTM_NEWLINK)
    return 'errno' in r ? undefined : nl.decodeLink(r.body).name
  }

  #apply(fd: number, op: Exclude<Op, { op: 'netns-add' }>): void {
    if (op.op === 'del') this.#indexes.clear() // adding links leaves every known name → index as it was
    switch (op.op) {
      case 'veth': {
        const master = op.a.master === undefined ? undefined : this.#masterIndex(fd, op.a.master)
        let peerFd = op.b.netns === undefined ? undefined : this.#fds.get(op.b.netns)
        const opened = op.b.netns !== undefined && peerFd === undefined
        if (opened) {
          try {
            peerFd = openSync(`/run/netns/${op.b.netns!}`, 'r')
          } catch (e) {
            throw new Failed((e as NodeJS.ErrnoException).code === 'ENOENT' ? `Error: argument "${op.b.netns}" is wrong: Invalid "netns" value` : `Cannot open network namespace "${op.b.netns}": ${(e as Error).message}`)
          }
        }
        try {
          this.#ack(fd, nl.newVeth(this.#seq++, { ...op.a, master }, { name: op.b.name, mac: op.b.mac, mtu: op.b.mtu, netnsFd: peerFd }))
        } finally {
          if (opened && peerFd !== undefined) closeSync(peerFd)
        }
        return
      }
      case 'bridge':
        return this.#ack(fd, nl.newBridge(this.#seq++, op))
      case 'set': {
        const master = op.master === null ? 0 : op.master === undefined ? undefined : this.#masterIndex(fd, op.master)
        // By index when this batch knows it, else by name: the kernel looks the link up itself (no RTM_GETLINK first).
        const link = this.#known(fd, op.dev) ?? op.dev
        const noDevice = typeof link === 'string' ? `Cannot find device "${op.dev}"` : undefined
        return this.#ack(fd, nl.setLink(this.#seq++, link, { up: op.up, mtu: op.mtu, mac: op.mac, master }), noDevice)
      }
      case 'del':
        return this.#ack(fd, nl.delLink(this.#seq++, this.#index(fd, op.dev)))
      case 'show': {
        const r = this.#talk(fd, nl.getLink(this.#seq++, op.dev), nl.RTM_NEWLINK)
        if ('errno' in r) throw new Failed(r.errno === ENODEV ? `Device "${op.dev}" does not exist.` : this.#words(r))
        return
      }
      case 'addr': {
        const index = this.#index(fd, op.dev)
        return this.#ack(fd, nl.addr(this.#seq++, op.add, { ...op.cidr, index, nodad: op.nodad }))
      }
      case 'route': {
        const oif = op.dev === undefined ? undefined : this.#index(fd, op.dev)
        return this.#ack(
          fd,
          nl.route(this.#seq++, op.add, { family: op.family, dst: op.dst, gateway: op.via, oif, metric: op.metric, table: op.table, src: op.src, onlink: op.onlink, type: op.type, mtu: op.mtu }),
        )
      }
    }
  }
}
