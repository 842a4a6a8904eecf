// Plain-text rendering of a lab's state, for failure diagnostics and debugging.
import type { Route } from '../kernel/types.js'
import type { LabSnapshot, NamespaceSnapshot } from './types.js'

/** A route as `ip route` would print it: `10.9.0.0/16 via 10.0.12.2 dev veth1 metric 50`. */
export function describeRoute(r: Route): string {
  // A host route bare (10.5.0.1, fd05::1), as ip prints it.
  const dst = r.dst.replace(r.family === 4 ? /\/32$/ : /\/128$/, '')
  const parts = r.type === 'unicast' ? [dst] : [r.type, dst]
  if (r.nhid !== undefined) parts.push(`nhid ${r.nhid}`)
  if (r.via !== undefined) parts.push(`via ${r.via}`)
  if (r.dev !== undefined) parts.push(`dev ${r.dev}`)
  if (r.src !== undefined) parts.push(`src ${r.src}`)
  if (r.metric !== undefined) parts.push(`metric ${r.metric}`)
  if (r.table !== 'main') parts.push(`table ${r.table}`)
  if (r.mtu !== undefined) parts.push(`mtu ${r.mtu}`)
  for (const n of r.nexthops ?? [])
    parts.push(['nexthop', ...(n.via === undefined ? [] : [`via ${n.via}`]), ...(n.dev === undefined ? [] : [`dev ${n.dev}`]), `weight ${n.weight}`, ...n.flags].join(' '))
  return parts.join(' ')
}

export function formatNamespace(ns: NamespaceSnapshot): string {
  const out = [`── ${ns.label} (ip netns exec ${ns.name} …)`]
  out.push('   links:')
  for (const l of ns.links) {
    const peer = l.peer === undefined ? '' : ` ⇄ ${l.peer.namespace ?? l.peer.netns ?? '?'}/${l.peer.name ?? `#${l.peer.index}`}`
    const master = l.master === undefined ? '' : ` master ${l.master}`
    const addrs = ns.addresses.filter((a) => a.dev === l.name && a.scope !== 'link').map((a) => a.cidr)
    out.push(
      `     ${l.index}: ${l.name}${l.kind === undefined ? '' : ` (${l.kind})`} ${l.up ? 'UP' : 'DOWN'}/${l.operState} ` +
        `mtu ${l.mtu} ${l.mac}${master}${peer}${addrs.length > 0 ? `  ${addrs.join(' ')}` : ''}`,
    )
  }
  const routes = ns.routes.filter((r) => r.table !== 'local' && !(r.family === 6 && r.dst.startsWith('fe80')))
  out.push('   routes:')
  if (routes.length === 0) out.push('     (none)')
  for (const r of routes) out.push(`     ${describeRoute(r)}`)
  if (ns.neighbors.length > 0) {
    out.push('   neighbours:')
    for (const n of ns.neighbors) out.push(`     ${n.dst} dev ${n.dev}${n.mac === undefined ? '' : ` lladdr ${n.mac}`} ${n.state.join(',')}`)
  }
  return out.join('\n')
}

export function formatSnapshot(s: LabSnapshot): string {
  return [`lab '${s.lab}' at ${s.takenAt}`, ...s.namespaces.map(formatNamespace)].join('\n')
}
