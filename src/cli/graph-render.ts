// Drawings of a NetGraph: plain text for terminals, Mermaid for READMEs and job summaries.
import type { GraphEdge, GraphIface, GraphNamespace, NetGraph } from './graph-model.js'
import { printable } from '../values/show.js'

function ifaceText(i: GraphIface): string {
  const parts = [i.name]
  if (i.kind !== undefined) parts.push(`(${i.kind})`)
  parts.push(i.up ? 'UP' : 'DOWN')
  if (i.master !== undefined) parts.push(`master ${i.master}`)
  parts.push(...i.addresses)
  return parts.join(' ')
}

function nsSubtitle(ns: GraphNamespace): string {
  if (ns.lab !== undefined) return `lab '${ns.lab.label}' › ${ns.lab.nsLabel} (${ns.lab.state})`
  if (ns.container !== undefined) return `container ${ns.container.name} (${ns.container.id.slice(0, 12)}, pid ${ns.container.pid})`
  if (ns.kind === 'host') return "the machine's own namespace"
  return ''
}

function endText(graph: NetGraph, key: string, iface: string): string {
  return `${graph.namespaces.find((n) => n.key === key)?.title ?? key}:${iface}`
}

function peerOf(graph: NetGraph, ns: GraphNamespace, iface: GraphIface): string | undefined {
  for (const e of graph.edges) {
    if (e.a.key === ns.key && e.a.iface === iface.name) return 'key' in e.b ? endText(graph, e.b.key, e.b.iface) : e.b.unknown
    if ('key' in e.b && e.b.key === ns.key && e.b.iface === iface.name) return endText(graph, e.a.key, e.a.iface)
  }
  return undefined
}

/** Interfaces worth drawing: everything but loopback; in the host namespace only veths and their bridges. */
export function drawnIfaces(ns: GraphNamespace): GraphIface[] {
  const ifaces = ns.ifaces.filter((i) => i.name !== 'lo')
  if (ns.kind !== 'host') return ifaces
  const veths = ifaces.filter((i) => i.kind === 'veth')
  const masters = new Set(veths.map((v) => v.master).filter((m): m is string => m !== undefined))
  return ifaces.filter((i) => i.kind === 'veth' || masters.has(i.name))
}

export function renderGraphText(graph: NetGraph): string {
  const pairs = graph.edges.filter((e) => 'key' in e.b).length
  const lines = [`${graph.namespaces.length} namespace(s), ${pairs} veth pair(s) — read-only view of this machine`, '']
  for (const ns of graph.namespaces) {
    const sub = nsSubtitle(ns)
    lines.push(`${ns.title}${sub === '' ? '' : `   ${sub}`}`)
    const ifaces = drawnIfaces(ns)
    if (ifaces.length === 0) lines.push('  (no interfaces but lo)')
    for (const i of ifaces) {
      const peer = i.peer === undefined ? undefined : peerOf(graph, ns, i)
      lines.push(`  ${ifaceText(i)}${peer === undefined ? '' : `  ⇄  ${peer}`}`)
    }
    lines.push('')
  }
  if (graph.edges.length > 0) {
    lines.push('veth pairs:')
    for (const e of graph.edges) lines.push(`  ${edgeText(graph, e)}`)
  }
  for (const n of graph.notes) lines.push(`note: ${n}`)
  // Labels come from markers and names from kernels: neither may print control characters to a terminal.
  return lines.map(printable).join('\n').trimEnd()
}

function edgeText(graph: NetGraph, e: GraphEdge): string {
  return `${endText(graph, e.a.key, e.a.iface)} ⇄ ${'key' in e.b ? endText(graph, e.b.key, e.b.iface) : `? (${e.b.unknown})`}`
}

// Mermaid labels: quotes and angle brackets would end or break a label.
const esc = (s: string) => s.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;')

export function renderGraphMermaid(graph: NetGraph): string {
  const id = new Map(graph.namespaces.map((n, k) => [n.key, `n${k}`]))
  const node = (key: string, iface: string) => {
    const ns = graph.namespaces.find((n) => n.key === key)
    const idx = ns?.ifaces.find((i) => i.name === iface)?.ifindex ?? iface.replace(/\W/g, '_')
    return `${id.get(key) ?? 'x'}_i${idx}`
  }
  const lines = ['flowchart LR']
  for (const ns of graph.namespaces) {
    const sub = nsSubtitle(ns)
    lines.push(`  subgraph ${id.get(ns.key)}["${esc(ns.title)}${sub === '' ? '' : `<br/>${esc(sub)}`}"]`)
    const ifaces = drawnIfaces(ns)
    if (ifaces.length === 0) lines.push(`    ${id.get(ns.key)}_empty["(only lo)"]`)
    for (const i of ifaces) {
      const label = [esc(i.name), ...i.addresses.map(esc)].join('<br/>')
      lines.push(`    ${node(ns.key, i.name)}["${label}"]`)
    }
    lines.push('  end')
  }
  for (const ns of graph.namespaces) {
    const drawn = drawnIfaces(ns)
    for (const i of drawn)
      if (i.master !== undefined && drawn.some((m) => m.name === i.master)) lines.push(`  ${node(ns.key, i.name)} -.- ${node(ns.key, i.master)}`)
  }
  let unknown = 0
  for (const e of graph.edges) {
    if ('key' in e.b) lines.push(`  ${node(e.a.key, e.a.iface)} --- ${node(e.b.key, e.b.iface)}`)
    else {
      unknown += 1
      lines.push(`  unknown${unknown}(["? ${esc(e.b.unknown)}"])`, `  ${node(e.a.key, e.a.iface)} -.- unknown${unknown}`)
    }
  }
  return lines.map(printable).join('\n')
}
