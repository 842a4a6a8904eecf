// Overlays from read-back state: which tunnel end meets which. Two ends belong together when they carry the
// same id (a VXLAN's VNI) on the same port and each one's remote is an address of the other's namespace (or
// they share a multicast group). An end with no partner says why, naming what the far namespace has instead:
// "hv2 has no VNI 42 (it has 43)". Pure functions over a LabSnapshot: used by the diagram, the diagnostics and explain().
import type { LinkTunnel } from '../kernel/types.js'
import type { LabSnapshot, NamespaceSnapshot } from '../lab/types.js'

export interface TunnelEnd {
  /** Namespace label. */
  ns: string
  dev: string
  tunnel: LinkTunnel
}

export interface Overlay {
  a: TunnelEnd
  /** The far end, when one in the lab answers to `a` (same id and port, remotes pointing at each other, or one group). */
  b?: TunnelEnd
  /** Why `a` has no far end, e.g. "hv2 has no VNI 42 (it has 43)". */
  problem?: string
}

/** "VNI 42" for VXLAN (Geneve), "key 42" for the GRE family later. */
export function idName(t: LinkTunnel): string {
  return t.type === 'vxlan' || t.type === 'geneve' ? 'VNI' : 'id'
}

/** Every tunnel link in the snapshot. */
export function tunnelEnds(snap: LabSnapshot): TunnelEnd[] {
  return snap.namespaces.flatMap((ns) => ns.links.filter((l) => l.tunnel !== undefined).map((l) => ({ ns: ns.label, dev: l.name, tunnel: l.tunnel! })))
}

const holds = (ns: NamespaceSnapshot | undefined, address: string | undefined): boolean =>
  ns !== undefined && address !== undefined && ns.addresses.some((a) => a.address === address)

/** Finds `end`'s partner, or says why there is none. */
export function farEnd(snap: LabSnapshot, end: TunnelEnd): { far?: TunnelEnd; owner?: string; problem?: string } {
  const t = end.tunnel
  const mine = snap.namespaces.find((n) => n.label === end.ns)
  const ends = tunnelEnds(snap).filter((e) => e.ns !== end.ns && e.tunnel.type === t.type)
  const idText = `${idName(t)} ${t.id ?? '?'}`
  if (t.group !== undefined) {
    const far = ends.find((e) => e.tunnel.group === t.group && e.tunnel.id === t.id && e.tunnel.port === t.port)
    return far !== undefined ? { far, owner: far.ns } : { problem: `no other namespace of the lab has ${idText} in group ${t.group}` }
  }
  const owner = snap.namespaces.find((n) => n.label !== end.ns && holds(n, t.remote))
  if (owner === undefined) return { problem: `no namespace of the lab holds ${t.remote ?? '?'}` }
  const there = ends.filter((e) => e.ns === owner.label)
  const same = there.filter((e) => e.tunnel.id === t.id)
  const far = same.find((e) => e.tunnel.port === t.port && (holds(mine, e.tunnel.remote) || e.tunnel.group !== undefined))
  if (far !== undefined) return { far, owner: owner.label }
  if (same.length === 0) {
    const others = [...new Set(there.map((e) => e.tunnel.id).filter((id): id is number => id !== undefined))].sort((x, y) => x - y)
    return {
      owner: owner.label,
      problem: `${owner.label} has no ${idText}${others.length === 0 ? ` (it has no ${t.type} link)` : ` (it has ${others.join(', ')})`}`,
    }
  }
  const s = same[0]!
  if (s.tunnel.port !== t.port) return { owner: owner.label, problem: `${owner.label}'s ${idText} (${s.dev}) uses UDP port ${s.tunnel.port ?? '?'}, not ${t.port ?? '?'}` }
  return { owner: owner.label, problem: `${owner.label}'s ${idText} (${s.dev}) sends to ${s.tunnel.remote ?? '?'}, which is not an address of ${end.ns}` }
}

/** Each matched pair once, and every end without a partner. */
export function overlays(snap: LabSnapshot): Overlay[] {
  const out: Overlay[] = []
  const seen = new Set<string>()
  for (const a of tunnelEnds(snap)) {
    const key = `${a.ns}/${a.dev}`
    if (seen.has(key)) continue
    const { far, problem } = farEnd(snap, a)
    if (far !== undefined) {
      const fk = `${far.ns}/${far.dev}`
      if (seen.has(fk)) continue // the pair was drawn from the other side
      seen.add(key)
      if (farEnd(snap, far).far?.ns === a.ns) seen.add(fk)
      out.push({ a, b: far })
    } else {
      seen.add(key)
      out.push({ a, ...(problem === undefined ? {} : { problem }) })
    }
  }
  return out
}

/** `vxlan 42 udp 4789 over eth0 → 10.0.0.2`: what one end carries and where to. */
export function describeTunnel(t: LinkTunnel): string {
  const to = t.remote ?? (t.group === undefined ? undefined : `group ${t.group}`)
  return [
    `${t.type} ${t.id ?? '?'}`,
    t.port === undefined ? '' : `udp ${t.port}`,
    t.dev === undefined ? '' : `over ${t.dev}`,
    to === undefined ? '' : `→ ${to}`,
  ].filter(Boolean).join(' ')
}

/** One line per overlay, for the text diagram and failure diagnostics. */
export function overlayLines(snap: LabSnapshot): string[] {
  return overlays(snap).map((o) => {
    const via = `${o.a.tunnel.type} ${o.a.tunnel.id ?? '?'}${o.a.tunnel.port === undefined ? '' : ` udp ${o.a.tunnel.port}`}`
    if (o.b !== undefined) return `${o.a.ns}:${o.a.dev} <══${via}══> ${o.b.ns}:${o.b.dev}`
    const to = o.a.tunnel.remote ?? o.a.tunnel.group ?? '?'
    return `${o.a.ns}:${o.a.dev} ══${via}══> ${to}: no far end${o.problem === undefined ? '' : ` (${o.problem})`}`
  })
}
