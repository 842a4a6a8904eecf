// Path MTU for reachable(ns, target, { size, dontFragment }): how big the probe is, how `ping -M do -s N` words a
// "too big", and the verdict naming who said so and the MTU: a router's "Frag needed and DF set (mtu = N)" /
// ICMPv6 "Packet too big", the kernel's own refusal from a known path MTU (EMSGSIZE, "message too long"), or,
// when nothing answers, a directly connected peer whose MTU is smaller than the frame (dropped silently).
import { invalidInput } from '../errors.js'
import type { Namespace } from '../lab/namespace.js'
import type { RouteDecision } from '../kernel/types.js'
import { namespaceOwning } from './owners.js'
import { routeDecision } from './routes.js'

export interface SizeOptions {
  /** ICMP payload bytes, as `ping -s` (the IP packet is 28 bytes more for IPv4, 48 for IPv6). */
  size?: number
  /** Set DF (`ping -M do`, default when `size` is given); false lets the packet be fragmented (`-M dont`). */
  dontFragment?: boolean
}

/** What the too-big verdict rests on. */
export interface TooBig {
  /** The whole IP packet, bytes. */
  bytes: number
  /** The MTU that refused it, when known. */
  mtu?: number
  /** Who said so: a router's address (and its lab namespace), 'local' (the kernel of the sender), or the silent peer. */
  by: string
}

export function checkSize(o: SizeOptions, proto: string): { size: number; dontFragment: boolean } | undefined {
  if (o.size === undefined) {
    if (o.dontFragment !== undefined) throw invalidInput(`reachable: 'dontFragment' goes with 'size' (the ICMP payload bytes, as ping -s)`)
    return undefined
  }
  if (proto !== 'icmp') throw invalidInput(`reachable: 'size' is for ICMP probes (ping -s); got a ${proto} target`)
  if (!Number.isInteger(o.size) || o.size < 0 || o.size > 65507)
    throw invalidInput(`reachable: size must be a whole number of ICMP payload bytes from 0 to 65507, got ${JSON.stringify(o.size)}`, { hint: 'as ping -s: 1472 makes a 1500-byte IPv4 packet' })
  if (o.dontFragment !== undefined && typeof o.dontFragment !== 'boolean') throw invalidInput(`reachable: dontFragment must be true or false`)
  return { size: o.size, dontFragment: o.dontFragment ?? true }
}

export const packetBytes = (size: number, family: 4 | 6): number => size + 8 + (family === 4 ? 20 : 40)

/** `ping -M do -s N` output: a router's "Frag needed"/"Packet too big", or the local "message too long". */
export function parsePingTooBig(output: string): { by: string; mtu: number; words: string } | undefined {
  const remote = /From (\S+) icmp_seq=\d+ (Frag needed and DF set \(mtu = (\d+)\)|Packet too big: mtu=(\d+))/.exec(output)
  if (remote !== null) return { by: remote[1]!, mtu: Number(remote[3] ?? remote[4]), words: remote[2]! }
  const local = /local error: (message too long), mtu[=:] ?(\d+)/i.exec(output)
  if (local !== null) return { by: 'local', mtu: Number(local[2]), words: local[1]! }
  return undefined
}

/** The detail for a router's answer: names the router (its lab namespace) and the MTU it gave. */
export async function routerSaidTooBig(from: Namespace, target: string, bytes: number, router: string, mtu: number | undefined, words: string): Promise<{ detail: string; tooBig: TooBig }> {
  const owner = await namespaceOwning(from.lab.namespaces, router)
  const who = owner === undefined ? router : `router ${owner.label} (${router})`
  return {
    detail: `${who} answered "${words}" for ${target}: a ${bytes}-byte packet with DF set does not fit its next link${mtu === undefined ? '' : ` (MTU ${mtu})`}`,
    tooBig: { bytes, mtu, by: owner === undefined ? router : `${owner.label} (${router})` },
  }
}

/** The detail when the sender's own kernel refused (EMSGSIZE): the route's MTU, a learned path MTU, or the link's. */
export async function kernelSaidTooBig(from: Namespace, target: string, bytes: number, mtuSaid?: number): Promise<{ detail: string; tooBig: TooBig; decision?: RouteDecision }> {
  const { decision } = await routeDecision(from, target)
  let mtu = decision?.mtu ?? mtuSaid
  let why: string
  if (decision?.mtu !== undefined && decision.mtuExpires !== undefined) why = `the path MTU the kernel learned from a "Frag needed"/"Packet too big", kept ${decision.mtuExpires} s more`
  else if (decision?.mtu !== undefined) why = `the route's mtu`
  else {
    const link = decision?.dev === undefined ? undefined : await from.link(decision.dev)
    mtu ??= link?.mtu
    why = `the MTU of ${decision?.dev ?? 'the outgoing link'}`
  }
  return {
    detail: `${from.label} cannot send a ${bytes}-byte packet to ${target} with DF set: it is over ${mtu === undefined ? 'the MTU' : `MTU ${mtu}`} (${why}); the kernel says "Message too long"`,
    tooBig: { bytes, mtu, by: 'local' },
    decision,
  }
}

/**
 * Nothing came back: is the next hop a directly connected peer whose interface MTU is below the frame? A veth
 * (as any Ethernet) drops such a frame silently: no ICMP error is ever sent.
 */
export async function silentPeerTooBig(from: Namespace, hop: string, dev: string | undefined, bytes: number): Promise<{ detail: string; tooBig: TooBig } | undefined> {
  const owner = await namespaceOwning(from.lab.namespaces.filter((n) => n !== from), hop)
  if (owner === undefined) return undefined
  const iface = (await owner.addresses()).find((a) => a.address === hop)?.dev
  const link = iface === undefined ? undefined : await owner.link(iface)
  if (link === undefined || bytes <= link.mtu) return undefined
  const mine = dev === undefined ? undefined : await from.link(dev)
  return {
    detail:
      `${from.label} sent a ${bytes}-byte packet towards ${hop}${mine === undefined ? '' : ` out of ${mine.name} (MTU ${mine.mtu})`}, but ${owner.label}'s ${link.name} has MTU ${link.mtu}: ` +
      `a frame larger than the peer's MTU is dropped silently, no "Frag needed" comes back`,
    tooBig: { bytes, mtu: link.mtu, by: `${owner.label}'s ${link.name}` },
  }
}
