// 802.1Q: VLAN sub-interfaces (`eth0.10`) and the VLANs of a VLAN-filtering bridge's ports. Input is
// checked and turned into command lines by pure functions (unit-tested without root); where the kernel
// lacks the feature, the kernel's refusal becomes an 'unsupported' error that names it.
import { NetspecError, callSite, invalidInput, isNetspecError, type NetspecErrorContext } from '../errors.js'
import { runChecked } from '../exec/index.js'
import { readBridgeVlans, type BridgeVlan } from '../kernel/bridge-vlan.js'
import { detectKernelFeatures, FEATURE_SPECS, type KernelFeature } from '../kernel/features.js'
import type { Bridge, Lab } from './lab.js'
import { Namespace } from './namespace.js'
import type { PlugOptions, Vlan, VlanOptions } from './types.js'
import { IFNAMSIZ, checkIfName, checkKeys, checkMac, checkMtu, parseCidr, type ParsedCidr } from './validate.js'

/** 0 and 4095 are reserved by 802.1Q (priority tags and "no VLAN"). */
export const VLAN_ID_MIN = 1
export const VLAN_ID_MAX = 4094

export function checkVlanId(id: unknown, what: string, context: NetspecErrorContext = {}): number {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < VLAN_ID_MIN || id > VLAN_ID_MAX)
    throw invalidInput(`${what} must be a whole number from ${VLAN_ID_MIN} to ${VLAN_ID_MAX}, got ${JSON.stringify(id)}`, {
      ...context,
      hint: '802.1Q reserves 0 (priority tag) and 4095; 1 is the default VLAN of every bridge port',
    })
  return id
}

/** The sub-interface's name: the given one, or `<parent>.<id>` as `ip` and the tutorials name it. */
export function vlanName(parent: string, id: number, name: string | undefined, context: NetspecErrorContext = {}): string {
  if (name !== undefined) return checkIfName(name, context)
  const derived = `${parent}.${id}`
  const bytes = Buffer.byteLength(derived)
  if (bytes > IFNAMSIZ - 1)
    throw invalidInput(`the VLAN interface's default name '${derived}' (<parent>.<id>) is ${bytes} bytes; Linux allows at most ${IFNAMSIZ - 1} (IFNAMSIZ)`, {
      ...context,
      hint: `give it a shorter name: lab.vlan(ns, '${parent}', ${id}, { name: 'vlan${id}' })`,
    })
  return checkIfName(derived, context)
}

export interface VlanPlan {
  name: string
  parent: string
  id: number
  addresses: ParsedCidr[]
  /** `ip -batch` lines, run in the namespace. */
  lines: string[]
}

const VLAN_KEYS = ['name', 'addresses', 'mtu', 'mac', 'up', 'protocol'] as const

/** Checks a VLAN sub-interface request and returns the `ip` lines that create it. Touches nothing. */
export function planVlan(parent: string, id: number, options: VlanOptions = {}, context: NetspecErrorContext = {}): VlanPlan {
  checkKeys(options, VLAN_KEYS, 'vlan', context)
  checkIfName(parent, { ...context, hint: "the parent is an existing interface of the namespace, e.g. 'eth0'" })
  checkVlanId(id, 'VLAN id', context)
  const name = vlanName(parent, id, options.name, context)
  if (name === parent) throw invalidInput(`a VLAN interface cannot have its parent's name '${parent}'`, context)
  const protocol = options.protocol ?? '802.1Q'
  if (protocol !== '802.1Q' && protocol !== '802.1ad')
    throw invalidInput(`VLAN protocol must be '802.1Q' or '802.1ad', got ${JSON.stringify(protocol)}`, context)
  if (options.addresses !== undefined && !Array.isArray(options.addresses))
    throw invalidInput(`'addresses' must be an array of CIDRs like ['10.0.10.1/24']`, context)
  const addresses = (options.addresses ?? []).map((a) => parseCidr(a, context))
  const mac = options.mac === undefined ? '' : ` address ${checkMac(options.mac, context)}`
  const mtu = options.mtu === undefined ? '' : ` mtu ${checkMtu(options.mtu, context)}`
  const up = options.up !== false
  const lines = [
    // `name` always: a bare interface name could be read as a keyword (as for veths).
    `link add link ${parent} name ${name}${mac}${mtu} type vlan protocol ${protocol} id ${id}`,
    ...addresses.map((c) => `addr add ${c.cidr} dev ${name}${c.family === 6 ? ' nodad' : ''}`),
    ...(up ? [`link set dev ${name} up`, `link show dev ${name}`] : []),
  ]
  return { name, parent, id, addresses, lines }
}

/** A port's VLANs after checking; `undefined` when the plug names none. */
export interface PortVlans {
  pvid?: number
  tagged: number[]
  untagged: number[]
}

/** Checks plug()'s VLAN options against the bridge: VLANs only on a VLAN-filtering bridge, valid ids, no contradictions. */
export function portVlans(
  options: PlugOptions,
  bridge: { name: string; vlanFiltering: boolean },
  context: NetspecErrorContext = {},
): PortVlans | undefined {
  const { pvid, tagged, untagged } = options
  if (pvid === undefined && tagged === undefined && untagged === undefined) return undefined
  if (!bridge.vlanFiltering)
    throw invalidInput(`bridge ${bridge.name} does not filter VLANs, so its ports cannot have 'pvid', 'tagged' or 'untagged'`, {
      ...context,
      hint: `create it with lab.bridge(ns, '${bridge.name}', { vlanFiltering: true })`,
    })
  const list = (value: unknown, key: string): number[] => {
    if (value === undefined) return []
    if (!Array.isArray(value)) throw invalidInput(`'${key}' must be an array of VLAN ids, e.g. [10, 20]`, context)
    const ids = value.map((v) => checkVlanId(v, `VLAN id in '${key}'`, context))
    const dup = ids.find((v, i) => ids.indexOf(v) !== i)
    if (dup !== undefined) throw invalidInput(`VLAN ${dup} is listed twice in '${key}'`, context)
    return ids
  }
  const t = list(tagged, 'tagged')
  const u = list(untagged, 'untagged')
  const both = t.find((v) => u.includes(v))
  if (both !== undefined)
    throw invalidInput(`VLAN ${both} cannot leave the port both tagged and untagged`, {
      ...context,
      hint: "list it in 'tagged' (a trunk carries it with its tag) or in 'untagged', not both",
    })
  return { pvid: pvid === undefined ? undefined : checkVlanId(pvid, "'pvid'", context), tagged: t, untagged: u.filter((v) => v !== pvid) }
}

/**
 * `bridge -batch` lines giving the port exactly these VLANs. The kernel puts every new port in VLAN 1
 * (untagged, PVID); a port with VLAN options leaves it, so it carries only what was asked.
 */
export function portVlanLines(port: string, v: PortVlans): string[] {
  const lines = [`vlan del dev ${port} vid 1`]
  if (v.pvid !== undefined) lines.push(`vlan add dev ${port} vid ${v.pvid} pvid${v.tagged.includes(v.pvid) ? '' : ' untagged'}`)
  for (const vid of v.tagged) if (vid !== v.pvid) lines.push(`vlan add dev ${port} vid ${vid}`)
  for (const vid of v.untagged) lines.push(`vlan add dev ${port} vid ${vid} untagged`)
  return lines
}

const MISSING: Record<'vlan' | 'bridge-vlan-filtering' | 'vxlan', string> = {
  vlan: 'load the 802.1Q module (modprobe 8021q; on Ubuntu it is in linux-modules-extra-$(uname -r)) or use a kernel built with CONFIG_VLAN_8021Q; in specs skip with kernelFeatureSkipReason("vlan")',
  'bridge-vlan-filtering':
    'use a kernel built with CONFIG_BRIDGE_VLAN_FILTERING (Ubuntu and GitHub runners have it; it is part of the bridge module, so no modprobe adds it); in specs skip with kernelFeatureSkipReason("bridge-vlan-filtering")',
  vxlan: 'load the VXLAN module (modprobe vxlan) or use a kernel built with CONFIG_VXLAN; in specs skip with kernelFeatureSkipReason("vxlan")',
}

/**
 * After the kernel refused: if the feature is missing, an 'unsupported' error naming it (and what to do);
 * otherwise the kernel's own error, unchanged.
 */
export async function unsupportedIfMissing(e: unknown, feature: keyof typeof MISSING, what: string, context: NetspecErrorContext): Promise<never> {
  if (!isNetspecError(e, 'command-failed')) throw e
  const status = (await detectKernelFeatures()).features.find((f) => f.feature === (feature satisfies KernelFeature))
  if (status?.available !== false) throw e
  throw new NetspecError('unsupported', `${what} needs ${FEATURE_SPECS[feature].description} (kernel feature '${feature}'), which this kernel lacks: ${status.evidence}`, {
    ...context,
    command: e.command,
    stderr: e.stderr,
    exitCode: e.exitCode,
    hint: MISSING[feature],
    cause: e,
  })
}

/** lab.vlan(): checks everything, records the interface in the lab's model, then one `ip -batch` in the namespace. */
export async function createVlan(lab: Lab, ns: Namespace, parent: string, id: number, options: VlanOptions = {}): Promise<Vlan> {
  const declaredAt = callSite()
  lab.assertAlive()
  const ctx: NetspecErrorContext = { lab: lab.label, namespace: (ns as Namespace | undefined)?.label, netns: (ns as Namespace | undefined)?.name, declaredAt }
  if (!(ns instanceof Namespace) || ns.lab !== lab)
    throw invalidInput(`lab.vlan needs a namespace of this lab, got ${String(ns)}`, { ...ctx, hint: 'pass a handle from lab.namespace()' })
  lab.assertAlive(ns)
  const plan = planVlan(parent, id, options, ctx)
  if (lab.model.iface(ns, plan.name) !== undefined || plan.name === 'lo')
    throw invalidInput(`interface '${plan.name}' already exists in namespace '${ns.label}'`, {
      ...ctx,
      hint: `a second VLAN ${id} on ${parent} is not possible; for another parent give { name: '…' }`,
    })
  // The model knows the lab's own links; one created by exec is looked up in the kernel.
  const links = lab.model.iface(ns, parent) === undefined ? await ns.links() : undefined
  if (links !== undefined && !links.some((l) => l.name === parent)) {
    const known = links.map((l) => l.name).join(', ')
    throw invalidInput(`lab.vlan: no interface '${parent}' in namespace '${ns.label}' to carry VLAN ${id}`, {
      ...ctx,
      hint: `create the parent first (lab.veth or bridge.plug); ${ns.label} has: ${known}`,
    })
  }
  const iface = lab.model.declare(ns, plan.name)
  try {
    // Its own layer-2 segment: the model cannot tell which peer's sub-interface shares the VLAN.
    lab.model.segments.check([iface], plan.addresses.map((c) => [iface, c.address] as const))
    for (const c of plan.addresses) lab.model.addAddress(ns, plan.name, c.address)
    await lab.batch(ns, plan.lines, ctx).catch((e: unknown) => unsupportedIfMissing(e, 'vlan', `VLAN interface ${plan.name}`, ctx))
  } catch (e) {
    lab.model.linkDeleted(ns, plan.name)
    throw e
  }
  return { ns, name: plan.name, parent, id }
}

/** Gives a freshly plugged port its VLANs (one `bridge -batch` in the bridge's namespace). */
export async function applyPortVlans(bridge: Bridge, port: string, vlans: PortVlans): Promise<void> {
  const lab = bridge.lab
  await lab.settle()
  await runChecked(lab.executor, ['bridge', '-batch', '-'], { netns: bridge.ns.name, input: `${portVlanLines(port, vlans).join('\n')}\n`, signal: lab.signal }, {
    lab: lab.label,
    namespace: bridge.ns.label,
    netns: bridge.ns.name,
    what: `setting the VLANs of port ${port} on bridge ${bridge.name} failed`,
  })
}

/** The bridge's and its ports' VLANs as the kernel holds them. */
export async function bridgeVlans(bridge: Bridge): Promise<BridgeVlan[]> {
  await bridge.lab.settle() // ports still owed to the kernel must exist before it is asked
  const [links, vlans] = await Promise.all([bridge.ns.links(), readBridgeVlans(bridge.lab.executor, bridge.ns.name)])
  const mine = new Set([bridge.name, ...links.filter((l) => l.master === bridge.name).map((l) => l.name)])
  return vlans.filter((v) => mine.has(v.port))
}
