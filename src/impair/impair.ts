// Link impairments on one interface end: netem where the kernel has it; otherwise rate through tbf and
// loss through an nftables `numgen random` drop rule, which work on kernels built without netem.
import { NetspecError, invalidInput } from '../errors.js'
import { hasKernelFeature } from '../kernel/features.js'
import type { Namespace } from '../lab/namespace.js'
import { checkIfName } from '../values/names.js'
import { nftIfName } from '../values/nft.js'

export interface ImpairOptions {
  /** Added one-way delay in ms (netem only). */
  delay?: number
  /** Delay variation in ms (netem only, needs delay). */
  jitter?: number
  /** Percent of packets dropped on egress, 0–100 (netem, or nftables numgen without it). */
  loss?: number
  /** Percent duplicated (netem only). */
  duplicate?: number
  /** Percent corrupted (netem only). */
  corrupt?: number
  /** Egress rate, e.g. '1mbit', '500kbit' (netem rate, or tbf without netem). */
  rate?: string
}

/** What the kernel reports for an impaired interface: qdiscs from `tc -j`, the loss rule from `nft -j`. */
export interface ImpairState {
  qdisc?: { kind: string; options: Record<string, unknown> }
  /** The loss percentage of the nftables numgen rule, when one is installed. */
  nftLoss?: number
}

export interface Impairment {
  readonly namespace: Namespace
  readonly dev: string
  readonly mechanism: { qdisc?: 'netem' | 'tbf'; nft: boolean }
  /** Reads back what the kernel applies now. */
  state(): Promise<ImpairState>
  /** Removes the qdisc and the nftables rule. */
  clear(): Promise<void>
}

const KEYS = ['delay', 'jitter', 'loss', 'duplicate', 'corrupt', 'rate']
const RATE = /^\d+(\.\d+)?(bit|kbit|mbit|gbit|bps|kbps|mbps)$/
const PERCENT = (v: number | undefined): boolean => v === undefined || (Number.isFinite(v) && v >= 0 && v <= 100)

/** The nftables table a loss rule lives in: one per interface, so clear() removes exactly it. */
export const lossTable = (dev: string): string => `netspec_loss_${dev.replace(/[^A-Za-z0-9_]/g, '_')}`

/** Validates, then applies the best available mechanism for each impairment. */
export async function impair(ns: Namespace, dev: string, options: ImpairOptions): Promise<Impairment> {
  const ctx = { lab: ns.lab.label, namespace: ns.label, netns: ns.name }
  checkIfName(dev, ctx) // it reaches tc's argv and an nft script
  if (typeof options !== 'object' || options === null) throw invalidInput('impair: options must be an object', ctx)
  for (const k of Object.keys(options)) if (!KEYS.includes(k)) throw invalidInput(`impair: unknown option '${k}' (known: ${KEYS.join(', ')})`, ctx)
  for (const k of ['loss', 'duplicate', 'corrupt'] as const) {
    if (!PERCENT(options[k])) throw invalidInput(`impair: ${k} must be a percentage 0–100, got ${String(options[k])}`, ctx)
  }
  for (const k of ['delay', 'jitter'] as const) {
    const v = options[k]
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw invalidInput(`impair: ${k} must be milliseconds ≥ 0, got ${String(v)}`, ctx)
  }
  if (options.jitter !== undefined && options.delay === undefined) throw invalidInput('impair: jitter needs a delay', ctx)
  if (options.rate !== undefined && (typeof options.rate !== 'string' || !RATE.test(options.rate))) throw invalidInput(`impair: rate '${options.rate}' is not a tc rate like '1mbit'`, ctx)
  if (!(await ns.link(dev))) throw invalidInput(`impair: no interface '${dev}' in ${ns.label}`, ctx)

  const netemOnly = (['delay', 'jitter', 'duplicate', 'corrupt'] as const).filter((k) => options[k] !== undefined)
  const netem = (await hasKernelFeature('netem')) === true
  if (netemOnly.length > 0 && !netem) {
    throw new NetspecError('unsupported', `impair: ${netemOnly.join(', ')} need the netem qdisc, which this kernel lacks`, {
      ...ctx,
      hint: 'load sch_netem (modprobe sch_netem) or use a kernel with CONFIG_NET_SCH_NETEM; loss and rate work without it; in specs skip with kernelFeatureSkipReason("netem")',
    })
  }
  const lines: string[] = []
  let qdisc: 'netem' | 'tbf' | undefined
  let nft = false
  if (netem && (netemOnly.length > 0 || options.loss !== undefined || options.rate !== undefined)) {
    qdisc = 'netem'
    const a = ['qdisc', 'replace', 'dev', dev, 'root', 'netem']
    if (options.delay !== undefined) a.push('delay', `${options.delay}ms`, ...(options.jitter !== undefined ? [`${options.jitter}ms`] : []))
    if (options.loss !== undefined) a.push('loss', `${options.loss}%`)
    if (options.duplicate !== undefined) a.push('duplicate', `${options.duplicate}%`)
    if (options.corrupt !== undefined) a.push('corrupt', `${options.corrupt}%`)
    if (options.rate !== undefined) a.push('rate', options.rate)
    lines.push(a.join(' '))
  } else {
    if (options.rate !== undefined) {
      qdisc = 'tbf'
      // burst must hold at least one MTU-sized packet at any rate; latency bounds the queue.
      lines.push(`qdisc replace dev ${dev} root tbf rate ${options.rate} burst 32kbit latency 100ms`)
    }
    nft = options.loss !== undefined && options.loss > 0
  }
  await ns.exec(['tc', 'qdisc', 'del', 'dev', dev, 'root'], {}) // start clean: an earlier impairment is replaced, not stacked
  for (const line of lines) await ns.exec(['tc', ...line.split(' ')], { check: true })
  const table = lossTable(dev)
  await ns.exec(['nft', 'delete', 'table', 'inet', table])
  if (nft) {
    // numgen random mod 100 < N: each packet leaving DEV is dropped with probability N % (postrouting sees routed traffic too).
    const script = `table inet ${table} {\n chain post {\n  type filter hook postrouting priority 0; policy accept;\n  oifname ${nftIfName(dev)} numgen random mod 100 < ${Math.round(options.loss!)} counter drop\n }\n}\n`
    await ns.exec(['nft', '-f', '-'], { input: script, check: true })
  }
  const handle: Impairment = {
    namespace: ns,
    dev,
    mechanism: { qdisc, nft },
    state: () => readImpairState(ns, dev),
    clear: async () => {
      await ns.exec(['tc', 'qdisc', 'del', 'dev', dev, 'root'])
      await ns.exec(['nft', 'delete', 'table', 'inet', table])
    },
  }
  return handle
}

/** Reads the root qdisc (`tc -j qdisc show`) and the loss rule (`nft -j list table`) of DEV. */
export async function readImpairState(ns: Namespace, dev: string): Promise<ImpairState> {
  const tc = await ns.exec(['tc', '-j', 'qdisc', 'show', 'dev', dev], { check: true })
  const state: ImpairState = {}
  const root = (JSON.parse(tc.stdout || '[]') as { kind: string; root?: boolean; options?: Record<string, unknown> }[]).find((q) => q.root)
  if (root && root.kind !== 'noqueue' && root.kind !== 'pfifo_fast') state.qdisc = { kind: root.kind, options: root.options ?? {} }
  const nft = await ns.exec(['nft', '-j', 'list', 'table', 'inet', lossTable(dev)])
  if (nft.exitCode === 0) state.nftLoss = parseLossRule(nft.stdout)
  return state
}

/** Finds `numgen random mod 100 < N` in `nft -j` output and returns N. */
export function parseLossRule(json: string): number | undefined {
  const items = (JSON.parse(json) as { nftables?: Record<string, unknown>[] }).nftables ?? []
  for (const it of items) {
    const rule = it.rule as { expr?: Record<string, unknown>[] } | undefined
    for (const e of rule?.expr ?? []) {
      const m = e.match as { op?: string; left?: Record<string, unknown>; right?: unknown } | undefined
      if (m && m.op === '<' && m.left && 'numgen' in m.left && typeof m.right === 'number') return m.right
    }
  }
  return undefined
}
