import type { Executor } from '../exec/index.js'
import type { Address, Link, Neighbor, Route } from '../kernel/types.js'
import type { Namespace } from './namespace.js'

export interface LabOptions {
  /** Shown in errors, diagnostics and `netspec sweep` (the fixture uses the test's name). */
  label?: string
  /** Aborts every command of the lab (the fixture passes the test's signal). */
  signal?: AbortSignal
  /** Where commands run: this machine (default) or a container back end. */
  executor?: Executor
}

export interface NamespaceOptions {
  /** Bring `lo` up (default true). A fresh namespace's loopback starts DOWN, as the tutorials show. */
  loopback?: boolean
  /** IPv4 and IPv6 forwarding (default false: set explicitly, since new namespaces may inherit it). */
  forwarding?: boolean
  /** Further per-namespace `net.*` sysctls, e.g. `{ 'net.ipv4.conf.all.rp_filter': 0 }`. */
  sysctls?: Record<string, string | number>
  /**
   * Files seen by processes in this namespace in place of /etc/NAME, e.g.
   * `{ 'resolv.conf': 'nameserver 10.0.0.53\n', hosts: '10.0.0.2 server\n' }` (kept under /etc/netns/<kernel name>/).
   */
  files?: Record<string, string>
}

export interface EndOptions {
  /** Addresses with prefix length, IPv4 or IPv6 (IPv6 is added with `nodad`, so it is usable at once). */
  addresses?: string[]
  mac?: string
  mtu?: number
  alias?: string
  /** Administratively up (default true). */
  up?: boolean
  /** Make this end a port of a bridge (in the same namespace). */
  master?: BridgeRef
}

/** One end of a veth pair: `[ns, 'veth1', '10.0.12.1/24', …]`, optionally ending with options, or an object. */
export type VethEnd =
  | readonly [Namespace, string, ...(string | EndOptions)[]]
  | ({ ns: Namespace; name: string } & EndOptions)

export interface BridgeOptions {
  addresses?: string[]
  mac?: string
  mtu?: number
  /** Default true. */
  up?: boolean
  /** Spanning tree (default off, so ports forward at once). */
  stp?: boolean
  /**
   * A VLAN-aware bridge (`vlan_filtering 1`): ports then carry the VLANs `plug()` gives them (`pvid`, `tagged`).
   * Needs CONFIG_BRIDGE_VLAN_FILTERING (kernel feature 'bridge-vlan-filtering').
   */
  vlanFiltering?: boolean
}

/** How `bridge.plug()` wires its port: the port's name and, on a VLAN-filtering bridge, its VLANs. */
export interface PlugOptions {
  /** The port's name in the bridge namespace (default `<bridge>p<N>`). */
  port?: string
  /** Access VLAN: untagged frames arriving here join it, and its frames leave untagged (unless also in `tagged`). */
  pvid?: number
  /** VLANs carried with their 802.1Q tag (a trunk). */
  tagged?: readonly number[]
  /** Further VLANs whose frames leave this port untagged. */
  untagged?: readonly number[]
}

export interface VlanOptions {
  /** Interface name (default `<parent>.<id>`, e.g. `eth0.10`; at most 15 bytes). */
  name?: string
  addresses?: string[]
  mtu?: number
  mac?: string
  /** Administratively up (default true). */
  up?: boolean
  /** Tag protocol (default '802.1Q'; '802.1ad' for QinQ service tags). */
  protocol?: '802.1Q' | '802.1ad'
}

/** An 802.1Q sub-interface made by `lab.vlan()`. */
export interface Vlan {
  ns: Namespace
  name: string
  parent: string
  id: number
}

export interface BridgeRef {
  readonly ns: Namespace
  readonly name: string
}

export interface RouteOptions {
  via?: string
  dev?: string
  metric?: number
  /** A table number (1–4294967295) or 'main', 'local', 'default'; names from /etc/iproute2/rt_tables are refused (the machine's, not the lab's). */
  table?: number | string
  /** Preferred source address. */
  src?: string
  /** Accept a gateway not on a connected subnet (`onlink`). */
  onlink?: boolean
  /**
   * The route's type (default 'unicast'): 'blackhole' discards silently, 'unreachable' refuses with "No route to
   * host", 'prohibit' with "Permission denied", 'throw' sends the lookup on to the next rule. Such routes take no `via`/`dev`.
   */
  type?: 'unicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw'
  /** The route's MTU metric (`mtu 1400`): packets to this destination are no larger than this. */
  mtu?: number
}

export interface LinkSetOptions {
  up?: boolean
  mtu?: number
  mac?: string
  alias?: string
}

export interface ExecOptions {
  timeoutMs?: number
  input?: string
  env?: Record<string, string>
  /** Throw a NetspecError when the command exits non-zero (default false: inspect `exitCode`). */
  check?: boolean
}

export interface SpawnOptions {
  env?: Record<string, string>
  /**
   * Resolve only once the process is ready: a line of its output matches this pattern, or this check
   * (e.g. "does it answer on its control socket?") returns true; polled with backoff until `readyTimeoutMs`.
   */
  ready?: RegExp | (() => boolean | Promise<boolean>)
  /** Deadline for `ready` (default 10 s). */
  readyTimeoutMs?: number
  /** Its name in failures and diagnostics (default: the program's file name, e.g. `bird`). */
  name?: string
}

export interface NamespaceSnapshot {
  label: string
  name: string
  links: Link[]
  addresses: Address[]
  routes: Route[]
  neighbors: Neighbor[]
}

export interface LabSnapshot {
  lab: string
  takenAt: string
  namespaces: NamespaceSnapshot[]
}
