export { impair, readImpairState, parseLossRule, type Impairment, type ImpairOptions, type ImpairState } from './impair.js'
export { partition, partitionRules, type Partition, type PartitionOptions } from './partition.js'
