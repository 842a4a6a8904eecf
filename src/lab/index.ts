export { Lab, Bridge, type Veth } from './lab.js'
export { Namespace } from './namespace.js'
export { sweep, formatSweepReport, type SweepOptions, type SweepPlan, type SweepReport } from './sweep.js'
export type * from './types.js'
