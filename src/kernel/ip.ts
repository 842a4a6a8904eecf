// Typed wrappers over `ip -j`: read the kernel's state back. (Batches of changes go through batcher.ts.)
import { isIP } from 'node:net'
import { runChecked, type Executor } from '../exec/index.js'
import type { NetspecErrorContext } from '../errors.js'
import { canonicalV6 } from '../values/address.js'
import { parseDestination } from '../values/cidr.js'
import type { Address, Family, Link, LinkTunnel, Neighbor, Route, RouteDecision, RouteNexthop } from './types.js'

type Json = Record<string, unknown>

function parseJsonArray(text: string): Json[] {
  const trimmed = text.trim()
  if (trimmed === '') return []
  const value: unknown = JSON.parse(trimmed)
  return Array.isArray(value) ? (value as Json[]) : []
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined)
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])

export function parseLinks(text: string): Link[] {
  const json = parseJsonArray(text)
  const links = json.map((j) => {
    const info = (j.linkinfo ?? {}) as Json
    const flags = strs(j.flags)
    const link: Link = {
      index: num(j.ifindex) ?? -1,
      name: str(j.ifname) ?? '?',
      kind: str(info.info_kind),
      up: flags.includes('UP'),
      operState: str(j.operstate) ?? 'UNKNOWN',
      flags,
      mtu: num(j.mtu) ?? 0,
      mac: str(j.address) ?? '',
    }
    const alias = str(j.ifalias)
    if (alias !== undefined) link.alias = alias
    const master = str(j.master)
    if (master !== undefined) link.master = master
    if (link.kind === 'vlan') {
      const d = (info.info_data ?? {}) as Json
      link.vlan = { id: num(d.id) ?? -1, protocol: str(d.protocol) ?? '?', ...(str(j.link) === undefined ? {} : { parent: str(j.link) }) }
    }
    if (link.kind === 'vxlan') link.tunnel = parseVxlanInfo((info.info_data ?? {}) as Json)
    if (link.kind === 'veth' && num(j.link_index) !== undefined) {
      link.peer = { index: num(j.link_index)!, netnsId: num(j.link_netnsid) }
    }
    return link
  })
  // Both ends in one namespace: ip names the peer (`"link": "v6a"`) instead of giving its index.
  for (const [i, j] of json.entries()) {
    const link = links[i]!
    const peerName = str(j.link)
    if (link.kind !== 'veth' || link.peer !== undefined || peerName === undefined) continue
    const index = links.find((l) => l.name === peerName)?.index
    if (index !== undefined) link.peer = { index, name: peerName }
  }
  return links
}

/** A vxlan's info_data (`ip -j -d link`): IPv6 ends come as remote6/local6/group6; the underlay as `link`. */
function parseVxlanInfo(d: Json): LinkTunnel {
  const t: LinkTunnel = { type: 'vxlan' }
  const id = num(d.id)
  if (id !== undefined) t.id = id
  const remote = str(d.remote) ?? str(d.remote6)
  if (remote !== undefined) t.remote = remote
  const local = str(d.local) ?? str(d.local6)
  if (local !== undefined) t.local = local
  const group = str(d.group) ?? str(d.group6)
  if (group !== undefined) t.group = group
  const port = num(d.port)
  if (port !== undefined) t.port = port
  const dev = str(d.link)
  if (dev !== undefined) t.dev = dev
  return t
}

export function parseAddresses(text: string): Address[] {
  const out: Address[] = []
  for (const j of parseJsonArray(text)) {
    const dev = str(j.ifname) ?? '?'
    for (const a of (j.addr_info ?? []) as Json[]) {
      const family: Family = a.family === 'inet6' ? 6 : 4
      const address = str(a.local) ?? '?'
      const prefixLength = num(a.prefixlen) ?? (family === 4 ? 32 : 128)
      const flags = ['nodad', 'tentative', 'dadfailed', 'secondary', 'deprecated', 'noprefixroute'].filter((f) => a[f] === true)
      out.push({ dev, family, address, prefixLength, cidr: `${address}/${prefixLength}`, scope: str(a.scope) ?? 'global', flags })
    }
  }
  return out
}

export function parseRoutes(text: string, family?: Family): Route[] {
  return parseJsonArray(text).map((j) => {
    const nexthops = Array.isArray(j.nexthops) ? (j.nexthops as Json[]) : undefined
    // The caller's family (readRoutes asks per family); else the destination's, else a gateway's.
    const dstFamily = isIP(str(j.dst)?.split('/')[0] ?? '')
    const fam: Family = family ?? (dstFamily !== 0 ? (dstFamily as Family) : gatewayOf(j)?.includes(':') || nexthops?.some((n) => gatewayOf(n)?.includes(':')) ? 6 : 4)
    const route: Route = {
      family: fam,
      dst: routePrefix(str(j.dst), fam),
      table: str(j.table) ?? 'main',
      type: str(j.type) ?? 'unicast',
      flags: strs(j.flags),
    }
    const via = gatewayOf(j)
    if (via !== undefined) route.via = canonicalAddress(via)
    if (str(j.dev) !== undefined) route.dev = str(j.dev)
    if (nexthops !== undefined) {
      route.nexthops = nexthops.map((n) => {
        const hop: RouteNexthop = { weight: num(n.weight) ?? 1, flags: strs(n.flags) }
        const gw = gatewayOf(n)
        if (gw !== undefined) hop.via = canonicalAddress(gw)
        if (str(n.dev) !== undefined) hop.dev = str(n.dev)
        return hop
      })
    }
    if (num(j.nhid) !== undefined) route.nhid = num(j.nhid)
    if (str(j.prefsrc) !== undefined) route.src = canonicalAddress(str(j.prefsrc)!)
    if (num(j.metric) !== undefined) route.metric = num(j.metric)
    if (str(j.protocol) !== undefined) route.protocol = str(j.protocol)
    if (str(j.scope) !== undefined) route.scope = str(j.scope)
    const mtu = metricsMtu(j)
    if (mtu !== undefined) route.mtu = mtu
    return route
  })
}

/** A route's or a nexthop's gateway: `"gateway": "10.0.0.2"`, or `"via": { "family": "inet6", "host": "fe80::1" }` (another family's). */
const gatewayOf = (j: Json): string | undefined => str(j.gateway) ?? str((j.via as Json | undefined)?.host)

/** An address as `ip` prints it (IPv6 in RFC 5952 form); anything else as it came. */
const canonicalAddress = (a: string): string => (isIP(a) === 6 ? canonicalV6(a) : a)

/**
 * A route's destination with its prefix length always: `ip -j` prints a host route bare ("10.5.0.1", "fd05::1"),
 * this gives '10.5.0.1/32' and 'fd05::1/128'; 'default' (no dst) stays 'default'.
 */
export function routePrefix(dst: string | undefined, family: Family): string {
  if (dst === undefined || dst === 'default') return 'default'
  const [address = '', len] = dst.split('/')
  const fam = isIP(address)
  if (fam === 0) return dst
  return `${canonicalAddress(address)}/${len ?? (fam === 6 || family === 6 ? 128 : 32)}`
}

/**
 * A destination as the route model holds it (routePrefix): 'default', or a prefix with its length,
 * a host address as its /32 or /128; '0.0.0.0/0' and '::/0' are the default of their family.
 */
export function routeDestination(destination: unknown, context: NetspecErrorContext = {}): { dst: string; family?: Family } {
  const { dst, family } = parseDestination(destination, context)
  if (dst === 'default' || family === undefined) return { dst: 'default' }
  if (/\/0$/.test(dst)) return { dst: 'default', family }
  return { dst: dst.includes('/') ? dst : `${dst}/${family === 6 ? 128 : 32}`, family }
}

export function parseNeighbors(text: string): Neighbor[] {
  return parseJsonArray(text).map((j) => ({
    dst: str(j.dst) ?? '?',
    dev: str(j.dev) ?? '?',
    mac: str(j.lladdr),
    state: strs(j.state),
    router: j.router === true || j.router === null,
  }))
}

/** `"metrics": [{ "mtu": 1400 }]` (ip prints the route's metrics, and a learned path MTU, this way). */
function metricsMtu(j: Json): number | undefined {
  for (const m of Array.isArray(j.metrics) ? (j.metrics as Json[]) : []) if (num(m.mtu) !== undefined) return num(m.mtu)
  return undefined
}

export function parseRouteDecision(text: string): RouteDecision | undefined {
  const j = parseJsonArray(text)[0]
  if (j === undefined) return undefined
  const d: RouteDecision = {
    dst: str(j.dst) ?? '?',
    type: str(j.type) ?? 'unicast',
    dev: str(j.dev),
    gateway: gatewayOf(j),
    prefsrc: str(j.prefsrc),
    table: str(j.table) ?? 'main',
  }
  const mtu = metricsMtu(j)
  if (mtu !== undefined) d.mtu = mtu
  if (num(j.expires) !== undefined) d.mtuExpires = num(j.expires)
  return d
}

/** `ip netns list-id` inside a namespace: its ids for the other namespaces it knows, by kernel name. */
export function parseNetnsIds(text: string): Map<number, string> {
  const map = new Map<number, string>()
  for (const j of parseJsonArray(text)) {
    const id = num(j.nsid)
    const name = str(j.name)
    if (id !== undefined && name !== undefined) map.set(id, name)
  }
  return map
}

/** `ip -j netns list` → kernel names. */
export function parseNetnsList(text: string): string[] {
  return parseJsonArray(text)
    .map((j) => str(j.name))
    .filter((n): n is string => n !== undefined)
}

async function ipJson(exec: Executor, netns: string | undefined, args: string[]): Promise<string> {
  const argv = netns === undefined ? ['ip', '-j', ...args] : ['ip', '-n', netns, '-j', ...args]
  const result = await runChecked(exec, argv, {}, { netns, what: `reading '${args.join(' ')}' failed` })
  return result.stdout
}

export async function readLinks(exec: Executor, netns: string): Promise<Link[]> {
  const [links, ids] = await Promise.all([
    ipJson(exec, netns, ['-d', 'link', 'show']).then(parseLinks),
    ipJson(exec, netns, ['netns', 'list-id']).then(parseNetnsIds),
  ])
  for (const link of links) {
    if (link.peer === undefined) continue
    link.peer.netns = link.peer.netnsId === undefined ? netns : ids.get(link.peer.netnsId)
  }
  await resolvePeerNames(exec, netns, links)
  // `master` comes as a name already; nothing else to resolve.
  return links
}

// The tutorials' FAQ "which interface is the other end": one read of each peer namespace's links.
async function resolvePeerNames(exec: Executor, netns: string, links: Link[]): Promise<void> {
  const others = new Set(links.map((l) => l.peer?.netns).filter((n): n is string => n !== undefined && n !== netns))
  const names = new Map<string, Map<number, string>>([[netns, new Map(links.map((l) => [l.index, l.name]))]])
  await Promise.all(
    [...others].map(async (other) => {
      const r = await exec.run(['ip', '-n', other, '-j', 'link', 'show'])
      // A peer namespace that vanished meanwhile just leaves the name unknown.
      if (r.exitCode === 0) names.set(other, new Map(parseLinks(r.stdout).map((l) => [l.index, l.name])))
    }),
  )
  for (const link of links) {
    if (link.peer?.netns === undefined) continue
    const name = names.get(link.peer.netns)?.get(link.peer.index)
    if (name !== undefined) link.peer.name = name
  }
}

export const readAddresses = async (exec: Executor, netns: string): Promise<Address[]> =>
  parseAddresses(await ipJson(exec, netns, ['addr', 'show']))

export const readRoutes = async (exec: Executor, netns: string): Promise<Route[]> => [
  ...parseRoutes(await ipJson(exec, netns, ['-4', 'route', 'show', 'table', 'all']), 4),
  ...parseRoutes(await ipJson(exec, netns, ['-6', 'route', 'show', 'table', 'all']), 6),
]

export const readNeighbors = async (exec: Executor, netns: string): Promise<Neighbor[]> =>
  parseNeighbors(await ipJson(exec, netns, ['neigh', 'show']))

export async function listNetns(exec: Executor): Promise<string[]> {
  return parseNetnsList(await ipJson(exec, undefined, ['netns', 'list']))
}

/**
 * The kernel's decision for one destination (`ip route get`), or the kernel's refusal
 * (e.g. "Network is unreachable") when it has none.
 */
export async function routeGet(
  exec: Executor,
  netns: string,
  address: string,
  selectors: string[] = [],
): Promise<{ decision?: RouteDecision; error?: string }> {
  const argv = ['ip', '-n', netns, '-j', 'route', 'get', address, ...selectors]
  const result = await exec.run(argv)
  if (result.exitCode !== 0) return { error: result.stderr.trim().replace(/^RTNETLINK answers: /, '') }
  return { decision: parseRouteDecision(result.stdout) }
}
