// Which lab namespace holds an address (the next hop, the far side of a NAT): read concurrently.
import type { Namespace } from '../lab/namespace.js'

/** The first of these namespaces (in lab order) that has `address` on one of its interfaces. */
export async function namespaceOwning(namespaces: readonly Namespace[], address: string): Promise<Namespace | undefined> {
  const held = await Promise.all(namespaces.map(async (ns) => (await ns.addresses()).some((a) => a.address === address)))
  return namespaces[held.indexOf(true)]
}
