// explain(from, to): walks the path the kernel would take across the lab, asking each namespace its own
// `ip route get`, then sends one real probe along it and traces it with nftables in every namespace on the
// way that has a ruleset, and says where and why the packet stops: no route, forwarding off, a chain's
// policy or rule, a next hop that never answered ARP/ND, or that it arrives.
import { invalidInput } from '../errors.js'
import { parseTarget, type Proto, type Target, type TargetObject } from '../assert/target.js'
import { readRuleset } from '../kernel/nft.js'
import type { Link, LinkTunnel } from '../kernel/types.js'
import type { LabSnapshot } from '../lab/types.js'
import { farEnd, idName } from '../topology/overlay.js'
import { checkKeys } from '../lab/validate.js'
import type { Namespace } from '../lab/namespace.js'
import { makeProbe } from './probe.js'
import { traceProbe, type ProbeTrace } from './trace.js'
import { describeStop, type TraceEvent } from './trace-parse.js'
import { decidedBy, findDecidingRoute, thrownText } from '../assert/route-verdict.js'
import { describeDrop, watchTracedProbe } from '../drops/explain-drops.js'
import type { DropEvidence } from '../drops/probe-drops.js'

export interface Hop {
  namespace: string
  /** What `ip -j route get` answered here, or its error. */
  route?: { dev?: string; gateway?: string; prefsrc?: string; type?: string }
  note: string
  /** What nftables here did with the probe, e.g. "accepted: chain inet filter forward, policy accept" (traced namespaces only). */
  netfilter?: string
  /**
   * The tunnel the packet enters after leaving here: the route's device, a tunnel port of that bridge, or one of the
   * bridge the device's veth peer is a port of (a VM behind a hypervisor's bridge). `namespace` is where it lives.
   */
  tunnel?: HopTunnel
  /** The next hop's neighbour entry after the probe, when it did not resolve (e.g. state ['INCOMPLETE']). */
  neighbor?: { address: string; dev: string; state: string[] }
  /** The kernel dropped the probe (or its reply) here, and said why (where drop reasons are on: docs/drops.md). */
  drop?: DropEvidence
}

/** A tunnel on the path: its kernel record, its name and the namespace (label) it lives in. */
export type HopTunnel = LinkTunnel & { name: string; namespace: string }

export interface ExplainOptions {
  /** Probe with TCP or UDP to `port` instead of an ICMP echo (or write the target as 'tcp://10.0.2.1:80'). */
  proto?: Proto
  port?: number
  /** Send and trace a real probe (default true); false only walks the routes and warns about policy-drop chains. */
  trace?: boolean
  /** How long the probe waits for an answer, default 1000 ms (a probe seen dropped stops at once). */
  timeoutMs?: number
}

export interface Explanation {
  arrived: boolean
  hops: Hop[]
  /** Where it stops and why, e.g. "dropped in gw: chain inet filter forward, policy drop", "ip_forward is 0 in gw", "arrives at h2". */
  verdict: string
  /** What explain could not decide, e.g. no answer came back, or a namespace it could not trace. */
  warnings: string[]
  /** The traced probe, when one was sent. */
  probe?: {
    proto: Proto
    /** ICMP echo id (icmp) or source port (tcp, udp): the only packets the trace rules marked. */
    marker: number
    answered: boolean
    answer: string
    /** Labels of the namespaces traced, in path order, and their trace events as the kernel reported them. */
    traced: string[]
    events: Record<string, TraceEvent[]>
  }
  toString(): string
}

interface Walk {
  hops: Hop[]
  /** The namespace of each hop. */
  at: Namespace[]
  /** Per hop index: the next hop the walk went on to (a lab namespace owns it). */
  next: Map<number, { address: string; dev: string }>
  arrived: boolean
  verdict: string
  /** The first lookup gave a usable route, so a packet can leave `from`. */
  leaves: boolean
  /** Links and addresses of every lab namespace, read once: where a tunnel's far end is. */
  snap: LabSnapshot
}

/**
 * Follows the route decisions from `from` towards `to` through the namespaces of `from`'s lab, then traces a
 * real probe: `explain(h1, '10.0.2.1')`, `explain(h1, '10.0.2.1', { proto: 'tcp', port: 80 })`, `explain(h1, 'udp://10.0.2.1:53')`.
 */
export async function explain(from: Namespace, to: string | TargetObject, options: ExplainOptions = {}): Promise<Explanation> {
  checkKeys(options, ['proto', 'port', 'trace', 'timeoutMs'], 'explain')
  if (options.timeoutMs !== undefined && !(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0 && options.timeoutMs <= 60_000))
    throw invalidInput(`explain: timeoutMs must be a number of milliseconds from 1 to 60000, got ${String(options.timeoutMs)}`)
  const t =
    options.proto !== undefined || options.port !== undefined
      ? parseTarget({ host: typeof to === 'string' ? to : to.host, proto: options.proto, port: options.port })
      : parseTarget(to)
  const w = await walk(from, t)
  const warnings: string[] = []
  const done = (arrived: boolean, verdict: string, probe?: Explanation['probe']): Explanation => ({
    arrived,
    hops: w.hops,
    verdict,
    warnings,
    probe,
    toString: () => [...w.hops.map((h, i) => `${i + 1}. ${h.namespace}: ${h.note}`), `→ ${verdict}`, ...warnings.map((x) => `! ${x}`)].join('\n'),
  })
  if (options.trace === false || !w.leaves) {
    if (options.trace === false) warnings.push(...(await policyDrops(w)))
    return done(w.arrived, w.verdict)
  }

  let tr: ProbeTrace
  const sent = makeProbe(t)
  const drops = watchTracedProbe(from, t, sent.marker)
  try {
    tr = await traceProbe(from, w.at, sent, options.timeoutMs ?? 1000)
  } catch (e) {
    drops?.stop()
    warnings.push(`netfilter trace failed: ${(e as Error).message.split('\n')[0]}`, ...(await policyDrops(w)))
    return done(w.arrived, w.verdict)
  }
  // The kernel's own drop of the probe, on the hop that dropped it; it decides where the walk saw no reason to stop.
  for (const hit of drops?.stop() ?? []) {
    const i = w.at.findIndex((ns) => ns.name === hit.drop.netns)
    const { words, verdict, evidence } = await describeDrop(from.lab.namespaces.find((ns) => ns.name === hit.drop.netns), t, hit)
    if (i < 0) {
      warnings.push(`${evidence.namespace}: ${words}`)
      continue
    }
    w.hops[i]!.drop ??= evidence
    if (hit.drop.reason !== 'NETFILTER_DROP') w.hops[i]!.note = `${w.hops[i]!.note} — ${words}` // nftables' trace names the rule
    if (w.arrived && !tr.answered && hit.drop.reason !== 'NETFILTER_DROP' && w.verdict.startsWith('arrives')) {
      w.hops.length = i + 1
      w.verdict = verdict
      w.arrived = false
    }
  }
  warnings.push(...tr.problems)
  const probe: Explanation['probe'] = {
    proto: t.proto,
    marker: tr.probe.marker,
    answered: tr.answered,
    answer: tr.answer,
    traced: [...tr.traces.keys()].map((ns) => ns.label),
    events: Object.fromEntries([...tr.traces].map(([ns, x]) => [ns.label, x.events])),
  }
  for (let i = 0; i < w.hops.length; i++) {
    const hop = w.hops[i]!
    const ns = w.at[i]!
    const traced = tr.traces.get(ns)
    const fate = traced?.fate
    // The trace table's prerouting chain sees every probe that enters a traced namespace.
    if (traced !== undefined && fate === undefined && i > 0 && !tr.answered) {
      w.hops.length = i + 1
      hop.note = `the probe never arrived (nftables here saw nothing)`
      return done(false, `lost before ${ns.label}: the probe left ${w.hops[i - 1]!.namespace} but never reached ${ns.label}`, probe)
    }
    if (fate?.dropped !== undefined) {
      const how = fate.dropped.reject ? 'rejected' : 'dropped'
      const where = describeStop(fate.dropped)
      hop.netfilter = `${how}: ${where}`
      hop.note = `${hop.note} — ${how}: ${where}`
      w.hops.length = i + 1
      return done(false, `${how} in ${ns.label}: ${where}`, probe)
    }
    if (fate !== undefined) hop.netfilter = fate.accepted === undefined ? 'passed (no chain of its own on the way)' : `accepted: ${fate.accepted}`
    const next = w.next.get(i)
    if (next !== undefined && !tr.answered) {
      const n = (await ns.neighbors()).find((x) => x.dst === next.address && x.dev === next.dev)
      if (n !== undefined && n.state.some((s) => s === 'FAILED' || s === 'INCOMPLETE')) {
        hop.neighbor = { address: next.address, dev: next.dev, state: n.state }
        hop.note = `${hop.note} — ${next.address} does not answer (${n.state.join(',')})`
        w.hops.length = i + 1
        const nd = t.family === 4 ? 'no ARP reply' : 'no neighbour advertisement'
        if (hop.tunnel !== undefined) return done(false, overlayUnresolved(w.snap, { namespace: hop.namespace, dev: next.dev }, hop.tunnel, next.address, t.family), probe)
        return done(false, `unresolved in ${ns.label}: ${nd} from next hop ${next.address} on ${next.dev} (neighbour ${n.state.join(',')})`, probe)
      }
    }
  }
  if (w.arrived && !tr.answered) {
    const back = w.hops[0]?.route?.prefsrc
    warnings.push(
      `no answer came back to ${from.label} (${tr.answer})` +
        (back === undefined ? '' : `: is the way back routed? explain(${w.hops[w.hops.length - 1]!.namespace}, '${back}') walks it`),
    )
  }
  return done(w.arrived, w.verdict, probe)
}

/** The route walk: each namespace's own `ip route get`, the lab namespace owning the next hop, its forwarding sysctl. */
async function walk(from: Namespace, t: Target): Promise<Walk> {
  const to = t.address
  const owners = new Map<string, Namespace>()
  const all = from.lab.namespaces
  const [held, links] = await Promise.all([Promise.all(all.map((ns) => ns.addresses())), Promise.all(all.map((ns) => ns.links()))])
  all.forEach((ns, i) => held[i]!.forEach((a) => owners.set(a.address, ns)))
  const snap: LabSnapshot = {
    lab: from.lab.label,
    takenAt: new Date().toISOString(),
    namespaces: all.map((ns, i) => ({ label: ns.label, name: ns.name, links: links[i]!, addresses: held[i]!, routes: [], neighbors: [] })),
  }
  const w: Walk = { hops: [], at: [], next: new Map(), arrived: false, verdict: '', leaves: false, snap }
  // The interface a forwarded packet arrives on (the one holding the previous hop's next-hop address): the rules' iif.
  const devOf = new Map<string, string>()
  all.forEach((_, i) => held[i]!.forEach((a) => devOf.set(a.address, a.dev)))
  let iif: string | undefined
  const hop = (ns: Namespace, h: Omit<Hop, 'namespace'>) => {
    w.hops.push({ namespace: ns.label, ...h })
    w.at.push(ns)
  }
  const stop = (arrived: boolean, verdict: string): Walk => Object.assign(w, { arrived, verdict })
  let cur = from
  for (let i = 0; i < 16; i++) {
    const get = (...from: string[]) => cur.exec(['ip', '-j', t.family === 6 ? '-6' : '-4', 'route', 'get', to, ...from])
    let r = await get()
    // The sender's own socket asks again from the source this lookup chose (IPv4 connect(): routes.ts connectDecision),
    // so rules selecting on `from` apply to it: that answer decides. ping connect()s a UDP socket only to choose its
    // source (a refusal there stops it), then sends its echo unbound: one lookup with no source, which the walk follows.
    let src: string | undefined
    if (i === 0 && t.family === 4 && r.exitCode === 0) {
      const first = (JSON.parse(r.stdout) as Hop['route'][])[0]
      if (first?.prefsrc !== undefined && !['unreachable', 'blackhole', 'prohibit', 'throw'].includes(first.type ?? '')) {
        const sourced = await get('from', first.prefsrc)
        if (t.proto !== 'icmp' || sourced.exitCode !== 0) {
          src = first.prefsrc
          r = sourced
        }
      }
    }
    if (r.exitCode !== 0) {
      const said = r.stderr.trim().replace(/^RTNETLINK answers: /, '')
      const fromSrc = src === undefined ? '' : ` from ${src}`
      // The kernel answers a blackhole/unreachable/prohibit route with its errno only: name the route that decided.
      const by = decidedBy(await findDecidingRoute(cur, { dst: to, src: i === 0 ? src : w.hops[0]?.route?.prefsrc, iif }))
      // Throw routes passed on the way are named as the route verdicts name them (route-verdict.ts).
      const thrown = thrownText(by)
      if (by.route !== undefined || by.rule !== undefined) {
        hop(cur, { route: { type: by.route?.type ?? by.rule?.action, ...(src === undefined ? {} : { prefsrc: src }) }, note: `${by.text.replace(/^an? /, '')}${fromSrc}: ${said}${thrown}` })
        return stop(false, `${by.text.replace(/^an? /, '')} in ${cur.label} for ${to}${fromSrc}: ${said}${thrown}`)
      }
      const fellThrough = thrown === '' ? '' : `${thrown}, and no later rule's table has a route`
      hop(cur, { note: `route get ${to}${fromSrc}: ${r.stderr.trim()}${fellThrough}` })
      return stop(false, `no route in ${cur.label} for ${to}${fromSrc}: ${said}${fellThrough}`)
    }
    const parsed = (JSON.parse(r.stdout) as Hop['route'][])[0] ?? {}
    // Asked `from` the source, ip prints it as "from", not "prefsrc": the source stays the hop's prefsrc.
    const route = src === undefined ? parsed : { ...parsed, prefsrc: parsed.prefsrc ?? src }
    if (route.type === 'local' || owners.get(to) === cur) {
      hop(cur, { route, note: `${to} is local` })
      w.leaves = true
      return stop(true, `arrives at ${cur.label}`)
    }
    if (route.type === 'unreachable' || route.type === 'blackhole' || route.type === 'prohibit') {
      hop(cur, { route, note: `${route.type} route` })
      return stop(false, `${route.type} route in ${cur.label} for ${to}`)
    }
    w.leaves = true
    const next = route.gateway ?? to
    const tunnel = tunnelOut(snap, cur.label, route.dev)
    const over = tunnel === undefined ? '' : `, through ${tunnel.namespace === cur.label ? '' : `${tunnel.namespace} `}${tunnel.name}: ${tunnel.type} ${idName(tunnel)} ${tunnel.id ?? '?'} to ${tunnel.remote ?? tunnel.group ?? '?'}${tunnel.port === undefined ? '' : ` udp ${tunnel.port}`}${tunnel.dev === undefined ? '' : ` over ${tunnel.dev}`}`
    hop(cur, { route, note: `out ${route.dev ?? '?'}${route.gateway ? ` via ${route.gateway}` : ' (directly connected)'}${over}`, ...(tunnel === undefined ? {} : { tunnel }) })
    const owner = owners.get(next)
    if (!owner) return stop(false, `next hop ${next} (out ${route.dev ?? '?'} in ${cur.label}) belongs to no namespace of this lab`)
    if (owner === cur) return stop(false, `routing loop in ${cur.label}: next hop ${next} is its own address`)
    if (route.dev !== undefined) w.next.set(w.hops.length - 1, { address: next, dev: route.dev })
    if (owners.get(to) === owner) {
      hop(owner, { note: `${to} is local` })
      return stop(true, `arrives at ${owner.label}`)
    }
    const key = t.family === 6 ? 'net.ipv6.conf.all.forwarding' : 'net.ipv4.ip_forward'
    if ((await owner.sysctlGet(key)).trim() !== '1') {
      hop(owner, { note: `${key} = 0` })
      return stop(false, `${t.family === 6 ? 'IPv6 forwarding' : 'ip_forward'} is 0 in ${owner.label}`)
    }
    cur = owner
    iif = devOf.get(next)
  }
  return stop(false, 'more than 16 hops: probably a routing loop')
}

/**
 * The tunnel a packet out of `dev` in `ns` enters: `dev` itself, the tunnel port of bridge `dev`, or the tunnel port of
 * the bridge that `dev`'s veth peer is a port of, one namespace over (a VM plugged into a hypervisor's bridge).
 */
function tunnelOut(snap: LabSnapshot, ns: string, dev: string | undefined): HopTunnel | undefined {
  const linksOf = (label: string | undefined): readonly Link[] => snap.namespaces.find((n) => n.label === label)?.links ?? []
  const viaBridge = (label: string, links: readonly Link[], name: string | undefined): HopTunnel | undefined => {
    const l = links.find((x) => x.name === name)
    const t = l?.tunnel !== undefined ? l : l?.kind === 'bridge' ? links.find((x) => x.master === name && x.tunnel !== undefined) : undefined
    return t === undefined ? undefined : { ...t.tunnel!, name: t.name, namespace: label }
  }
  const links = linksOf(ns)
  const here = viaBridge(ns, links, dev)
  if (here !== undefined) return here
  const peer = links.find((x) => x.name === dev && x.kind === 'veth')?.peer
  if (peer?.namespace === undefined || peer.namespace === ns) return undefined
  const far = linksOf(peer.namespace)
  return viaBridge(peer.namespace, far, far.find((x) => x.name === peer.name)?.master)
}

/**
 * "ARP left hv1 vx42 (VNI 42) for 192.168.50.2; hv2 has no VNI 42 (it has 43)" (or "ARP left vm1 eth0 through hv1 vx42 …"
 * for a VM behind the hypervisor's bridge): where the overlay's far end is missing.
 */
export function overlayUnresolved(snap: LabSnapshot, from: { namespace: string; dev: string }, tunnel: HopTunnel, address: string, family: 4 | 6): string {
  const what = family === 4 ? 'ARP' : 'neighbour solicitation'
  const { far, owner, problem } = farEnd(snap, { ns: tunnel.namespace, dev: tunnel.name, tunnel })
  const id = `${idName(tunnel)} ${tunnel.id ?? '?'}`
  const why =
    problem ??
    (far === undefined ? `no ${family === 4 ? 'ARP reply' : 'neighbour advertisement'} came back` : `${owner}'s ${far.dev} has ${id}, yet no ${family === 4 ? 'ARP reply' : 'neighbour advertisement'} came back over it`)
  const left = from.namespace === tunnel.namespace ? `${from.namespace} ${tunnel.name}` : `${from.namespace} ${from.dev} through ${tunnel.namespace} ${tunnel.name}`
  return `${what} left ${left} (${id}) for ${address}; ${why}`
}

/** Without a trace: hooked chains with policy drop on the path (they may drop it; only a trace can tell). */
async function policyDrops(w: Walk): Promise<string[]> {
  const out: string[] = []
  for (const [i, ns] of w.at.entries()) {
    const hook = i === 0 ? 'output' : w.hops[i]!.note.endsWith('is local') ? 'input' : 'forward'
    const rs = await readRuleset(ns.lab.executor, ns.name)
    for (const c of rs?.chains ?? []) {
      if (c.hook === hook && c.policy === 'drop') out.push(`${ns.label}: chain ${c.family} ${c.table} ${c.name} (hook ${hook}) has policy drop (it may drop the probe; not checked without a trace)`)
    }
  }
  return out
}
