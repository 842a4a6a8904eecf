// netspec: integration tests for Linux network setups. The curated public API.
export { Lab, Bridge, Namespace, sweep, formatSweepReport } from './lab/index.js'
export { TUNNEL_TYPES, VNI_MAX, VXLAN_PORT, type Tunnel, type TunnelType, type VxlanOptions } from './lab/index.js'
export type {
  Veth,
  VethEnd,
  EndOptions,
  LabOptions,
  NamespaceOptions,
  BridgeOptions,
  BridgeRef,
  RouteOptions,
  LinkSetOptions,
  ExecOptions,
  SpawnOptions,
  LabSnapshot,
  NamespaceSnapshot,
  SweepOptions,
  SweepReport,
  SweepPlan,
  PlugOptions,
  Vlan,
  VlanOptions,
} from './lab/index.js'
export type { RouteDelOptions } from './lab/route-del.js'
export type { BridgeVlan } from './kernel/bridge-vlan.js'
export type { BridgePort, BridgeFdbEntry, FdbOptions } from './lab/bridge-ports.js'
export type { Link, LinkTunnel, Address, Route, RouteNexthop, Neighbor, RouteDecision, Family, Rule } from './kernel/types.js'
export type { RuleOptions, RuleAction, RouteType } from './lab/rules-validate.js'
export type { DecidedBy } from './assert/route-verdict.js'
export { NetspecError, isNetspecError, type NetspecErrorKind } from './errors.js'
export { impair, partition, type Impairment, type ImpairOptions, type ImpairState, type Partition, type PartitionOptions } from './impair/index.js'
export { diagram, type Diagram } from './topology/diagram.js'
export type { Exposed, ExposeOptions } from './expose/expose.js'
export { explain, type ExplainOptions, type Explanation, type Hop, type HopTunnel } from './explain/explain.js'
export { capturesOf, parsePcap, decodeEthernet, VXLAN_PORTS, type DecodeOptions, type VxlanInfo, type Capture, type CaptureOptions, type Packet, type ArpInfo, type IpInfo, type FragmentInfo, type IcmpInfo, type TcpInfo, type UdpInfo } from './capture/index.js'
export {
  buildImage,
  startRunner,
  sweepContainers,
  createContainerExecutor,
  leaseEngine,
  RUNNER_IMAGE,
  type Lease,
  type Runner,
  type RunnerOptions,
  type AdoptableContainer,
  type ContainerExecutor,
} from './container/index.js'
export { createLocalExecutor, setDefaultExecutor, type Executor, type RunResult, type SpawnedProcess } from './exec/index.js'
export {
  detectKernelFeatures,
  hasKernelFeature,
  kernelFeatureSkipReason,
  KERNEL_FEATURES,
  type KernelFeature,
  type FeatureStatus,
  type KernelFeatureReport,
} from './kernel/features.js'
export {
  reachable,
  listen,
  hasRoute,
  routeGet,
  masquerade,
  snat,
  portForward,
  natMaps,
  conntrackEntries,
  type Reachability,
  type ReachableOptions,
  type Verdict,
  type Listener,
  type Peer,
  type HasRouteResult,
  type RouteMatch,
  type RouteGetResult,
  type RouteGetSelectors,
  type NatRule,
  type NatMapsSpec,
  type NatMapsResult,
  type ConntrackEntry,
  type TargetObject,
  reachability,
  type MatrixHost,
  type MatrixOptions,
  type ReachabilityMatrix,
} from './assert/index.js'
export { validateTopology, type Topology, type TopologyEnd, type TopologyRoute, type TopologyTunnel, type BuiltTopology } from './topology/build.js'
export { overlays, type Overlay, type TunnelEnd } from './topology/overlay.js'
export { resolves, resolvConfOf, type ResolveOptions, type ResolveResult, type ServerAttempt } from './services/dns.js'
export { checkHostname, type DnsAnswer, type DnsResponse, type RrType } from './services/dns-codec.js'
export type { SpawnRecord } from './lab/processes.js'
export type { DhcpLease, DhcpOptions } from './services/dhcp.js'
// Drop reasons (docs/drops.md): the kernel's own reason for a dropped probe, where bpftrace can watch skb:kfree_skb.
export { isDropped, dropsAvailable, type DropCheck, type DropExpectation, type DropReason } from './drops/expect.js'
export { dropsSupport, type DropsSupport } from './drops/watcher.js'
export type { DropEvidence } from './drops/probe-drops.js'
