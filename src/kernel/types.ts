// Plain records that mirror the kernel's objects, parsed from `ip -j`. No behaviour here.

export type Family = 4 | 6

export interface Link {
  index: number
  name: string
  /** 'veth', 'bridge', 'macvlan', … or undefined for plain devices such as lo. */
  kind?: string
  /** The administrative flag: `ip link set DEV up`. */
  up: boolean
  /** The kernel's operational state: 'UP', 'DOWN', 'UNKNOWN', 'LOWERLAYERDOWN', … */
  operState: string
  flags: string[]
  mtu: number
  mac: string
  alias?: string
  /** The bridge (or bond) this link is a port of. */
  master?: string
  /** For a VLAN sub-interface (kind 'vlan'): its id and tag protocol, and the parent link's name as `ip` gives it. */
  vlan?: { id: number; protocol: string; parent?: string }
  /**
   * For a tunnel (today kind 'vxlan'; GRE, IPIP, Geneve, WireGuard fit the same record): its type, id (a VXLAN's
   * VNI), the far end (`remote`, or a multicast `group`), the `local` source, the UDP `port` and the underlay `dev`,
   * as `ip -j -d link` gives them (info_data: id, remote/remote6, local/local6, group/group6, port, link).
   */
  tunnel?: LinkTunnel
  /** For a veth: where its other end is. `netns` is the kernel name, `namespace` the lab label if known, `name` its interface. */
  peer?: { index: number; netnsId?: number; netns?: string; namespace?: string; name?: string }
}

/** A tunnel link's encapsulation, read back from the kernel. */
export interface LinkTunnel {
  /** The link kind: 'vxlan' (the only one this machine's kernel offers; 'gre', 'ipip', 'geneve', 'wireguard' later). */
  type: string
  /** The VXLAN Network Identifier (or a GRE key, a Geneve VNI). */
  id?: number
  remote?: string
  local?: string
  /** Multicast group for flooding (VXLAN without a single remote). */
  group?: string
  /** UDP destination port (VXLAN, Geneve). */
  port?: number
  /** The underlay device the encapsulated packets leave by. */
  dev?: string
}

export interface Address {
  dev: string
  family: Family
  address: string
  prefixLength: number
  /** `address/prefixLength`. */
  cidr: string
  scope: string
  /** e.g. 'nodad', 'tentative', 'dadfailed', 'secondary'. */
  flags: string[]
}

/** One path of a multipath route (`ip route add … nexthop via A nexthop via B`), as `ip -j route` lists it. */
export interface RouteNexthop {
  via?: string
  dev?: string
  /** The path's weight (1 unless given). */
  weight: number
  /** e.g. ['onlink'], ['dead', 'linkdown']. */
  flags: string[]
}

export interface Route {
  family: Family
  /**
   * 'default' or a prefix with its length, canonical: '10.0.12.0/24', a host route '10.5.0.1/32' or 'fd05::1/128'
   * (`ip` prints a host route as a bare address; the prefix length is always added here).
   */
  dst: string
  table: string
  type: string
  /** The gateway of a single-path route (a multipath route has its gateways in `nexthops`). Canonical form. */
  via?: string
  /** The device of a single-path route (a multipath route has its devices in `nexthops`). */
  dev?: string
  /** The paths of a multipath route, in the kernel's order (undefined for a single-path route). */
  nexthops?: RouteNexthop[]
  /** The nexthop object the route uses (`ip route add … nhid N`), when it uses one. */
  nhid?: number
  src?: string
  metric?: number
  protocol?: string
  scope?: string
  /** The route's MTU metric (`ip route add … mtu 1400`), when it has one. */
  mtu?: number
  flags: string[]
}

export interface Neighbor {
  dst: string
  dev: string
  mac?: string
  /** e.g. ['REACHABLE'], ['STALE'], ['FAILED'], ['PERMANENT']. */
  state: string[]
  router: boolean
}

/** The kernel's own forwarding decision, from `ip -j route get`. */
export interface RouteDecision {
  dst: string
  type: string
  dev?: string
  gateway?: string
  prefsrc?: string
  table: string
  /**
   * The MTU this destination gets: the route's `mtu` metric, or a path MTU the kernel learned from a
   * "Frag needed" / "Packet too big" (then `mtuExpires` gives the seconds the cached value still holds).
   */
  mtu?: number
  mtuExpires?: number
}

/** A policy routing rule as `ip -j rule` lists it (the kernel tries rules by priority, lowest first). */
export interface Rule {
  family: Family
  priority: number
  /** 'all' or a prefix (a host is written with its length, e.g. '10.0.0.2/32'). */
  from: string
  /** 'all' or a prefix. */
  to: string
  iif?: string
  oif?: string
  fwmark?: number
  /** The mask the mark is compared under (0xffffffff when none was given). */
  fwmask?: number
  /** `not`: the selectors are inverted. */
  not: boolean
  /** What a match does: look a table up, or refuse at once. */
  action: 'lookup' | 'blackhole' | 'unreachable' | 'prohibit' | 'goto' | 'nop'
  /** For 'lookup': the table, by name as ip prints it ('main', 'local', '100'). */
  table?: string
  /** Selectors this reader keeps but the lookup model does not evaluate (e.g. 'uidrange', 'ipproto'). */
  other?: string[]
}
