// Drawings of a lab from the kernel's read-back state (a LabSnapshot), never from what the spec asked for:
// Mermaid for GitHub summaries and a plain-text list for terminals and failure diagnostics.
import type { LabSnapshot, NamespaceSnapshot } from '../lab/types.js'
import { describeTunnel, overlayLines, overlays } from './overlay.js'

export interface Diagram {
  mermaid: string
  text: string
}

interface Cable {
  a: { ns: string; dev: string }
  b: { ns: string; dev: string }
}

const id = (s: string): string => s.replace(/[^A-Za-z0-9_]/g, '_')
const addrs = (ns: NamespaceSnapshot, dev: string): string[] =>
  ns.addresses.filter((a) => a.dev === dev && a.scope !== 'link' && a.scope !== 'host').map((a) => a.cidr)
const label = (ns: NamespaceSnapshot, dev: string): string => [dev, ...addrs(ns, dev)].join(' ')

/** Each veth pair once, whose two ends are both in the snapshot (or whose far end is outside, labelled by kernel name). */
export function cables(snap: LabSnapshot): Cable[] {
  const seen = new Set<string>()
  const out: Cable[] = []
  for (const ns of snap.namespaces) {
    for (const l of ns.links) {
      if (l.kind !== 'veth' || !l.peer?.name) continue
      const far = l.peer.namespace ?? l.peer.netns ?? ns.label
      const key = [`${ns.label}/${l.name}`, `${far}/${l.peer.name}`].sort().join('|')
      if (seen.has(key)) continue
      seen.add(key)
      out.push({ a: { ns: ns.label, dev: l.name }, b: { ns: far, dev: l.peer.name } })
    }
  }
  return out
}

/** Renders a snapshot as Mermaid (`flowchart LR`, one subgraph per namespace, bridges as nodes) and as text. */
export function diagram(snap: LabSnapshot): Diagram {
  const m: string[] = ['flowchart LR']
  const t: string[] = [`lab ${snap.lab}`]
  const byLabel = new Map(snap.namespaces.map((n) => [n.label, n]))
  for (const ns of snap.namespaces) {
    m.push(`  subgraph ${id(ns.label)}["${ns.label}"]`)
    t.push(`  ${ns.label} (${ns.name})`)
    for (const l of ns.links) {
      if (l.name === 'lo') continue
      const shape = l.kind === 'bridge' ? `[["${label(ns, l.name)}"]]` : `["${label(ns, l.name)}"]`
      m.push(`    ${id(ns.label)}__${id(l.name)}${shape}`)
      const extra = [l.tunnel ? describeTunnel(l.tunnel) : (l.kind ?? ''), l.master ? `port of ${l.master}` : '', l.up ? '' : 'DOWN'].filter(Boolean).join(', ')
      t.push(`    ${label(ns, l.name)}${extra ? ` (${extra})` : ''}`)
    }
    m.push('  end')
  }
  for (const ns of snap.namespaces) {
    for (const l of ns.links) if (l.master) m.push(`  ${id(ns.label)}__${id(l.name)} --- ${id(ns.label)}__${id(l.master)}`)
  }
  t.push('  links')
  for (const c of cables(snap)) {
    const far = byLabel.get(c.b.ns)
    m.push(`  ${id(c.a.ns)}__${id(c.a.dev)} <--> ${id(c.b.ns)}__${id(c.b.dev)}`)
    t.push(`    ${c.a.ns}:${c.a.dev} <──veth──> ${c.b.ns}:${c.b.dev}${far ? '' : ' (outside the lab)'}`)
  }
  // Tunnels: an edge between the namespaces of the two ends (src/topology/overlay.ts), or to the address an end sends to.
  const ov = overlays(snap)
  for (const o of ov) {
    const via = `${o.a.tunnel.type} ${o.a.tunnel.id ?? '?'}`
    if (o.b !== undefined) m.push(`  ${id(o.a.ns)}__${id(o.a.dev)} -.-|"${via}"| ${id(o.b.ns)}__${id(o.b.dev)}`)
    else {
      const to = o.a.tunnel.remote ?? o.a.tunnel.group ?? '?'
      m.push(`  ${id(o.a.ns)}__${id(o.a.dev)} -.-|"${via}: no far end"| far_${id(to)}(("${to}"))`)
    }
  }
  if (ov.length > 0) t.push('  overlays', ...overlayLines(snap).map((line) => `    ${line}`))
  return { mermaid: m.join('\n') + '\n', text: t.join('\n') + '\n' }
}
