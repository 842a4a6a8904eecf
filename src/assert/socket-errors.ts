// Why a TCP or UDP probe's socket failed, and WHO said so. An errno alone cannot tell: ECONNREFUSED is a TCP RST or
// an ICMP port unreachable from the target, or from a router's firewall `reject` on the way; ENETUNREACH is this
// host's own route decision, or a router's ICMP net unreachable. The probe socket has IP_RECVERR / IPV6_RECVERR set
// (RECVERR_SCRIPT, as ping and tracepath do), so the kernel queues the ICMP error behind a failure with its sender
// (the offender address), type and code; the verdict is decided from that, and only a refusal sent by the target
// itself is "the host is there".
import { createRequire } from 'node:module'
import type { Namespace } from '../lab/namespace.js'
import { namespaceOwning } from './owners.js'
import { RECVERR_SCRIPT } from './scripts.js'
import type { Target } from './target.js'
import type { Verdict } from './reachable.js'

/** struct sock_extended_err as the probe read it from its error queue; `from` is the offender (SO_EE_OFFENDER). */
export interface SocketIcmpError {
  errno: number
  /** 1 local (this host's own stack, no ICMP), 2 ICMP, 3 ICMPv6. */
  origin: number
  type: number
  code: number
  /** The next-hop MTU for "Frag needed" / "Packet too big". */
  info: number
  from?: string
}

export interface SocketProbeOutcome {
  r: string
  code?: string
  ms: number
  body?: string
  icmp?: SocketIcmpError
}

export interface SocketFailure {
  verdict: Verdict
  detail: string
  /** The address that sent the ICMP error (a router on the way, or the target). */
  by?: string
  tooBig?: { by: string; mtu?: number; words: string }
  /** The ICMP error as ping words it, when one came back. */
  words?: string
  /** Who answered what, without a cause: `router r (10.0.1.254) answered "…" for 10.0.2.2` (when evidence names the cause). */
  answered?: string
}

/** Errnos an ICMP error can stand behind (icmp_err_convert, icmpv6_err_convert), or this host's own refusal. */
export const ATTRIBUTABLE = new Set(['ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'EACCES', 'EPERM', 'EMSGSIZE', 'ENOPROTOOPT', 'EHOSTDOWN', 'ENONET', 'EPROTO', 'EOPNOTSUPP'])

// ICMP errors about a TCP segment, UDP datagram or echo request, as iputils ping words them, and what each means when a
// router sends it.
const WORDS: Record<string, [kind: 'port' | 'net' | 'host' | 'prohibited' | 'big' | 'ttl' | 'other', words: string]> = {
  '4:3:0': ['net', 'Destination Net Unreachable'],
  '4:3:1': ['host', 'Destination Host Unreachable'],
  '4:3:2': ['prohibited', 'Destination Protocol Unreachable'],
  '4:3:3': ['port', 'Destination Port Unreachable'],
  '4:3:4': ['big', 'Frag needed and DF set'],
  '4:3:5': ['other', 'Source Route Failed'],
  '4:3:6': ['net', 'Destination Net Unknown'],
  '4:3:7': ['host', 'Destination Host Unknown'],
  '4:3:8': ['other', 'Source Host Isolated'],
  '4:3:9': ['prohibited', 'Destination Net Prohibited'],
  '4:3:10': ['prohibited', 'Destination Host Prohibited'],
  '4:3:11': ['net', 'Destination Net Unreachable for Type of Service'],
  '4:3:12': ['host', 'Destination Host Unreachable for Type of Service'],
  '4:3:13': ['prohibited', 'Packet filtered'],
  '4:3:14': ['prohibited', 'Precedence Violation'],
  '4:3:15': ['prohibited', 'Precedence Cutoff'],
  '4:11:0': ['ttl', 'Time to live exceeded'],
  '4:11:1': ['other', 'Frag reassembly time exceeded'],
  '6:1:0': ['net', 'Destination unreachable: No route'],
  '6:1:1': ['prohibited', 'Destination unreachable: Administratively prohibited'],
  '6:1:2': ['other', 'Destination unreachable: Beyond scope of source address'],
  '6:1:3': ['host', 'Destination unreachable: Address unreachable'],
  '6:1:4': ['port', 'Destination unreachable: Port unreachable'],
  // RFC 4443's names: iputils 20221126 prints codes 5 and 6 as "Unknown code N" (icmpErrorOfWords reads that too).
  '6:1:5': ['prohibited', 'Destination unreachable: Source address failed ingress/egress policy'],
  '6:1:6': ['prohibited', 'Destination unreachable: Reject route to destination'],
  '6:2:0': ['big', 'Packet too big'],
  '6:3:0': ['ttl', 'Time exceeded: Hop limit'],
  '6:3:1': ['other', 'Time exceeded: Defragmentation failure'],
}

/** The ICMP error (family:type:code) that iputils ping words as `words` in its "From X icmp_seq=N <words>" line. */
export function icmpErrorOfWords(family: 4 | 6, words: string): { type: number; code: number } | undefined {
  const said = words.replace(/ \(mtu = \d+\)$|: mtu=\d+$/, '').trim()
  // Codes this ping has no words for (iputils 20221126 prints ICMPv6 codes 5 and 6 as "Unknown code N").
  const unknown = (family === 4 ? /^Dest Unreachable, Bad Code: (\d+)$/ : /^Destination unreachable: Unknown code (\d+)$/).exec(said)
  if (unknown !== null) return { type: family === 4 ? 3 : 1, code: Number(unknown[1]) }
  const key = Object.keys(WORDS).find((k) => k.startsWith(`${family}:`) && WORDS[k]![1] === said)
  if (key === undefined) return undefined
  const [, type, code] = key.split(':').map(Number)
  return { type: type!, code: code! }
}

/**
 * The verdict for an ICMP echo request answered by an ICMP error, judged by its sender exactly as a TCP/UDP probe's
 * (kernel/icmp.ts reads type, code and sender from the raw socket; on the process path ping's "From X" line gives them).
 * `words`: ping's own wording when the type and code are not known.
 */
export async function echoFailure(from: Namespace, t: Target, e: { from: string; family: 4 | 6; type: number; code: number; mtu?: number }, src?: string, words?: string): Promise<SocketFailure> {
  const icmp: SocketIcmpError = { errno: 0, origin: e.family === 6 ? 3 : 2, type: e.type, code: e.code, info: e.mtu ?? 0, from: e.from }
  return fromIcmp(from, t, icmp, 'echo request', src, words)
}

/** Where koffi is, for the probe process to load (undefined without it, or with NETSPEC_NO_FFI=1). */
function koffiPath(): string | undefined {
  if (process.env.NETSPEC_NO_FFI === '1') return undefined
  try {
    return createRequire(import.meta.url).resolve('koffi')
  } catch {
    return undefined
  }
}

/**
 * One TCP connect or UDP exchange from `from` with IP_RECVERR on its socket; undefined where that cannot be run
 * (no koffi here, or none at that path where the command runs, e.g. inside a runner container).
 */
export async function recverrProbe(from: Namespace, t: Target, leftMs: number): Promise<{ res: SocketProbeOutcome; output: string } | undefined> {
  // Through a container executor the command runs in the runner, where this machine's koffi path is not (one
  // wasted process per probe): the errno alone is judged there, and the detail says who sent it was not read.
  const koffi = from.lab.executor.kind === 'local' ? koffiPath() : undefined
  if (koffi === undefined) return undefined
  const r = await from.exec([process.execPath, '-e', RECVERR_SCRIPT, t.proto, t.address, String(t.port), String(Math.round(leftMs)), koffi], { timeoutMs: Math.ceil(leftMs) + 5000 })
  const output = `${r.stdout}${r.stderr}`
  try {
    const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as SocketProbeOutcome
    return res.r === 'unsupported' ? undefined : { res, output }
  } catch {
    return undefined
  }
}

/**
 * The verdict for a failed TCP/UDP probe. `attributed`: the socket had IP_RECVERR, so a missing `icmp` means no ICMP
 * error stood behind the errno (this host decided, or for TCP ECONNREFUSED a RST came back).
 */
export async function socketFailure(from: Namespace, t: Target, code: string | undefined, icmp: SocketIcmpError | undefined, attributed: boolean, src?: string, unattributed?: string): Promise<SocketFailure> {
  const what = t.proto === 'tcp' ? 'connection' : 'datagram'
  if (icmp !== undefined && icmp.origin !== 1) return fromIcmp(from, t, icmp, what, src)
  if (!attributed && code !== undefined && ['ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH'].includes(code)) {
    // The errno alone: an ICMP error may stand behind it, from the target or from any router on the way.
    const unknown = unattributed ?? 'who sent it was not read (no IP_RECVERR socket here: koffi is missing, or a container executor runs the probe): the host, or a router on the way'
    if (code === 'ECONNREFUSED')
      return { verdict: 'refused', detail: `${t.text} refused the ${what} (ECONNREFUSED: ${t.proto === 'tcp' ? 'a TCP RST or an ICMP port unreachable' : 'an ICMP port unreachable'}; ${unknown})` }
    if (code === 'ENETUNREACH') return { verdict: 'no-route', detail: `the ${what} to ${t.text} failed with ENETUNREACH (${from.label}'s route decision, or an ICMP net unreachable; ${unknown})` }
    return { verdict: 'unresolved', detail: `${t.address} is unreachable from ${from.label} (EHOSTUNREACH: no neighbour answered, or an ICMP host unreachable came back; ${unknown})` }
  }
  switch (code) {
    case 'ECONNREFUSED':
      // No ICMP error queued: a TCP RST (sent with the target's address; a firewall's `reject with tcp reset` looks the same).
      return { verdict: 'refused', detail: `${t.text} refused the ${what} (${t.proto === 'tcp' ? 'TCP RST' : 'ICMP port unreachable'}): the host is there, nothing listens on port ${t.port}` }
    case 'ENETUNREACH':
      return { verdict: 'no-route', detail: `${from.label} has no route to ${t.address} (ENETUNREACH from its own route decision when the socket connected; no ICMP error came back)` }
    case 'EHOSTUNREACH':
      return { verdict: 'unresolved', detail: `${t.address} is unreachable from ${from.label} (EHOSTUNREACH from its own kernel: no neighbour answered; no ICMP error came back)` }
    case 'EACCES':
    case 'EPERM':
      return { verdict: 'filtered', detail: `sending to ${t.text} was refused locally in ${from.label} (${code}: an output filter; no ICMP error came back)` }
    default:
      return { verdict: 'timed-out', detail: `no answer to the ${what} to ${t.text}${code === undefined ? '' : ` (${code})`}` }
  }
}

async function fromIcmp(from: Namespace, t: Target, e: SocketIcmpError, what: string, src: string | undefined, pingWords?: string): Promise<SocketFailure> {
  const family = e.origin === 3 ? 6 : 4
  const [kind, words] = WORDS[`${family}:${e.type}:${e.code}`] ?? ['other', pingWords ?? `ICMP${family === 6 ? 'v6' : ''} type ${e.type} code ${e.code}`]
  const who = e.from
  const said = kind === 'big' ? (family === 4 ? `${words} (mtu = ${e.info})` : `${words}: mtu=${e.info}`) : words
  const f = await judged(from, t, kind, words, said, e, what, src)
  return { ...f, words, ...(who === undefined || f.by === undefined ? {} : { answered: `${await senderName(from, t, who)} answered "${words}" for ${t.text}` }) }
}

async function senderName(from: Namespace, t: Target, who: string): Promise<string> {
  if (who === t.address) return `${t.address} itself`
  const owner = await namespaceOwning(from.lab.namespaces.filter((n) => n !== from), who)
  return owner === undefined ? who : `router ${owner.label} (${who})`
}

async function judged(from: Namespace, t: Target, kind: string, words: string, said: string, e: SocketIcmpError, what: string, src: string | undefined): Promise<SocketFailure> {
  const who = e.from
  if (who !== undefined && (await namespaceOwning([from], who)) === from) {
    // This host's own kernel sent it to itself: a failed neighbour (host unreachable), an output `reject`.
    if (kind === 'host') return { verdict: 'unresolved', detail: `${t.address} is unreachable from ${from.label}: its own kernel reported "${words}" (${who}): no neighbour answered` }
    if (kind === 'big') return { verdict: 'too-big', detail: `${from.label} cannot send: "${said}"`, tooBig: { by: 'local', mtu: e.info, words: said } }
    return { verdict: 'filtered', detail: `the ${what} to ${t.text} was rejected in ${from.label} itself ("${words}" from its own ${who}: an output firewall's reject)` }
  }
  if (who === t.address) {
    if (kind === 'port' && t.proto === 'icmp')
      return { verdict: 'filtered', detail: `${t.address} rejected the echo request with "${words}": a firewall's reject there`, by: who }
    if (kind === 'port')
      return t.proto === 'udp'
        ? { verdict: 'refused', detail: `${t.text} refused the datagram ("${words}" from ${who}): the host is there, nothing listens on port ${t.port}`, by: who }
        : { verdict: 'filtered', detail: `${t.address} rejected the connection to port ${t.port} with "${words}": a firewall's reject there (with nothing listening, a host answers a TCP RST)`, by: who }
    if (kind === 'big') return { verdict: 'too-big', detail: `${who} said "${said}"`, tooBig: { by: who, mtu: e.info, words: said }, by: who }
    // The target answering an error about its own address: nothing but a reject rule there sends that (a host that
    // has the address neither lacks a route to it nor fails to resolve itself). An answer, never silence.
    return { verdict: 'filtered', detail: `${t.address} rejected the ${what} with "${words}": a firewall's reject there`, by: who }
  }
  const owner = who === undefined ? undefined : await namespaceOwning(from.lab.namespaces.filter((n) => n !== from), who)
  const name = who === undefined ? 'an unnamed sender' : owner === undefined ? who : `router ${owner.label} (${who})`
  const never = `${t.address} never saw it`
  switch (kind) {
    case 'port':
    case 'prohibited':
      return { verdict: 'filtered', detail: `${name} rejected the ${what} to ${t.text} with "${words}": a firewall on the way (${never})`, by: who }
    case 'host':
      return { verdict: 'unresolved', detail: `${name} reports "${words}" for ${t.address}: no neighbour answered there`, by: who }
    case 'big':
      return { verdict: 'too-big', detail: `${name} said "${said}"`, tooBig: { by: who ?? 'unknown', mtu: e.info, words: said }, by: who }
    case 'ttl':
      // The packet's TTL (hop limit) ran out on the way: a routing loop, or more hops than it was allowed. Not a
      // firewall and not a missing route: the route after this router leads back or on and on.
      return { verdict: 'unreachable', detail: `${name} answered "${words}" for ${t.text}: the packet's TTL ran out on the way (a routing loop after ${name}, or more hops than the TTL allows: check the routes from there)`, by: who }
    case 'net': {
      // A router's own route decision tells a missing route from a firewall's `reject with icmp net-unreachable`.
      const fw = who === undefined ? undefined : await routerNoRoute(from, t.address, who, src, t.text, words)
      if (fw !== undefined) return fw
      return { verdict: 'no-route', detail: `${name} has no route to ${t.address} (it answered "${words}")`, by: who }
    }
    default:
      return { verdict: 'timed-out', detail: `${name} answered "${words}" for ${t.text}`, by: who }
  }
}

/**
 * A router's "net unreachable" (or TTL exceeded) for a probe, weighed against the router's own route decision: with
 * a route there, it was a firewall's `reject with icmp net-unreachable`, not a missing route (any probe, ICMP too).
 */
export async function routerNoRoute(from: Namespace, target: string, by: string, src: string | undefined, what: string, words: string): Promise<SocketFailure | undefined> {
  const owner = await namespaceOwning(from.lab.namespaces.filter((n) => n !== from), by)
  if (owner === undefined) return undefined
  const routed = await routerRoute(owner, target, by, src)
  if (routed === undefined) return undefined
  return { verdict: 'filtered', detail: `router ${owner.label} (${by}) answered "${words}" for ${what}, yet its own kernel has a route there (${routed}): a firewall there rejects it (${target} never saw it)`, by }
}

/** The router's route for the forwarded packet (`ip route get DST from SRC iif DEV`), as text, when it has a unicast one. */
async function routerRoute(router: Namespace, target: string, address: string, src: string | undefined): Promise<string | undefined> {
  const iif = (await router.addresses()).find((a) => a.address === address)?.dev
  const { routeDecision } = await import('./routes.js')
  const selectors = [...(src === undefined ? [] : ['from', src]), ...(iif === undefined || src === undefined ? [] : ['iif', iif])]
  const { decision, error } = await routeDecision(router, target, selectors)
  if (error !== undefined || decision === undefined || !['unicast', 'local'].includes(decision.type)) return undefined
  return `ip route get: ${decision.gateway === undefined ? '' : `via ${decision.gateway} `}dev ${decision.dev ?? '?'}`
}
