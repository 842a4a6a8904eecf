// bridge.ports() and bridge.fdb(): a bridge's ports and what it learned, as the kernel holds them, joined
// with where each port's veth leads (namespace label and interface) and its VLANs where it has any.
import { readBridgeLinks, readFdb, type BridgePortState, type FdbEntry } from '../kernel/bridge-ports.js'
import { readBridgeVlans } from '../kernel/bridge-vlan.js'
import { checkKeys } from './validate.js'
import type { Bridge } from './lab.js'

export interface BridgePort extends BridgePortState {
  /** The other end of the port's veth: its namespace (lab label, when the lab knows it; `netns` is the kernel name) and name. */
  peer?: { namespace?: string; netns?: string; name?: string }
  /** The port's VLANs (`bridge -j vlan show`), when the kernel lists any for it. */
  vlans?: { vid: number; pvid: boolean; untagged: boolean }[]
}

export interface BridgeFdbEntry extends FdbEntry {
  /** For a port that is a veth: where its other end is (the host the MAC was learned from sits behind it). */
  peer?: BridgePort['peer']
}

export async function bridgePorts(bridge: Bridge): Promise<BridgePort[]> {
  await bridge.lab.settle()
  const [states, links, vlans] = await Promise.all([
    readBridgeLinks(bridge.lab.executor, bridge.ns.name),
    bridge.ns.links(),
    readBridgeVlans(bridge.lab.executor, bridge.ns.name).catch(() => []),
  ])
  return states
    .filter((s) => s.master === bridge.name)
    .map((s) => {
      const port: BridgePort = { ...s }
      const peer = links.find((l) => l.name === s.name)?.peer
      if (peer !== undefined) port.peer = { namespace: peer.namespace, netns: peer.netns, name: peer.name }
      const mine = vlans.filter((v) => v.port === s.name).map(({ vid, pvid, untagged }) => ({ vid, pvid, untagged }))
      if (mine.length > 0) port.vlans = mine
      return port
    })
}

export interface FdbOptions {
  /** Also the permanent entries (the ports' own MACs) and the devices' own 'self' entries (default: learned only). */
  all?: boolean
}

export async function bridgeFdb(bridge: Bridge, options: FdbOptions = {}): Promise<BridgeFdbEntry[]> {
  checkKeys(options, ['all'], 'fdb', { lab: bridge.lab.label, namespace: bridge.ns.label })
  await bridge.lab.settle()
  const [entries, ports] = await Promise.all([readFdb(bridge.lab.executor, bridge.ns.name, bridge.name), bridgePorts(bridge)])
  return entries
    .filter((e) => options.all === true || (e.learned && e.master === bridge.name))
    .map((e) => {
      const peer = ports.find((p) => p.name === e.port)?.peer
      return peer === undefined ? e : { ...e, peer }
    })
}
