// The machine's namespaces and the veth pairs between them, as plain data, and the pure logic that
// decides which namespace holds the other end of each veth (the tutorials' "where is my peer?").

export interface GraphIface {
  ifindex: number
  name: string
  kind?: string
  up: boolean
  addresses: string[]
  master?: string
  /** veth only: the peer's ifindex, and the nsid under which this namespace knows the peer's namespace. */
  peer?: { ifindex: number; nsid?: number }
}

export interface GraphNamespace {
  /** Unique key in the graph (kernel name, `container:<id>` or `host`). */
  key: string
  /** What the drawing shows. */
  title: string
  kind: 'host' | 'named' | 'container'
  /** Named namespaces: the /run/netns name. */
  netns?: string
  container?: { id: string; name: string; pid: number }
  /** netspec labs: who owns it. */
  lab?: { label: string; labId: string; nsLabel: string; state: 'live' | 'kept' | 'dead owner' }
  ifaces: GraphIface[]
  /** This namespace's nsid → name of named namespaces (`ip netns list-id`). */
  nsids: Map<number, string>
}

export interface GraphEnd {
  key: string
  iface: string
}

export interface GraphEdge {
  a: GraphEnd
  /** The other end, or why it could not be found. */
  b: GraphEnd | { unknown: string }
}

export interface NetGraph {
  namespaces: GraphNamespace[]
  edges: GraphEdge[]
  notes: string[]
}

/** Splits the concatenated JSON arrays that `ip -j -batch -` prints (one per command). */
export function splitJsonValues(text: string): unknown[] {
  const out: unknown[] = []
  let depth = 0
  let start = -1
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i += 1
      else if (c === '"') inString = false
      continue
    }
    if (c === '"') inString = true
    else if (c === '[' || c === '{') {
      if (depth === 0) start = i
      depth += 1
    } else if (c === ']' || c === '}') {
      depth -= 1
      if (depth === 0 && start !== -1) {
        out.push(JSON.parse(text.slice(start, i + 1)))
        start = -1
      }
    }
  }
  return out
}

type Json = Record<string, unknown>

/** Interfaces from `ip -j -d addr show` (links with their addresses in one document). */
export function parseIfaces(value: unknown): GraphIface[] {
  if (!Array.isArray(value)) return []
  const json = value as Json[]
  const ifaces = json.map((j) => {
    const kind = (j.linkinfo as Json | undefined)?.info_kind
    const iface: GraphIface = {
      ifindex: typeof j.ifindex === 'number' ? j.ifindex : -1,
      name: typeof j.ifname === 'string' ? j.ifname : '?',
      up: Array.isArray(j.flags) && j.flags.includes('UP'),
      addresses: ((j.addr_info ?? []) as Json[])
        .filter((a) => a.scope !== 'link' && a.scope !== 'host')
        .map((a) => `${String(a.local)}/${String(a.prefixlen)}`),
    }
    if (typeof kind === 'string') iface.kind = kind
    if (typeof j.master === 'string') iface.master = j.master
    if (kind === 'veth' && typeof j.link_index === 'number')
      iface.peer = { ifindex: j.link_index, ...(typeof j.link_netnsid === 'number' ? { nsid: j.link_netnsid } : {}) }
    return iface
  })
  // Both ends in one namespace: ip names the peer (`"link": "a1"`) instead of giving its index.
  for (const [k, j] of json.entries()) {
    const iface = ifaces[k]!
    if (iface.kind !== 'veth' || iface.peer !== undefined || typeof j.link !== 'string') continue
    const other = ifaces.find((i) => i.name === j.link)
    if (other !== undefined) iface.peer = { ifindex: other.ifindex }
  }
  return ifaces
}

export function parseNsids(value: unknown): Map<number, string> {
  const map = new Map<number, string>()
  if (Array.isArray(value)) for (const j of value as Json[]) if (typeof j.nsid === 'number' && typeof j.name === 'string') map.set(j.nsid, j.name)
  return map
}

/**
 * Pairs veth ends. A peer in a named namespace is found through this namespace's nsid table; a peer in
 * an unnamed one (a container's, the host's) by the only veth whose ifindex and peer ifindex mirror ours.
 */
export function resolveEdges(namespaces: readonly GraphNamespace[]): GraphEdge[] {
  const byNetns = new Map(namespaces.filter((n) => n.netns !== undefined).map((n) => [n.netns!, n]))
  const edges: GraphEdge[] = []
  const seen = new Set<string>()
  const endKey = (k: string, i: number) => `${k}#${i}`
  for (const ns of namespaces) {
    for (const iface of ns.ifaces) {
      if (iface.peer === undefined || seen.has(endKey(ns.key, iface.ifindex))) continue
      const peer = iface.peer
      let found: { ns: GraphNamespace; iface: GraphIface } | undefined
      let unknown: string | undefined
      if (peer.nsid === undefined) {
        const other = ns.ifaces.find((i) => i.ifindex === peer.ifindex)
        if (other !== undefined) found = { ns, iface: other }
      } else {
        const name = ns.nsids.get(peer.nsid)
        const target = name === undefined ? undefined : byNetns.get(name)
        if (target !== undefined) {
          const other = target.ifaces.find((i) => i.ifindex === peer.ifindex)
          if (other !== undefined) found = { ns: target, iface: other }
        } else if (name !== undefined) {
          unknown = `namespace ${name} (not readable now), ifindex ${peer.ifindex}`
        } else {
          const candidates = namespaces.flatMap((other) =>
            other === ns
              ? []
              : other.ifaces
                  .filter(
                    (i) =>
                      i.ifindex === peer.ifindex &&
                      i.peer?.ifindex === iface.ifindex &&
                      i.peer.nsid !== undefined &&
                      (other.nsids.get(i.peer.nsid) === undefined || other.nsids.get(i.peer.nsid) === ns.netns),
                  )
                  .map((i) => ({ ns: other, iface: i })),
          )
          if (candidates.length === 1) found = candidates[0]
          else unknown = `${candidates.length === 0 ? 'an unseen' : 'an ambiguous'} unnamed namespace (nsid ${peer.nsid}), ifindex ${peer.ifindex}`
        }
      }
      seen.add(endKey(ns.key, iface.ifindex))
      if (found !== undefined) {
        seen.add(endKey(found.ns.key, found.iface.ifindex))
        edges.push({ a: { key: ns.key, iface: iface.name }, b: { key: found.ns.key, iface: found.iface.name } })
      } else {
        edges.push({ a: { key: ns.key, iface: iface.name }, b: { unknown: unknown ?? `ifindex ${peer.ifindex} (gone)` } })
      }
    }
  }
  return edges
}

/** Keeps the namespaces whose title or name contains `text`, and those at the other end of their veths. */
export function filterGraph(graph: NetGraph, text: string | undefined): NetGraph {
  if (text === undefined) return graph
  const hit = new Set(graph.namespaces.filter((n) => n.title.includes(text) || (n.netns ?? '').includes(text) || n.lab?.label.includes(text)).map((n) => n.key))
  const edges = graph.edges.filter((e) => hit.has(e.a.key) || ('key' in e.b && hit.has(e.b.key)))
  const keep = new Set(hit)
  for (const e of edges) {
    keep.add(e.a.key)
    if ('key' in e.b) keep.add(e.b.key)
  }
  return { ...graph, namespaces: graph.namespaces.filter((n) => keep.has(n.key)), edges }
}
