// Domain values at the bottom of the layers (names, addresses, CIDRs, sysctl keys, batch words): parse,
// validate, print; no I/O. Every string a user passes that can reach a kernel tool goes through here.
export { canonicalV6, expandV6 } from './address.js'
export { networkOf, parseAddress, parseCidr, parseDestination, sameSubnet, toBits, type Family, type ParsedCidr } from './cidr.js'
export { IFALIASZ, IFNAME, IFNAMSIZ, ROUTE_TABLES, checkContainerRef, checkEtcNetnsFile, checkIfName, checkLabel, parseAlias, parseRouteTable } from './names.js'
export { batchLineProblem, batchWord, checkBatchLine, splitBatchLine } from './batch.js'
export { SYSCTL_ALLOW, SYSCTL_DENY, checkSysctlKey, checkSysctlValue, parseSysctlKey, sysctlHeld, sysctlReadBackProblem, sysctlPath, sysctlPolicy, type SysctlKey } from './sysctl.js'
export { checkCaptureFilter } from './filter.js'
export { checkMac, checkMtu } from './link.js'
export { checkKeys } from './options.js'
export { nftIdentifier, nftIfName } from './nft.js'
export { UNSAFE_CHAR, show } from './show.js'
export { checkPort, formatEndpoint, formatHostPort, parseEndpoint, parseHostPort, parsePort, type Endpoint, type HostPort, type PortRule } from './port.js'
