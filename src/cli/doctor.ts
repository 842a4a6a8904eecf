// `netspec doctor`: can this machine run network specs, and what exactly to do about what is missing.
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { defaultExecutor, TOOL_PACKAGES, type Executor } from '../exec/index.js'
import { detectKernelFeatures, FEATURE_SPECS, type KernelFeature } from '../kernel/features.js'
import { Lab } from '../lab/lab.js'
import { effectiveCaps, missingPrivileges } from '../lab/preflight.js'
import { sweep } from '../lab/sweep.js'
import { sysctlPolicy } from '../values/sysctl.js'
import { parseArgs } from './args.js'
import { dropsCheck } from '../drops/doctor-check.js'
import { EXIT, stdio, type Command, type Io } from './command.js'

export type CheckStatus = 'ok' | 'missing' | 'warn' | 'info'

export interface Check {
  group: 'system' | 'tools' | 'kernel' | 'container' | 'state'
  name: string
  status: CheckStatus
  /** A failed required check makes doctor exit 1. */
  required: boolean
  detail: string
  /** The exact command (or step) that fixes it. */
  fix?: string
  /** Debian/Ubuntu package, for tools. */
  package?: string
}

export interface DoctorReport {
  checks: Check[]
  ready: boolean
  /** One command installing every missing tool. */
  install?: string
}

/** Tools netspec drives: [tool, required, what for]. Packages come from the exec layer's table. */
export const TOOLS: readonly (readonly [string, boolean, string])[] = [
  ['ip', true, 'namespaces, links, addresses, routes'],
  ['ping', true, 'ICMP reachability'],
  ['unshare', false, 'kernel feature probes'],
  ['nsenter', false, "graph of containers' namespaces"],
  ['tc', false, 'rate limits and impairments'],
  ['bridge', false, 'bridge fdb and VLAN inspection'],
  ['nft', false, 'NAT, filtering, partitions, loss'],
  ['iptables', false, 'iptables-based NAT rules'],
  ['tcpdump', false, 'packet capture'],
  ['conntrack', false, 'conntrack evidence for NAT'],
  ['docker', false, 'container mode and adopting containers'],
  ['dhclient', false, 'DHCP leases (ns.dhcp)'],
  ['dnsmasq', false, 'DNS and DHCP servers in tests and specs'],
  ['bird', false, 'BGP routers in specs/19-bgp-bird'],
  ['bpftrace', false, "the kernel's drop reasons in verdicts (docs/drops.md)"],
]

const EXTRA_PACKAGES: Record<string, string> = { unshare: 'util-linux', nsenter: 'util-linux' }

/** Features without which no lab can be built. */
const REQUIRED_FEATURES: readonly KernelFeature[] = ['veth', 'bridge']

export const RUNNER_IMAGE = 'netspec-runner'

export function packageOf(tool: string): string {
  return TOOL_PACKAGES[tool] ?? EXTRA_PACKAGES[tool] ?? tool
}

/** Where a program would be found on PATH (what execa will run), or undefined. */
export function which(tool: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue
    try {
      accessSync(join(dir, tool), constants.X_OK)
      return join(dir, tool)
    } catch {
      // not here
    }
  }
  return undefined
}

const asRoot = (cmd: string) => (process.getuid?.() === 0 ? cmd : `sudo ${cmd}`)

/** package.json's engines: what Vitest 4 needs (require of ES modules). */
export const NODE_RANGE = '^20.19.0 || >=22.12.0'

export function nodeSupported(version: string): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number)
  return (major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major > 22
}

function systemChecks(): Check[] {
  const checks: Check[] = []
  const nodeOk = nodeSupported(process.versions.node)
  checks.push({
    group: 'system',
    name: 'node',
    status: nodeOk ? 'ok' : 'missing',
    required: true,
    detail: `Node.js ${process.versions.node}${nodeOk ? '' : ` (${NODE_RANGE} needed)`}`,
    ...(nodeOk ? {} : { fix: 'install Node.js 22 or 24 (LTS), or 20.19+ (https://nodejs.org)' }),
  })
  const missing = missingPrivileges(effectiveCaps())
  const uid = process.getuid?.()
  checks.push({
    group: 'system',
    name: 'privileges',
    status: missing.length === 0 ? 'ok' : 'missing',
    required: true,
    detail: missing.length === 0 ? `uid ${uid}, CAP_NET_ADMIN and CAP_SYS_ADMIN` : `uid ${uid}, lacks ${missing.join(' and ')}`,
    ...(missing.length === 0
      ? {}
      : { fix: 'run as root: sudo -E env "PATH=$PATH" npx netspec doctor (in a container: --cap-add NET_ADMIN --cap-add SYS_ADMIN --cap-add NET_RAW)' }),
  })
  return checks
}

function toolChecks(path: string | undefined): Check[] {
  return TOOLS.map(([tool, required, what]) => {
    const at = which(tool, path)
    const pkg = packageOf(tool)
    return {
      group: 'tools',
      name: tool,
      status: at !== undefined ? 'ok' : required ? 'missing' : 'warn',
      required,
      package: pkg,
      detail: at !== undefined ? `${at} (${pkg})` : `not found on PATH: needed for ${what}`,
      ...(at === undefined ? { fix: asRoot(`apt-get install -y ${pkg}`) } : {}),
    } satisfies Check
  })
}

async function kernelChecks(exec: Executor): Promise<Check[]> {
  const report = await detectKernelFeatures({ executor: exec })
  const checks: Check[] = report.features.map((f) => {
    const required = REQUIRED_FEATURES.includes(f.feature)
    const status: CheckStatus = f.available === true ? 'ok' : required ? 'missing' : f.available === false ? 'warn' : 'info'
    const detail =
      f.available === true
        ? `${f.description}: ${f.evidence}`
        : `${f.description}: ${f.evidence} — specs needing ${FEATURE_SPECS[f.feature].usedFor} are skipped`
    return { group: 'kernel', name: f.feature, status, required, detail, ...(f.hint === undefined || f.available === true ? {} : { fix: f.hint }) }
  })
  checks.unshift({
    group: 'kernel',
    name: 'kernel',
    status: 'info',
    required: false,
    detail: `Linux ${report.kernel}; ${report.probed ? 'features tried in a throwaway namespace' : `features read from the kernel config only (${report.probeError ?? 'not probed'})`}`,
  })
  return checks
}

/**
 * Which sysctls a lab may write on this kernel: the writable keys of a throwaway namespace (`unshare -n`, read
 * only: nothing is written), classified by the policy (src/values/sysctl.ts). Information, never a failure.
 */
async function sysctlCheck(exec: Executor): Promise<Check> {
  const r = await exec.run(['unshare', '-n', 'find', '/proc/sys/net', '-type', 'f', '-perm', '-u+w'], { timeoutMs: 5000 }).catch(() => undefined)
  if (r === undefined || r.exitCode !== 0)
    return { group: 'kernel', name: 'sysctls', status: 'info', required: false, detail: 'sysctl policy: a lab writes only keys the kernel keeps per network namespace (not listed: unshare -n failed)' }
  const keys = r.stdout.trim().split('\n').filter(Boolean).map((p) => p.slice('/proc/sys/'.length).replace(/\//g, '.'))
  const refused = keys.filter((k) => {
    try {
      return !sysctlPolicy(k).allowed
    } catch {
      return true
    }
  })
  return {
    group: 'kernel',
    name: 'sysctls',
    status: 'info',
    required: false,
    detail: `sysctl policy: ${keys.length} net.* keys writable in a namespace here, ${keys.length - refused.length} a lab may write; refused (shared by every namespace, not known to be per namespace, or loading a module): ${refused.length === 0 ? 'none' : refused.join(' ')}`,
  }
}

// Builds and removes a real one-namespace lab: the whole path a spec takes (marker, ip netns, teardown).
async function labCheck(): Promise<Check> {
  const started = performance.now()
  try {
    const lab = await Lab.create({ label: 'netspec doctor' })
    try {
      const ns = await lab.namespace('doctor')
      await ns.exec(['ip', 'link', 'show', 'lo'], { check: true })
    } finally {
      await lab.destroy()
    }
    return { group: 'system', name: 'lab', status: 'ok', required: true, detail: `built and removed a lab namespace in ${Math.round(performance.now() - started)} ms` }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e)
    return { group: 'system', name: 'lab', status: 'missing', required: true, detail: `could not build a lab: ${msg.split('\n')[0]}`, fix: /hint:\s+(.*)/.exec(msg)?.[1] ?? 'see the message above' }
  }
}

async function containerChecks(exec: Executor, path: string | undefined): Promise<Check[]> {
  if (which('docker', path) === undefined) return [] // reported with the tools
  const v = await exec.run(['docker', 'version', '--format', '{{.Server.Version}}'], { timeoutMs: 5000 }).catch(() => undefined)
  if (v === undefined || v.exitCode !== 0) {
    const why = v?.stderr.trim().split('\n').find((l) => l.includes('Cannot connect')) ?? v?.stderr.trim().split('\n')[0] ?? 'no answer'
    return [
      {
        group: 'container',
        name: 'engine',
        status: 'warn',
        required: false,
        detail: `Docker daemon not reachable (${why}): container mode unavailable`,
        fix: asRoot('systemctl start docker') + ' (or start dockerd by hand)',
      },
    ]
  }
  const checks: Check[] = [{ group: 'container', name: 'engine', status: 'ok', required: false, detail: `Docker ${v.stdout.trim()} reachable` }]
  const img = await exec.run(['docker', 'image', 'ls', RUNNER_IMAGE, '--format', '{{.Repository}}:{{.Tag}} ({{.ID}}, {{.CreatedSince}})'], { timeoutMs: 5000 })
  const found = img.stdout.trim().split('\n').filter(Boolean)
  checks.push({
    group: 'container',
    name: 'image',
    status: found.length > 0 ? 'ok' : 'warn',
    required: false,
    detail: found.length > 0 ? found.join(', ') : `runner image '${RUNNER_IMAGE}' not built: needed for netspec run --container`,
    ...(found.length > 0 ? {} : { fix: 'npx netspec image build' }),
  })
  return checks
}

async function stateChecks(exec: Executor): Promise<Check[]> {
  const r = await sweep({ dryRun: true, executor: exec })
  const checks: Check[] = []
  if (r.removed.length > 0)
    checks.push({ group: 'state', name: 'leftovers', status: 'warn', required: false, detail: `${r.removed.length} lab(s) of dead runs still present`, fix: 'npx netspec sweep --force' })
  if (r.kept.length > 0)
    checks.push({ group: 'state', name: 'kept', status: 'info', required: false, detail: `${r.kept.length} lab(s) kept for debugging`, fix: 'npx netspec sweep --kept --force' })
  if (checks.length === 0) checks.push({ group: 'state', name: 'leftovers', status: 'ok', required: false, detail: 'no leftovers of dead runs' })
  return checks
}

export async function doctor(options: { executor?: Executor; path?: string } = {}): Promise<DoctorReport> {
  const exec = options.executor ?? defaultExecutor()
  const system = systemChecks()
  const tools = toolChecks(options.path)
  const canLab = system.every((c) => c.status === 'ok') && tools.find((t) => t.name === 'ip')?.status === 'ok'
  const [kernel, container, state, lab, drops] = await Promise.all([
    which('unshare', options.path) === undefined && which('ip', options.path) === undefined
      ? Promise.resolve<Check[]>([{ group: 'kernel', name: 'kernel', status: 'info', required: false, detail: 'features not checked: ip and unshare are missing' }])
      : Promise.all([kernelChecks(exec), sysctlCheck(exec)]).then(([k, s]) => [...k, s]),
    containerChecks(exec, options.path),
    canLab ? stateChecks(exec).catch(() => []) : Promise.resolve([]),
    canLab ? labCheck() : Promise.resolve(undefined),
    dropsCheck(options.path).then((d): Check => ({ group: 'kernel', name: 'drop reasons', required: false, ...d })),
  ])
  const checks = [...system, ...(lab === undefined ? [] : [lab]), ...tools, ...kernel, drops, ...container, ...state]
  const pkgs = [...new Set(tools.filter((t) => t.status !== 'ok').map((t) => t.package!))]
  return {
    checks,
    ready: checks.every((c) => !c.required || c.status === 'ok'),
    ...(pkgs.length === 0 ? {} : { install: asRoot(`apt-get install -y ${pkgs.join(' ')}`) }),
  }
}

const MARK: Record<CheckStatus, string> = { ok: '✔', missing: '✘', warn: '!', info: '·' }
const TITLES: Record<Check['group'], string> = {
  system: 'System',
  tools: 'Tools',
  kernel: 'Kernel features',
  container: 'Container engine',
  state: 'Leftovers',
}

export function renderDoctor(r: DoctorReport): string {
  const lines = ['netspec doctor — can this machine run network specs?']
  const width = Math.max(...r.checks.map((c) => c.name.length))
  for (const group of Object.keys(TITLES) as Check['group'][]) {
    const checks = r.checks.filter((c) => c.group === group)
    if (checks.length === 0) continue
    lines.push('', TITLES[group])
    for (const c of checks) {
      lines.push(`  ${MARK[c.status]} ${c.name.padEnd(width)}  ${c.detail}${c.status === 'missing' && c.required ? '  [required]' : ''}`)
      if (c.fix !== undefined && c.status !== 'ok') lines.push(`    ${''.padEnd(width)}  → ${c.fix}`)
    }
  }
  const failed = r.checks.filter((c) => c.required && c.status !== 'ok')
  const warned = r.checks.filter((c) => c.status === 'warn' || (!c.required && c.status === 'missing'))
  lines.push('')
  if (r.install !== undefined) lines.push(`Install every missing tool at once:\n  ${r.install}`, '')
  lines.push(
    r.ready
      ? `Ready: netspec can run here${warned.length > 0 ? ` (${warned.length} optional item(s) missing; specs needing them are skipped)` : ''}.`
      : `NOT READY: ${failed.map((c) => c.name).join(', ')} missing (see ✘ above).`,
  )
  return lines.join('\n')
}

const HELP = `Usage: netspec doctor [--json]

Checks everything netspec needs and says exactly how to fix what is missing:
  - Node.js version, root / CAP_NET_ADMIN + CAP_SYS_ADMIN, and a real lab built and removed
  - every tool netspec drives, with its Debian/Ubuntu package and the install command
  - kernel features (veth, bridge, IPv6, nftables, conntrack, tbf, htb, netem, 802.1Q VLAN, dummy,
    bridge VLAN filtering, macvlan, VXLAN, IPv6 NAT), really tried in a throwaway namespace
  - drop reasons: whether bpftrace attaches to skb:kfree_skb, and if not, why (docs/drops.md)
  - the Docker daemon and the '${RUNNER_IMAGE}' runner image (for container mode)
  - leftovers of dead runs and labs kept for debugging

Options:
  --json   print the report as JSON

Exit codes: 0 ready (optional items may be missing), 1 something required is missing, 2 usage error.
`

export async function doctorCli(args: string[], io: Io = stdio): Promise<number> {
  const a = parseArgs(args, { flags: ['json'] })
  const report = await doctor()
  io.out(a.flags.has('json') ? JSON.stringify(report, null, 2) : renderDoctor(report))
  return report.ready ? EXIT.ok : EXIT.failed
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check privileges, tools, kernel features and the container engine; say how to fix each',
  help: HELP,
  run: (args) => doctorCli(args),
}
