export { reachable, type Reachability, type ReachableOptions, type Verdict } from './reachable.js'
export { listen, type Listener, type Peer } from './listen.js'
export { hasRoute, routeGet, type HasRouteResult, type RouteMatch, type RouteGetResult, type RouteGetSelectors } from './routes.js'
export {
  masquerade,
  snat,
  portForward,
  natMaps,
  conntrackEntries,
  parseConntrack,
  type NatRule,
  type NatMapsSpec,
  type NatMapsResult,
  type ConntrackEntry,
} from './nat.js'
export { parseTarget, type Target, type TargetObject, type Proto } from './target.js'
export { reachability, type MatrixHost, type MatrixOptions, type ReachabilityMatrix } from './matrix.js'
