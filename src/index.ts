// netspec: integration tests for Linux network setups. The curated public API.
export { Lab, Bridge, Namespace, sweep, formatSweepReport } from './lab/index.js'
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
  PlugOptions,
  Vlan,
  VlanOptions,
} from './lab/index.js'
export type { BridgeVlan } from './kernel/bridge-vlan.js'
export type { Link, Address, Route, Neighbor, RouteDecision, Family } from './kernel/types.js'
export { NetspecError, isNetspecError, type NetspecErrorKind } from './errors.js'
export { impair, partition, type Impairment, type ImpairOptions, type ImpairState, type Partition, type PartitionOptions } from './impair/index.js'
export { diagram, type Diagram } from './topology/diagram.js'
export { explain, type ExplainOptions, type Explanation, type Hop } from './explain/explain.js'
export { capturesOf, parsePcap, type Capture, type CaptureOptions, type Packet, type ArpInfo, type IpInfo, type IcmpInfo, type TcpInfo, type UdpInfo } from './capture/index.js'
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
export { validateTopology, type Topology, type TopologyEnd, type TopologyRoute, type BuiltTopology } from './topology/build.js'
// Drop reasons (docs/drops.md): the kernel's own reason for a dropped probe, where bpftrace can watch skb:kfree_skb.
export { isDropped, dropsAvailable, type DropCheck, type DropExpectation, type DropReason } from './drops/expect.js'
export { dropsSupport, type DropsSupport } from './drops/watcher.js'
export type { DropEvidence } from './drops/probe-drops.js'
