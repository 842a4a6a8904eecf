// Tunnels: links that carry a lab's frames or packets inside packets of an underlay. Today VXLAN (the only
// encapsulation this machine's kernel offers besides macvlan); GRE, IPIP, Geneve and WireGuard fit the same
// record (`type`, `id`, `remote`, `local`, `dev`) and the same steps: a pure plan (checked input → `ip` lines),
// a kernel feature probe (src/kernel/features.ts), creation inside the namespace, never in the root one.
import { callSite, invalidInput, type NetspecErrorContext } from '../errors.js'
import type { Family } from '../kernel/types.js'
import type { Lab, LabInternals } from './lab.js'
import { Namespace } from './namespace.js'
import type { BridgeRef } from './types.js'
import type { IfaceRef } from './segments.js'
import { checkIfName, checkKeys, checkMtu, parseAddress, parseCidr, type ParsedCidr } from './validate.js'
import { unsupportedIfMissing } from './vlan.js'

/** The tunnel types netspec can build. A new type adds its name here, its options and its plan. */
export const TUNNEL_TYPES = ['vxlan'] as const
export type TunnelType = (typeof TUNNEL_TYPES)[number]

/** 24 bits of VXLAN Network Identifier (RFC 7348 §5). */
export const VNI_MAX = 16_777_215
/** IANA's VXLAN port; Linux's own default when none is given is the pre-standard 8472. */
export const VXLAN_PORT = 4789
export const VXLAN_LINUX_PORT = 8472
/** Bytes VXLAN adds on the underlay: outer IPv4 20 (IPv6 40) + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const VXLAN_OVERHEAD: Record<Family, number> = { 4: 50, 6: 70 }

export interface VxlanOptions {
  /** The VNI, 0 to 16777215. */
  id: number
  /** The far end's underlay address (unicast). Give `remote` or `group`, not both. */
  remote?: string
  /** A multicast group for flooding, on `dev` (instead of `remote`). */
  group?: string
  /** This end's underlay source address (an address of this namespace, same family as `remote`/`group`). */
  local?: string
  /** UDP destination port: 4789 (IANA) is what other implementations use; Linux alone defaults to 8472. Required. */
  dstport: number
  /** The underlay interface of this namespace the encapsulated packets leave by (sets the overlay's MTU: dev's − 50). */
  dev: string
  /** Make the tunnel a port of this bridge (in the same namespace): the VMs behind the bridge share the overlay. */
  master?: BridgeRef
  addresses?: string[]
  /** At most the underlay's MTU minus 50 (IPv4) or 70 (IPv6); the kernel's default is exactly that. */
  mtu?: number
  /** Administratively up (default true). */
  up?: boolean
}

/** A tunnel end made by `lab.vxlan()` (plain data; `ns.link(name)` reads its kernel state back as `link.tunnel`). */
export interface Tunnel {
  ns: Namespace
  name: string
  type: TunnelType
  id: number
  remote?: string
  group?: string
  local?: string
  dstport: number
  dev: string
}

export interface VxlanPlan {
  name: string
  type: 'vxlan'
  id: number
  remote?: string
  group?: string
  local?: string
  family: Family
  dstport: number
  dev: string
  mtu?: number
  addresses: ParsedCidr[]
  /** `ip -batch` lines run in the namespace (`vxlan` is outside the netlink engine's subset, so `ip` runs them). */
  lines: string[]
}

const VXLAN_KEYS = ['id', 'remote', 'group', 'local', 'dstport', 'dev', 'master', 'addresses', 'mtu', 'up'] as const

const isMulticast = (address: string, family: Family): boolean =>
  family === 4 ? Number(address.split('.')[0]) >= 224 && Number(address.split('.')[0]) <= 239 : /^ff/i.test(address)

/** Checks a VXLAN request (all of it, no kernel) and returns the `ip` lines that create it in its namespace. */
export function planVxlan(name: unknown, options: VxlanOptions, context: NetspecErrorContext = {}): VxlanPlan {
  if (options === undefined || options === null) throw invalidInput(`vxlan needs options: { id, remote, dstport, dev }`, context)
  checkKeys(options, VXLAN_KEYS, 'vxlan', context)
  const ifname = checkIfName(name, context) // the values layer's allow-list: nothing in it is batch syntax
  const { id, dstport } = options
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > VNI_MAX)
    throw invalidInput(`VXLAN id (VNI) must be a whole number from 0 to ${VNI_MAX}, got ${JSON.stringify(id)}`, {
      ...context,
      hint: 'the VNI is 24 bits (RFC 7348); both ends of an overlay use the same one',
    })
  if (typeof dstport !== 'number' || !Number.isInteger(dstport) || dstport < 1 || dstport > 65535)
    throw invalidInput(`'dstport' must be a UDP port from 1 to 65535, got ${JSON.stringify(dstport)}`, {
      ...context,
      hint: `give it explicitly: ${VXLAN_PORT} is IANA's VXLAN port; Linux alone defaults to ${VXLAN_LINUX_PORT}, so two ends that leave it out may not meet a third`,
    })
  if (options.dev === undefined)
    throw invalidInput(`vxlan ${ifname} needs 'dev': the underlay interface its packets leave by`, { ...context, hint: "e.g. { dev: 'eth0' }" })
  const dev = checkIfName(options.dev, context)
  if (dev === ifname) throw invalidInput(`vxlan ${ifname} cannot be its own underlay ('dev')`, context)
  if ((options.remote === undefined) === (options.group === undefined))
    throw invalidInput(`vxlan ${ifname} needs exactly one of 'remote' (the far end's underlay address) and 'group' (a multicast group)`, {
      ...context,
      hint: "point-to-point: { remote: '10.0.0.2' }; flooding to several ends: { group: '239.1.1.1' }",
    })
  const far = options.remote ?? options.group
  const key = options.remote !== undefined ? 'remote' : 'group'
  const { address: farAddress, family } = parseAddress(far, { ...context, hint: `'${key}' is an underlay address such as '10.0.0.2'` })
  if (key === 'remote' && isMulticast(farAddress, family))
    throw invalidInput(`'remote' ${farAddress} is a multicast address`, { ...context, hint: `give it as { group: '${farAddress}' }` })
  if (key === 'group' && !isMulticast(farAddress, family))
    throw invalidInput(`'group' ${farAddress} is not a multicast address`, { ...context, hint: `a single far end is { remote: '${farAddress}' }; groups are 224.0.0.0/4 or ff00::/8` })
  let local: string | undefined
  if (options.local !== undefined) {
    const l = parseAddress(options.local, context)
    if (l.family !== family)
      throw invalidInput(`'local' ${l.address} is IPv${l.family} but '${key}' ${farAddress} is IPv${family}: both ends of the underlay use one family`, context)
    if (l.address === farAddress) throw invalidInput(`'local' and '${key}' are both ${farAddress}`, context)
    local = l.address
  }
  if (options.addresses !== undefined && !Array.isArray(options.addresses))
    throw invalidInput(`'addresses' must be an array of CIDRs like ['192.168.50.1/24']`, context)
  const addresses = (options.addresses ?? []).map((a) => parseCidr(a, context))
  const mtu = options.mtu === undefined ? undefined : checkMtu(options.mtu, context)
  if (options.up !== undefined && typeof options.up !== 'boolean') throw invalidInput(`'up' must be true or false`, context)
  const up = options.up !== false
  const master = options.master?.name
  if (master !== undefined) checkIfName(master, context)
  const lines = [
    // `name` always (a bare name could be read as a keyword); the MTU apart: given with `link add`, one over the
    // underlay's limit is silently replaced by the kernel's own (measured: 9000 became 1450), `link set` refuses it.
    `link add name ${ifname} type vxlan id ${id} ${key} ${farAddress}${local === undefined ? '' : ` local ${local}`} dstport ${dstport} dev ${dev}`,
    ...(mtu === undefined ? [] : [`link set dev ${ifname} mtu ${mtu}`]),
    ...(master === undefined ? [] : [`link set dev ${ifname} master ${master}`]),
    ...addresses.map((c) => `addr add ${c.cidr} dev ${ifname}${c.family === 6 ? ' nodad' : ''}`),
    // Read back once up (as veth ends are): a bridge's carrier follows its first port, so it is read too.
    ...(up ? [`link set dev ${ifname} up`, `link show dev ${ifname}`, ...(master === undefined ? [] : [`link show dev ${master}`])] : []),
  ]
  return {
    name: ifname,
    type: 'vxlan',
    id,
    ...(key === 'remote' ? { remote: farAddress } : { group: farAddress }),
    ...(local === undefined ? {} : { local }),
    family,
    dstport,
    dev,
    ...(mtu === undefined ? {} : { mtu }),
    addresses,
    lines,
  }
}

interface Made {
  tunnel: Tunnel
  /** The model's record of the interface: when it is gone or replaced, so is the tunnel. */
  iface: IfaceRef
}

/** Two ends of one overlay, as far as the lab's own records tell: same VNI and port, each's remote the other's local (or one group). */
function pairs(t: Tunnel, plan: VxlanPlan, ns: Namespace): boolean {
  if (t.ns === ns || t.type !== plan.type || t.id !== plan.id || t.dstport !== plan.dstport) return false
  if (plan.group !== undefined) return t.group === plan.group
  return plan.local !== undefined && t.local !== undefined && t.remote === plan.local && plan.remote === t.local
}

const made = new WeakMap<object, Made[]>()

/** The tunnels a lab made that still exist in its model (deleted links drop out). */
export function tunnelsOf(lab: Pick<LabInternals, 'model'>): Tunnel[] {
  return (made.get(lab) ?? []).filter((m) => lab.model.iface(m.tunnel.ns, m.tunnel.name) === m.iface).map((m) => m.tunnel)
}

/** UDP ports on which a capture decodes VXLAN: the standard ones and those of the lab's own tunnels. */
export function vxlanPortsOf(lab: Pick<LabInternals, 'model'> | undefined): number[] {
  const ports = new Set([VXLAN_PORT, VXLAN_LINUX_PORT])
  if (lab !== undefined) for (const t of tunnelsOf(lab)) if (t.type === 'vxlan') ports.add(t.dstport)
  return [...ports]
}

/** lab.vxlan(): checks everything, records the link in the lab's model, then one `ip -batch` in the namespace. */
export async function createVxlan(lab: Lab, ns: Namespace, name: string, options: VxlanOptions): Promise<Tunnel> {
  const declaredAt = callSite()
  lab.assertAlive()
  const ctx: NetspecErrorContext = { lab: lab.label, namespace: (ns as Namespace | undefined)?.label, netns: (ns as Namespace | undefined)?.name, declaredAt }
  if (!(ns instanceof Namespace) || ns.lab !== lab)
    throw invalidInput(`lab.vxlan needs a namespace of this lab, got ${String(ns)}`, { ...ctx, hint: 'pass a handle from lab.namespace()' })
  lab.assertAlive(ns)
  const plan = planVxlan(name, options, ctx)
  if (lab.model.iface(ns, plan.name) !== undefined || plan.name === 'lo')
    throw invalidInput(`interface '${plan.name}' already exists in namespace '${ns.label}'`, { ...ctx, hint: 'interface names must be unique within a namespace' })
  const master = options.master
  let bridgeIface: ReturnType<Lab['model']['iface']>
  if (master !== undefined) {
    bridgeIface = typeof master === 'object' && master !== null && master.ns === ns ? lab.model.iface(ns, master.name) : undefined
    if (bridgeIface === undefined)
      throw invalidInput(`'master' must be a bridge of this lab in ${ns.label}`, { ...ctx, hint: `create it first: lab.bridge(${ns.label}, 'br0')` })
  }
  // The underlay: the model knows the lab's own links and their addresses; the kernel is asked only when the MTU
  // must be checked against the underlay's, or what is asked for was made some other way (exec) — each read is a
  // process or more (measured at load 15, median of 10: 24 ms a vxlan without reads, `local` known to the model 27 ms,
  // with `mtu` and its links read 112 ms; before the model was asked for `local`, 190 ms).
  const underlay = lab.model.iface(ns, plan.dev)
  const needLinks = underlay === undefined || plan.mtu !== undefined
  const needAddrs = plan.local !== undefined && underlay?.addresses.has(plan.local) !== true
  if (needLinks || needAddrs) {
    const [links, addrs] = await Promise.all([needLinks ? ns.links() : undefined, needAddrs ? ns.addresses() : []])
    const under = links?.find((l) => l.name === plan.dev)
    if (links !== undefined && under === undefined)
      throw invalidInput(`lab.vxlan: no interface '${plan.dev}' in namespace '${ns.label}' to carry VNI ${plan.id}`, {
        ...ctx,
        hint: `create the underlay first (lab.veth); ${ns.label} has: ${links.map((l) => l.name).join(', ')}`,
      })
    const max = under === undefined ? Infinity : under.mtu - VXLAN_OVERHEAD[plan.family]
    if (plan.mtu !== undefined && plan.mtu > max)
      throw invalidInput(`vxlan ${plan.name}: MTU ${plan.mtu} does not fit in ${plan.dev}'s ${under!.mtu} with VXLAN's ${VXLAN_OVERHEAD[plan.family]} bytes`, {
        ...ctx,
        hint: `at most ${max}, or raise ${plan.dev}'s MTU first (ns.linkSet('${plan.dev}', { mtu: … }))`,
      })
    if (needAddrs && !addrs.some((a) => a.address === plan.local))
      throw invalidInput(`vxlan ${plan.name}: 'local' ${plan.local} is not an address of ${ns.label}`, {
        ...ctx,
        hint: `${ns.label} has: ${addrs.filter((a) => a.scope === 'global').map((a) => a.address).join(', ') || 'no global address'}`,
      })
  }
  // From here to the batch nothing awaits: concurrent calls see each other's records (names, twins, partners).
  if (lab.model.iface(ns, plan.name) !== undefined)
    throw invalidInput(`interface '${plan.name}' already exists in namespace '${ns.label}'`, { ...ctx, hint: 'interface names must be unique within a namespace' })
  const twin = tunnelsOf(lab).find((t) => t.ns === ns && t.type === 'vxlan' && t.id === plan.id && t.dstport === plan.dstport)
  if (twin !== undefined)
    throw invalidInput(`${ns.label} already has VNI ${plan.id} on UDP port ${plan.dstport} (${twin.name}): the kernel allows one per namespace and port`, {
      ...ctx,
      hint: 'one VXLAN device per VNI carries all its far ends: put them behind one bridge, or use another VNI',
    })
  // The far end, when this lab made it: both ends then are one layer-2 segment, so an address used on both sides
  // (say, two VMs given 192.168.50.1) is refused before the kernel is asked, as on a bridge.
  const partner = (made.get(lab) ?? []).find((m) => lab.model.iface(m.tunnel.ns, m.tunnel.name) === m.iface && pairs(m.tunnel, plan, ns))
  const iface = lab.model.declare(ns, plan.name)
  const tunnel: Tunnel = {
    ns,
    name: plan.name,
    type: 'vxlan',
    id: plan.id,
    ...(plan.remote === undefined ? {} : { remote: plan.remote }),
    ...(plan.group === undefined ? {} : { group: plan.group }),
    ...(plan.local === undefined ? {} : { local: plan.local }),
    dstport: plan.dstport,
    dev: plan.dev,
  }
  const list = made.get(lab) ?? []
  const record: Made = { tunnel, iface }
  list.push(record)
  made.set(lab, list)
  try {
    const joined = [iface, ...(bridgeIface === undefined ? [] : [bridgeIface]), ...(partner === undefined ? [] : [partner.iface])]
    lab.model.segments.check(joined, plan.addresses.map((c) => [iface, c.address] as const))
    for (const other of joined.slice(1)) lab.model.segments.join(iface, other)
    for (const c of plan.addresses) lab.model.addAddress(ns, plan.name, c.address)
    await lab.batch(ns, plan.lines, ctx).catch((e: unknown) => unsupportedIfMissing(e, 'vxlan', `VXLAN interface ${plan.name}`, ctx))
  } catch (e) {
    lab.model.linkDeleted(ns, plan.name)
    list.splice(list.indexOf(record), 1)
    throw e
  }
  return tunnel
}
