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
} from './lab/index.js'
export type { Link, Address, Route, Neighbor, RouteDecision, Family } from './kernel/types.js'
export { NetspecError, isNetspecError, type NetspecErrorKind } from './errors.js'
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
