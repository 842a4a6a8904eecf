// Input checks that run before anything touches the kernel. They live in the values layer (src/values/);
// this module keeps the names every caller imports.
export { IFNAMSIZ, checkIfName, checkLabel } from '../values/names.js'
export { networkOf, parseAddress, parseCidr, parseDestination, sameSubnet, toBits, type ParsedCidr } from '../values/cidr.js'
export { checkMac, checkMtu } from '../values/link.js'
export { checkKeys } from '../values/options.js'
export { checkSysctlKey, sysctlPath } from '../values/sysctl.js'
