// NAT building blocks (nftables, inside a lab namespace only) and natMaps(): proof by real traffic.
// One clear choice: nftables `inet` family, table `netspec`, rules tagged with a comment and a counter,
// read back with `nft -j`. (iptables-nft writes the same kernel objects; nft is what every current distro ships.)
import { NetspecError, invalidInput, isNetspecError } from '../errors.js'
import { hasKernelFeature } from '../kernel/features.js'
import { runChecked } from '../exec/index.js'
import type { Namespace } from '../lab/namespace.js'
import { isIP } from 'node:net'
import { canonicalV6 } from '../kernel/address.js'
import { checkKeys, parseAddress, parseDestination } from '../lab/validate.js'
import { nftIfName } from '../values/nft.js'
import { checkPort, formatHostPort, parseHostPort } from '../values/port.js'
import { listen, type Peer } from './listen.js'
import { namespaceOwning } from './owners.js'
import { reachable, type Reachability } from './reachable.js'
import { parseTarget } from './target.js'
import { readConntrack, type ConntrackEntry } from '../kernel/conntrack.js'

export interface NatRule {
  ns: string
  kind: 'masquerade' | 'snat' | 'dnat'
  chain: 'postrouting' | 'prerouting'
  handle: number
  /** The rule as the kernel holds it (nft -j), read back after adding it. */
  expr: unknown[]
}

const TABLE = 'netspec'

async function nft(gw: Namespace, script: string): Promise<void> {
  await runChecked(gw.lab.executor, ['nft', '-f', '-'], { netns: gw.name, input: script }, {
    lab: gw.lab.label,
    namespace: gw.label,
    netns: gw.name,
    what: `nft in ${gw.label} failed`,
    hint: 'check the addresses and interface names; `nft -c -f -` validates a script without applying it',
  })
}

/** The table and both chains, as script lines (`add` is idempotent: an existing table or chain stays as it is). */
const CHAINS = [
  `add table inet ${TABLE}`,
  `add chain inet ${TABLE} prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
  `add chain inet ${TABLE} postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
]

async function addRule(gw: Namespace, kind: NatRule['kind'], chain: NatRule['chain'], match: string, action: string, fam: 'ip' | 'ip6'): Promise<NatRule> {
  await gw.forwarding(true)
  const tag = `netspec-${kind}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
  // One script, one transaction (nft -f applies all of it or nothing): a refused rule leaves no table or chain behind.
  await nft(gw, [...CHAINS, `add rule inet ${TABLE} ${chain} ${match} counter ${action} comment "${tag}"`, ''].join('\n')).catch(async (e: unknown) => {
    // Kernels without IPv6 NAT refuse the rule; say which feature is missing rather than nft's generic error.
    if (fam !== 'ip6' || !isNetspecError(e, 'command-failed') || (await hasKernelFeature('nat66')) !== false) throw e
    throw new NetspecError('unsupported', `${kind} over IPv6 (NAT66) needs IPv6 NAT in the kernel (feature 'nat66'), which this kernel lacks`, {
      namespace: gw.label,
      netns: gw.name,
      command: e.command,
      stderr: e.stderr,
      hint: 'use a kernel with CONFIG_NF_NAT and CONFIG_NFT_MASQ for IPv6 (modprobe nft_masq); in specs skip with kernelFeatureSkipReason("nat66")',
      cause: e,
    })
  })
  const r = await runChecked(gw.lab.executor, ['nft', '-j', 'list', 'chain', 'inet', TABLE, chain], { netns: gw.name })
  const rule = ((JSON.parse(r.stdout) as { nftables: { rule?: { handle: number; comment?: string; expr: unknown[] } }[] }).nftables ?? [])
    .map((i) => i.rule)
    .find((x) => x?.comment === tag)
  if (rule === undefined)
    throw new NetspecError('command-failed', `the ${kind} rule added in ${gw.label} is not in the kernel's ruleset`, { namespace: gw.label, netns: gw.name })
  return { ns: gw.label, kind, chain, handle: rule.handle, expr: rule.expr }
}

function family(addrOrPrefix: string): 'ip' | 'ip6' {
  const d = parseDestination(addrOrPrefix)
  return d.family === 6 ? 'ip6' : 'ip'
}

/** Rewrites the source of traffic from `source` leaving through `outInterface` to the interface's address. */
export async function masquerade(gw: Namespace, options: { source: string; outInterface: string }): Promise<NatRule> {
  const ctx = { lab: gw.lab.label, namespace: gw.label, netns: gw.name }
  checkKeys(options, ['source', 'outInterface'], 'masquerade', ctx)
  const src = parseDestination(options.source, ctx).dst
  const out = nftIfName(options.outInterface, ctx)
  return addRule(gw, 'masquerade', 'postrouting', `${family(options.source)} saddr ${src} oifname ${out}`, 'masquerade', family(options.source))
}

/** Rewrites the source of traffic from `source` to the fixed address `to`. */
export async function snat(gw: Namespace, options: { source: string; to: string; outInterface?: string }): Promise<NatRule> {
  const ctx = { lab: gw.lab.label, namespace: gw.label, netns: gw.name }
  checkKeys(options, ['source', 'to', 'outInterface'], 'snat', ctx)
  const src = parseDestination(options.source, ctx).dst
  const to = parseAddress(options.to, ctx)
  const fam = family(options.source)
  if ((fam === 'ip6') !== (to.family === 6))
    throw invalidInput(`snat: source ${options.source} and 'to' ${options.to} are of different address families`, { hint: 'NAT44 and NAT66 only: IPv4 to IPv4, IPv6 to IPv6' })
  const out = options.outInterface === undefined ? '' : ` oifname ${nftIfName(options.outInterface, ctx)}`
  return addRule(gw, 'snat', 'postrouting', `${fam} saddr ${src}${out}`, `snat ${fam} to ${to.address}`, fam)
}

/** Forwards a port of the gateway to an inside host: `portForward(gw, { proto: 'tcp', port: 8088, to: '172.16.0.102:80' })`. */
export async function portForward(
  gw: Namespace,
  options: { proto?: 'tcp' | 'udp'; port: number; to: string; inInterface?: string },
): Promise<NatRule> {
  const ctx = { lab: gw.lab.label, namespace: gw.label, netns: gw.name }
  checkKeys(options, ['proto', 'port', 'to', 'inInterface'], 'portForward', ctx)
  const proto = options.proto ?? 'tcp'
  if (proto !== 'tcp' && proto !== 'udp') throw invalidInput(`portForward: proto must be 'tcp' or 'udp'`)
  const port = checkPort(options.port, { what: 'portForward: port' }, ctx)
  const to = parseHostPort(options.to, { what: "portForward: 'to'" }, ctx)
  const fam = to.family === 6 ? 'ip6' : 'ip'
  const inIf = options.inInterface === undefined ? '' : `iifname ${nftIfName(options.inInterface, ctx)} `
  const dest = formatHostPort(to)
  return addRule(gw, 'dnat', 'prerouting', `${inIf}meta nfproto ${fam === 'ip' ? 'ipv4' : 'ipv6'} ${proto} dport ${port}`, `dnat ${fam} to ${dest}`, fam)
}

// Conntrack evidence is read by kernel/conntrack.ts; re-exported here for the public barrel.
export { parseConntrack, type ConntrackEntry } from '../kernel/conntrack.js'

/**
 * The gateway's conntrack table, IPv4 and IPv6 (or one `family`); empty when conntrack is unavailable.
 * IPv6 addresses are in the canonical form `ip` prints, so they compare equal to what a lab was given.
 */
export async function conntrackEntries(gw: Namespace, options: { family?: 4 | 6 } = {}): Promise<ConntrackEntry[]> {
  checkKeys(options, ['family'], 'conntrackEntries')
  if (options.family !== undefined && options.family !== 4 && options.family !== 6) throw invalidInput(`conntrackEntries: family must be 4 or 6`)
  const entries = await readConntrack(gw.lab.executor, gw.name, options.family)
  const canon = (t: ConntrackEntry['original']) => ({ ...t, src: canonical(t.src), dst: canonical(t.dst) })
  return entries.map((e) => ({ ...e, original: canon(e.original), reply: canon(e.reply) }))
}

const canonical = (address: string): string => (isIP(address) === 6 ? canonicalV6(address) : address)

// ---- natMaps -------------------------------------------------------------------------------------

export interface NatMapsSpec {
  /** The client namespace. */
  from: Namespace
  /** What the client connects to: 'tcp://10.0.1.26:80' (or udp://…). */
  to: string
  /** SNAT/MASQUERADE: the source address the far side must see. */
  as?: string
  /** DNAT: where the connection must land: [namespace, port]. */
  landsOn?: readonly [Namespace, number]
}

export interface NatMapsResult {
  ok: boolean
  detail: string
  /** What the observer saw: the peer's source address and port. */
  observed?: Peer
  /** The probe's own verdict. */
  probe: Reachability
  /** The gateway's conntrack entry for this flow (original vs reply tuple). */
  conntrack?: ConntrackEntry
}

/** Proves a NAT mapping through `gw` with real traffic; see NatMapsSpec. */
export async function natMaps(gw: Namespace, spec: NatMapsSpec): Promise<NatMapsResult> {
  checkKeys(spec, ['from', 'to', 'as', 'landsOn'], 'natMaps')
  const t = parseTarget(spec.to)
  if (t.proto === 'icmp') throw invalidInput(`natMaps needs a tcp:// or udp:// target, got '${spec.to}'`)
  if ((spec.as === undefined) === (spec.landsOn === undefined))
    throw invalidInput(`natMaps: give either 'as' (SNAT: the source the far side sees) or 'landsOn' (DNAT: [namespace, port])`)
  // The observer: for DNAT on the inside host; for SNAT on whichever lab namespace owns the target address.
  const [observerNs, port] = spec.landsOn ?? [await ownerOf(gw, t.address), t.port!]
  const listener = await listen(observerNs, port, { proto: t.proto as 'tcp' | 'udp' })
  try {
    const probe = await reachable(spec.from, spec.to)
    const observed = probe.ok ? (await listener.waitForPeers(1, 2000).catch(() => []))[0] : undefined
    const entries = await conntrackEntries(gw, { family: t.family })
    const conntrack = entries.find(
      (e) =>
        e.proto === t.proto &&
        (spec.landsOn !== undefined
          ? e.original.dst === t.address && e.original.dport === t.port
          : e.original.dst === t.address && e.original.dport === t.port && observed !== undefined && e.reply.dport === observed.port),
    )
    if (!probe.ok) return { ok: false, probe, conntrack, detail: `${spec.from.label} could not reach ${spec.to}: ${probe.verdict}: ${probe.detail}` }
    if (observed === undefined)
      return { ok: false, probe, conntrack, detail: `${spec.to} answered, but the observer in ${observerNs.label} port ${port} saw nobody: the connection landed elsewhere` }
    if (spec.as !== undefined) {
      const ok = canonical(observed.address) === parseAddress(spec.as).address
      return {
        ok,
        probe,
        observed,
        conntrack,
        detail: ok
          ? `${observerNs.label} saw ${spec.from.label}'s connection to ${spec.to} coming from ${observed.address}:${observed.port}`
          : `${observerNs.label} saw ${spec.from.label}'s connection to ${spec.to} coming from ${observed.address}, not ${spec.as}${observed.address === (await firstAddress(spec.from)) ? ': no source NAT happened' : ''}`,
      }
    }
    return {
      ok: true,
      probe,
      observed,
      conntrack,
      detail: `${spec.from.label}'s connection to ${spec.to} landed on ${observerNs.label} port ${port} (from ${observed.address}:${observed.port})`,
    }
  } finally {
    await listener.stop()
  }
}

async function ownerOf(gw: Namespace, address: string): Promise<Namespace> {
  const ns = await namespaceOwning(gw.lab.namespaces, address)
  if (ns !== undefined) return ns
  throw invalidInput(`natMaps: no namespace of this lab has the address ${address}, so nobody can observe the mapping`, {
    hint: 'the target must be a lab host (sealed labs never send traffic off the machine)',
  })
}

async function firstAddress(ns: Namespace): Promise<string | undefined> {
  return (await ns.addresses()).find((a) => a.scope === 'global')?.address
}
