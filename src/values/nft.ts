// Values inside nft scripts. An nft string ("…") has no escapes nft honours reliably and ends at the next
// '"', and a script line ends at a newline or ';': so only validated interface names go into one, never
// free text. Pure: no I/O.
import type { NetspecErrorContext } from '../errors.js'
import { checkIfName } from './names.js'

/** An interface name as an nft string: `oifname "veth1"`. */
export function nftIfName(name: unknown, context: NetspecErrorContext = {}): string {
  return `"${checkIfName(name, context)}"`
}

/** An nft identifier netspec makes from an interface name (table names): only [A-Za-z0-9_]. */
export function nftIdentifier(prefix: string, name: string): string {
  return `${prefix}${name.replace(/[^A-Za-z0-9_]/g, '_')}`
}
