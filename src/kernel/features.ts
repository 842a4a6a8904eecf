// Which optional kernel features this machine has. Kernels differ (this one lacks netem and 802.1Q;
// GitHub's runners have both as modules), so each feature is really tried once, inside an anonymous
// network namespace (`unshare -n`: it dies with the probing process, so nothing can leak), and
// /proc/config.gz / modinfo only explain a failure. Specs use `kernelFeatureSkipReason` to skip with a
// reason that names the missing feature, never to pass silently.
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { invalidInput } from '../errors.js'
import { defaultExecutor, type Executor } from '../exec/index.js'

export const KERNEL_FEATURES = [
  'veth',
  'bridge',
  'ipv6',
  'nft',
  'conntrack',
  'nft-numgen',
  'tbf',
  'htb',
  'netem',
  'vlan',
  'dummy',
  'bridge-vlan-filtering',
  'macvlan',
  'vxlan',
  'nat66',
] as const

export type KernelFeature = (typeof KERNEL_FEATURES)[number]

interface FeatureSpec {
  description: string
  /** Kernel config options that provide it (the first is the one to name). */
  config: string[]
  /** The module to load where it is built as one. */
  module?: string
  /** Shell lines run inside the throwaway namespace; the feature is there when they all succeed. */
  probe: string
  /** What netspec does with it (shown by doctor). */
  usedFor: string
}

// A veth pair fp0/fp1 and `lo` up are prepared before the probes run (see probeScript).
export const FEATURE_SPECS: Readonly<Record<KernelFeature, FeatureSpec>> = {
  veth: { description: 'veth pairs', config: ['CONFIG_VETH'], module: 'veth', probe: 'ip link add fv0 type veth peer name fv1', usedFor: 'every link of a lab' },
  bridge: { description: 'Linux bridges', config: ['CONFIG_BRIDGE'], module: 'bridge', probe: 'ip link add fbr0 type bridge', usedFor: 'lab.bridge()' },
  ipv6: { description: 'IPv6', config: ['CONFIG_IPV6'], module: 'ipv6', probe: 'ip -6 addr add fd00:5ec::1/128 dev lo nodad', usedFor: 'IPv6 addresses and routes' },
  nft: { description: 'nftables', config: ['CONFIG_NF_TABLES', 'CONFIG_NF_TABLES_INET'], module: 'nf_tables', probe: 'nft add table inet netspec_probe', usedFor: 'NAT, filtering, partitions' },
  conntrack: {
    description: 'connection tracking',
    config: ['CONFIG_NF_CONNTRACK', 'CONFIG_NFT_CT'],
    module: 'nf_conntrack',
    probe: 'nft add table inet netspec_ct && nft add chain inet netspec_ct c && nft add rule inet netspec_ct c ct state established accept',
    usedFor: 'NAT and conntrack evidence',
  },
  'nft-numgen': {
    description: 'nftables numgen (random loss)',
    config: ['CONFIG_NFT_NUMGEN'],
    module: 'nft_numgen',
    probe: 'nft add table inet netspec_ng && nft add chain inet netspec_ng c && nft add rule inet netspec_ng c numgen random mod 100 lt 1 drop',
    usedFor: 'packet loss without netem',
  },
  tbf: { description: 'tbf qdisc (rate)', config: ['CONFIG_NET_SCH_TBF'], module: 'sch_tbf', probe: 'tc qdisc add dev fp0 root tbf rate 1mbit burst 32kbit latency 400ms', usedFor: 'rate limits' },
  htb: { description: 'htb qdisc', config: ['CONFIG_NET_SCH_HTB'], module: 'sch_htb', probe: 'tc qdisc add dev fp1 root handle 1: htb default 1', usedFor: 'shaping classes' },
  netem: { description: 'netem qdisc (delay, jitter, loss)', config: ['CONFIG_NET_SCH_NETEM'], module: 'sch_netem', probe: 'tc qdisc add dev lo root netem delay 1ms', usedFor: 'delay and jitter impairments' },
  vlan: { description: '802.1Q VLAN links', config: ['CONFIG_VLAN_8021Q'], module: '8021q', probe: 'ip link add link fp0 name fp0.10 type vlan id 10', usedFor: 'VLAN sub-interfaces' },
  dummy: { description: 'dummy links', config: ['CONFIG_DUMMY'], module: 'dummy', probe: 'ip link add fd0 type dummy', usedFor: 'dummy interfaces' },
  'bridge-vlan-filtering': {
    description: 'bridge VLAN filtering',
    config: ['CONFIG_BRIDGE_VLAN_FILTERING'],
    probe: 'ip link add fbr1 type bridge vlan_filtering 1',
    usedFor: 'VLAN-aware bridges',
  },
  macvlan: { description: 'macvlan links', config: ['CONFIG_MACVLAN'], module: 'macvlan', probe: 'ip link add fm0 link fp0 type macvlan mode bridge', usedFor: 'macvlan interfaces' },
  vxlan: { description: 'VXLAN links', config: ['CONFIG_VXLAN'], module: 'vxlan', probe: 'ip link add fx0 type vxlan id 42 dstport 4789', usedFor: 'VXLAN overlays' },
  nat66: {
    description: 'IPv6 NAT (nftables masquerade)',
    config: ['CONFIG_NF_NAT', 'CONFIG_NFT_NAT', 'CONFIG_NFT_MASQ', 'CONFIG_IPV6'],
    module: 'nft_masq',
    probe: 'nft add table ip6 netspec_n6 && nft "add chain ip6 netspec_n6 p { type nat hook postrouting priority 100; }" && nft add rule ip6 netspec_n6 p masquerade',
    usedFor: 'NAT66: masquerade, snat and portForward over IPv6',
  },
}

export interface FeatureStatus {
  feature: KernelFeature
  description: string
  /** undefined: could not be determined (not root, tool missing, no config). */
  available: boolean | undefined
  /** How it was decided: really tried in a throwaway namespace, or read from the kernel config. */
  source: 'probe' | 'config' | 'none'
  /** What the kernel (or the config) said, e.g. "Error: Specified qdisc kind is unknown." */
  evidence: string
  /** What to do when it is missing. */
  hint?: string
}

export interface KernelFeatureReport {
  kernel: string
  /** True when the probes ran (root); false when only the config could be read. */
  probed: boolean
  /** Why probing was not possible, when it was not. */
  probeError?: string
  features: FeatureStatus[]
}

export type ConfigValue = 'y' | 'm' | 'n'

/** Parses /proc/config.gz text into CONFIG_X → y/m/n (n for "# CONFIG_X is not set"). */
export function parseKernelConfig(text: string): Map<string, ConfigValue> {
  const map = new Map<string, ConfigValue>()
  for (const line of text.split('\n')) {
    const set = /^(CONFIG_\w+)=(y|m)$/.exec(line)
    if (set !== null) map.set(set[1]!, set[2] as ConfigValue)
    const unset = /^# (CONFIG_\w+) is not set$/.exec(line)
    if (unset !== null) map.set(unset[1]!, 'n')
  }
  return map
}

function readKernelConfig(): Map<string, ConfigValue> | undefined {
  for (const path of ['/proc/config.gz', `/boot/config-${kernelRelease()}`]) {
    try {
      const raw = readFileSync(path)
      return parseKernelConfig(path.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8'))
    } catch {
      // not readable here; try the next source
    }
  }
  return undefined
}

function kernelRelease(): string {
  try {
    return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()
  } catch {
    return 'unknown'
  }
}

function loadedModules(): Set<string> {
  try {
    return new Set(readFileSync('/proc/modules', 'utf8').split('\n').map((l) => l.split(' ')[0]!).filter(Boolean))
  } catch {
    return new Set() // kernel without module support
  }
}

const MARK = '@@netspec-feature'

/** One shell script for all probes: each prints `@@netspec-feature <name> <rc> <first stderr line>`. */
export function probeScript(features: readonly KernelFeature[]): string {
  const lines = [
    'ip link set lo up 2>/dev/null',
    'ip link add fp0 type veth peer name fp1 2>/dev/null && ip link set fp0 up && ip link set fp1 up',
    `probe() { n=$1; shift; out=$( (eval "$*") 2>&1 >/dev/null); rc=$?; printf '${MARK} %s %s %s\\n' "$n" "$rc" "$(printf '%s' "$out" | head -n 1)"; }`,
  ]
  // In parallel: each probe uses its own devices and tables; one short printf line each is written atomically.
  for (const f of features) lines.push(`probe ${f} '${FEATURE_SPECS[f].probe.replace(/'/g, `'\\''`)}' &`)
  lines.push('wait')
  return `${lines.join('\n')}\n`
}

export function parseProbeOutput(stdout: string): Map<KernelFeature, { rc: number; message: string }> {
  const out = new Map<KernelFeature, { rc: number; message: string }>()
  for (const line of stdout.split('\n')) {
    if (!line.startsWith(`${MARK} `)) continue
    const [, name, rc, ...rest] = line.split(' ')
    if ((KERNEL_FEATURES as readonly string[]).includes(name!)) out.set(name as KernelFeature, { rc: Number(rc), message: rest.join(' ').trim() })
  }
  return out
}

/** Decides one feature from the probe result (if any) and the kernel config (if readable). */
export function judgeFeature(
  feature: KernelFeature,
  probe: { rc: number; message: string } | undefined,
  config: Map<string, ConfigValue> | undefined,
  modules: ReadonlySet<string> = new Set(),
): FeatureStatus {
  const spec = FEATURE_SPECS[feature]
  const base = { feature, description: spec.description }
  const cfg = config === undefined ? undefined : spec.config.map((c) => [c, config.get(c)] as const)
  const unset = cfg?.find(([, v]) => v === 'n' || v === undefined)
  const asModule = cfg?.find(([, v]) => v === 'm')
  const configText = cfg === undefined ? undefined : unset !== undefined ? `${unset[0]} is not set` : cfg.map(([c, v]) => `${c}=${v}`).join(', ')
  const toolMissing = probe !== undefined && (probe.rc === 127 || /not found/.test(probe.message))
  if (probe !== undefined && !toolMissing) {
    if (probe.rc === 0) return { ...base, available: true, source: 'probe', evidence: 'works' }
    const said = probe.message || `exit code ${probe.rc}`
    const evidence = unset !== undefined && configText !== undefined ? `${configText}; the kernel said: ${said}` : said
    return { ...base, available: false, source: 'probe', evidence, hint: missingHint(feature, configText, asModule !== undefined) }
  }
  const why = toolMissing ? `could not be tried (${probe!.message})` : undefined
  if (cfg === undefined || configText === undefined)
    return { ...base, available: undefined, source: 'none', evidence: why ?? 'unknown: not probed and no kernel config readable', hint: 'run `netspec doctor` as root to try it' }
  if (unset !== undefined) return { ...base, available: false, source: 'config', evidence: configText, hint: missingHint(feature, configText, false) }
  const loaded = spec.module !== undefined && modules.has(spec.module) ? `, module ${spec.module} loaded` : ''
  return { ...base, available: true, source: 'config', evidence: `${configText}${loaded}${why === undefined ? '' : `; ${why}`}` }
}

function missingHint(feature: KernelFeature, configText: string | undefined, isModule: boolean): string {
  const mod = FEATURE_SPECS[feature].module
  if (isModule && mod !== undefined) return `load the module: modprobe ${mod}`
  if (configText?.endsWith('is not set') === true)
    return `this kernel was built without it, so no module can add it: use a kernel that has it${mod === undefined ? '' : ` (e.g. Ubuntu, as on GitHub's runners: modprobe ${mod}; package linux-modules-extra-$(uname -r))`}`
  return mod === undefined ? 'check the kernel configuration' : `try: modprobe ${mod}`
}

let cached: Promise<KernelFeatureReport> | undefined

/**
 * Tries every feature once per process (one `unshare -n sh` process, ~tens of ms) and reads the kernel
 * config for the reasons. Without root, only the config is read.
 */
export function detectKernelFeatures(options: { executor?: Executor; fresh?: boolean } = {}): Promise<KernelFeatureReport> {
  if (options.fresh === true || options.executor !== undefined) return detect(options.executor ?? defaultExecutor())
  cached ??= detect(defaultExecutor())
  return cached
}

async function detect(exec: Executor): Promise<KernelFeatureReport> {
  const config = readKernelConfig()
  const modules = loadedModules()
  let probes: Map<KernelFeature, { rc: number; message: string }> | undefined
  let probeError: string | undefined
  try {
    const r = await exec.run(['unshare', '--net', 'sh', '-c', probeScript(KERNEL_FEATURES)], { timeoutMs: 15_000 })
    if (r.exitCode === 0) probes = parseProbeOutput(r.stdout)
    else probeError = r.stderr.trim().split('\n')[0] || `unshare exited with ${r.exitCode}`
  } catch (e) {
    probeError = e instanceof Error ? e.message.split('\n')[0] : String(e)
  }
  return {
    kernel: kernelRelease(),
    probed: probes !== undefined,
    ...(probeError === undefined ? {} : { probeError }),
    features: KERNEL_FEATURES.map((f) => judgeFeature(f, probes?.get(f), config, modules)),
  }
}

/** Is this feature there? `undefined` when it cannot be told (e.g. not root). */
export async function hasKernelFeature(feature: KernelFeature): Promise<boolean | undefined> {
  return (await detectKernelFeatures()).features.find((f) => f.feature === feature)?.available
}

/** The reason to skip a spec that needs these features, naming each missing one, or undefined if all are there. */
export function skipReasonFor(statuses: readonly FeatureStatus[], features: readonly KernelFeature[]): string | undefined {
  const missing = features
    .map((f) => statuses.find((s) => s.feature === f))
    .filter((s): s is FeatureStatus => s !== undefined && s.available !== true)
  if (missing.length === 0) return undefined
  return `kernel lacks ${missing.map((s) => `${s.feature} (${s.available === undefined ? 'unknown' : s.evidence})`).join(', ')}`
}

/**
 * For specs: `const reason = await kernelFeatureSkipReason('netem'); if (reason) ctx.skip(reason)`, or
 * `describe.skipIf(await kernelFeatureSkipReason('vlan'))`.
 */
export async function kernelFeatureSkipReason(...features: KernelFeature[]): Promise<string | undefined> {
  for (const f of features) if (!(KERNEL_FEATURES as readonly string[]).includes(f)) throw invalidInput(`unknown kernel feature '${f}'`, { hint: `known: ${KERNEL_FEATURES.join(', ')}` })
  return skipReasonFor((await detectKernelFeatures()).features, features)
}
