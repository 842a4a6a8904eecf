// lab.build(topology): a whole lab described as one typed object, validated as a whole before anything is
// created, then built through the same verbs as the imperative API (so both produce the same lab), each
// stage concurrently so the lab's batcher sends one `ip -batch` per namespace per stage.
import { invalidInput } from '../errors.js'
import type { Bridge, Lab } from '../lab/lab.js'
import type { Namespace } from '../lab/namespace.js'
import type { BridgeOptions, NamespaceOptions, RouteOptions } from '../lab/types.js'
import { checkIfName, checkKeys, checkLabel, checkMac, checkMtu, parseAddress, parseCidr, parseDestination } from '../lab/validate.js'
import { planVxlan, TUNNEL_TYPES, type Tunnel, type VxlanOptions } from '../lab/tunnel.js'
import { routeLine } from '../lab/namespace.js'
import { ruleArgs, type RuleOptions } from '../lab/rules-validate.js'

export interface TopologyEnd {
  /** Namespace label. */
  ns: string
  /** Interface name. */
  name: string
  addresses?: string[]
  mac?: string
  mtu?: number
  /** Make this end a port of the named bridge (which must live in the same namespace). */
  bridge?: string
}

/** A tunnel end (today `type: 'vxlan'`), built after the links, so its underlay `dev` exists. */
export interface TopologyTunnel extends Omit<VxlanOptions, 'master'> {
  type: 'vxlan'
  /** Namespace label. */
  ns: string
  /** Interface name. */
  name: string
  /** Make it a port of the named bridge (which must live in the same namespace). */
  bridge?: string
}

export interface TopologyRoute extends RouteOptions {
  /** 'default', a prefix or an address. */
  to: string
}

export interface Topology {
  /** Namespaces by label, with their options. */
  namespaces: Record<string, NamespaceOptions>
  /** Bridges by name, each in a namespace (`in`). */
  bridges?: Record<string, BridgeOptions & { in: string }>
  /** veth pairs. */
  links?: readonly (readonly [TopologyEnd, TopologyEnd])[]
  /** Tunnel ends (VXLAN), each in a namespace, over an underlay from `links`. */
  tunnels?: readonly TopologyTunnel[]
  /** Routes by namespace label. */
  routes?: Record<string, readonly TopologyRoute[]>
  /** Policy routing rules by namespace label (added after the routes). */
  rules?: Record<string, readonly RuleOptions[]>
}

export interface BuiltTopology {
  namespaces: Record<string, Namespace>
  bridges: Record<string, Bridge>
  /** The tunnel ends, in the order of `tunnels`. */
  tunnels: Tunnel[]
}

/** Checks the whole description (keys, references) without touching the kernel. */
export function validateTopology(t: Topology): void {
  checkKeys(t, ['namespaces', 'bridges', 'links', 'tunnels', 'routes', 'rules'], 'topology')
  if (typeof t.namespaces !== 'object' || t.namespaces === null || Object.keys(t.namespaces).length === 0)
    throw invalidInput('topology needs at least one namespace in `namespaces`', { hint: "e.g. { namespaces: { ns1: {}, ns2: {} } }" })
  const labels = new Set(Object.keys(t.namespaces))
  for (const label of labels) checkLabel(label)
  const known = (label: string, where: string) => {
    if (!labels.has(label))
      throw invalidInput(`topology: ${where} names namespace '${label}', which is not in \`namespaces\``, {
        hint: `declared namespaces: ${[...labels].join(', ')}`,
      })
  }
  for (const [name, b] of Object.entries(t.bridges ?? {})) {
    checkKeys(b, ['in', 'addresses', 'mac', 'mtu', 'up', 'stp', 'vlanFiltering'], `bridge ${name}`)
    known(b.in, `bridge ${name}`)
    checkIfName(name)
    for (const a of b.addresses ?? []) parseCidr(a)
  }
  for (const [i, pair] of (t.links ?? []).entries()) {
    if (!Array.isArray(pair) || pair.length !== 2) throw invalidInput(`topology: links[${i}] must be a pair of ends [a, b]`)
    for (const end of pair as readonly TopologyEnd[]) {
      checkKeys(end, ['ns', 'name', 'addresses', 'mac', 'mtu', 'bridge'], `links[${i}] end`)
      known(end.ns, `links[${i}]`)
      checkIfName(end.name, { namespace: end.ns })
      for (const a of end.addresses ?? []) parseCidr(a, { namespace: end.ns })
      if (end.mac !== undefined) checkMac(end.mac, { namespace: end.ns })
      if (end.mtu !== undefined) checkMtu(end.mtu, { namespace: end.ns })
      if (end.bridge !== undefined) {
        const b = t.bridges?.[end.bridge]
        if (b === undefined) throw invalidInput(`topology: links[${i}] plugs into bridge '${end.bridge}', which is not in \`bridges\``)
        if (b.in !== end.ns)
          throw invalidInput(`topology: links[${i}] end ${end.ns}/${end.name} joins bridge '${end.bridge}', which lives in '${b.in}'`, {
            hint: 'the bridge-side end of a link must be in the bridge namespace',
          })
      }
    }
  }
  if (t.tunnels !== undefined && !Array.isArray(t.tunnels)) throw invalidInput('topology: `tunnels` must be an array of tunnel ends')
  for (const [i, tun] of (t.tunnels ?? []).entries()) {
    const { type, ns, name, bridge, ...o } = checkKeys(tun, ['type', 'ns', 'name', 'bridge', 'id', 'remote', 'group', 'local', 'dstport', 'dev', 'addresses', 'mtu', 'up'], `tunnels[${i}]`)
    if (!(TUNNEL_TYPES as readonly string[]).includes(type))
      throw invalidInput(`topology: tunnels[${i}] has type ${JSON.stringify(type)}`, { hint: `known tunnel types: ${TUNNEL_TYPES.join(', ')}` })
    known(ns, `tunnels[${i}]`)
    planVxlan(name, o, { namespace: ns })
    if (bridge !== undefined) {
      const b = t.bridges?.[bridge]
      if (b === undefined) throw invalidInput(`topology: tunnels[${i}] joins bridge '${bridge}', which is not in \`bridges\``)
      if (b.in !== ns) throw invalidInput(`topology: tunnels[${i}] ${ns}/${name} joins bridge '${bridge}', which lives in '${b.in}'`, { hint: 'a tunnel joins a bridge of its own namespace' })
    }
  }
  for (const [label, routes] of Object.entries(t.routes ?? {})) {
    known(label, 'routes')
    for (const r of routes) {
      checkKeys(r, ['to', 'via', 'dev', 'metric', 'table', 'src', 'onlink', 'type', 'mtu'], `route in ${label}`)
      parseDestination(r.to, { namespace: label })
      if (r.via !== undefined) parseAddress(r.via, { namespace: label })
      if (r.dev !== undefined) checkIfName(r.dev, { namespace: label })
      const { to, ...o } = r
      routeLine(to, o, { namespace: label }) // every other check routeAdd makes
    }
  }
  for (const [label, rules] of Object.entries(t.rules ?? {})) {
    known(label, 'rules')
    if (!Array.isArray(rules)) throw invalidInput(`topology: rules.${label} must be an array of rules`)
    for (const r of rules) ruleArgs('add', r, { namespace: label })
  }
}

export async function build(lab: Lab, t: Topology): Promise<BuiltTopology> {
  validateTopology(t)
  const namespaces: Record<string, Namespace> = {}
  await Promise.all(Object.entries(t.namespaces).map(async ([label, o]) => (namespaces[label] = await lab.namespace(label, o))))
  const bridges: Record<string, Bridge> = {}
  await Promise.all(
    Object.entries(t.bridges ?? {}).map(async ([name, { in: where, ...o }]) => (bridges[name] = await lab.bridge(namespaces[where]!, name, o))),
  )
  const end = (e: TopologyEnd) => ({
    ns: namespaces[e.ns]!,
    name: e.name,
    ...(e.addresses === undefined ? {} : { addresses: e.addresses }),
    ...(e.mac === undefined ? {} : { mac: e.mac }),
    ...(e.mtu === undefined ? {} : { mtu: e.mtu }),
    ...(e.bridge === undefined ? {} : { master: bridges[e.bridge]! }),
  })
  await Promise.all((t.links ?? []).map(([a, b]) => lab.veth(end(a), end(b))))
  const tunnels = await Promise.all(
    (t.tunnels ?? []).map(({ type: _type, ns, name, bridge, ...o }) =>
      lab.vxlan(namespaces[ns]!, name, { ...o, ...(bridge === undefined ? {} : { master: bridges[bridge]! }) }),
    ),
  )
  await Promise.all(
    Object.entries(t.routes ?? {}).flatMap(([label, routes]) => routes.map(({ to, ...o }) => namespaces[label]!.routeAdd(to, o))),
  )
  // In the order given per namespace: without priorities the kernel numbers rules by when they were added.
  await Promise.all(
    Object.entries(t.rules ?? {}).map(async ([label, rules]) => {
      for (const r of rules) await namespaces[label]!.ruleAdd(r)
    }),
  )
  return { namespaces, bridges, tunnels }
}
