// The nftables trace of one probe packet across the namespaces of a path. In each namespace that has a
// ruleset: a temporary table whose chains (prerouting and output, priority raw - 1, before anything else)
// mark only the probe with `meta nftrace set 1`, and an `nft -a monitor` printing the kernel's trace events.
// The trace mark does not cross namespaces (a veth scrubs the skb), hence one table per namespace.
import { setTimeout as delay } from 'node:timers/promises'
import type { SpawnedProcess } from '../exec/index.js'
import { readRuleset, type NftRuleset } from '../kernel/nft.js'
import type { Namespace } from '../lab/namespace.js'
import { answered, isProbePacket, probeCommand, probeMatch, type Probe } from './probe.js'
import { fateOf, parseTraceLines, tracedPackets, type NetfilterFate, type TraceEvent, type TracedPacket } from './trace-parse.js'

export interface NamespaceTrace {
  /** Every trace event this namespace's monitor printed (only the probe is marked, so only its packets). */
  events: TraceEvent[]
  /** What nftables here did with the probe (its first packet that met a verdict, else its first packet). */
  fate?: NetfilterFate
}

export interface ProbeTrace {
  probe: Probe
  /** An answer came back to the source (echo reply, TCP connect or reset, UDP reply or port unreachable). */
  answered: boolean
  /** What the probe saw, e.g. 'echo reply', 'no echo reply', 'TCP reset', 'dropped on the way (probe stopped)'. */
  answer: string
  /** The temporary table's name (gone again when traceProbe returns). */
  table: string
  /** Namespaces with an nftables base chain, in path order (the others cannot drop anything: not traced). */
  traces: Map<Namespace, NamespaceTrace>
  problems: string[]
}

const SYNC_STEP_MS = 100

/** Sends `probe` from `from` and traces it in every namespace of `path` that has nftables base chains. */
export async function traceProbe(from: Namespace, path: readonly Namespace[], probe: Probe, waitMs: number): Promise<ProbeTrace> {
  const namespaces = [...new Set([from, ...path])]
  const rulesets = new Map<Namespace, NftRuleset>()
  await Promise.all(
    namespaces.map(async (ns) => {
      const rs = await readRuleset(ns.lab.executor, ns.name)
      if (rs !== undefined) rulesets.set(ns, rs)
    }),
  )
  const traced = namespaces.filter((ns) => rulesets.get(ns)?.chains.some((c) => c.hook !== undefined) === true)
  const table = `netspec-trace-${probe.marker}`
  const result: ProbeTrace = {
    probe,
    answered: false,
    answer: '',
    table,
    traces: new Map(),
    problems: [],
  }
  const monitors = new Map<Namespace, SpawnedProcess>()
  const tables: Namespace[] = []
  try {
    const match = probeMatch(probe)
    // allSettled, not all: every table and monitor that was made must be known to the finally below.
    await settle(result, traced, async (ns) => {
      await ns.exec(['nft', '-f', '-'], { input: tableText(table, match), check: true })
      tables.push(ns)
      const mon = await ns.spawn(['nft', '-a', 'monitor'])
      monitors.set(ns, mon)
      await sync(ns, mon, table, 'ready')
    })
    for (const ns of traced) if (!result.problems.some((p) => p.startsWith(`${ns.label}:`))) result.traces.set(ns, { events: [] })

    const sender = await from.spawn(probeCommand(probe, waitMs))
    const stopped = await Promise.race([sender.exited.then(() => false), dropSeen(monitors, probe, table, sender)])
    const done = stopped ? await sender.stop({ graceMs: 200 }) : await sender.exited
    const a = answered(probe, done.exitCode, done.stdout)
    result.answered = a.answered
    result.answer = stopped ? 'dropped on the way (probe stopped)' : a.what
    if (!a.answered && !stopped && done.stderr.trim() !== '') result.answer = `${a.what}: ${done.stderr.trim().split('\n').pop()}`

    // Every trace event sent before this ruleset change has been printed once the monitor prints the change.
    await settle(result, [...result.traces.keys()], (ns) => sync(ns, monitors.get(ns)!, table, 'flush'))
    for (const ns of result.traces.keys()) {
      const mon = monitors.get(ns)!
      const events = parseTraceLines(mon.stdout())
      const fates = probePackets(events, table, probe).map(fateOf)
      result.traces.set(ns, { events, fate: fates.find((f) => f.dropped !== undefined) ?? fates[0] })
    }
  } finally {
    await Promise.all(
      tables.map(async (ns) => {
        const r = await ns.exec(['nft', 'delete', 'table', 'inet', table]).catch((e: Error) => ({ exitCode: 1, stderr: e.message }))
        if (r.exitCode !== 0 && !/No such file or directory/.test(r.stderr)) result.problems.push(`could not remove trace table ${table} in ${ns.label}: ${r.stderr.trim()}`)
      }),
    )
    await Promise.all([...monitors.values()].map((m) => m.stop({ graceMs: 500 })))
  }
  return result
}

/** Runs `step` in each namespace concurrently; a failure becomes a problem ("gw: …") and drops that namespace's trace. */
async function settle(result: ProbeTrace, namespaces: readonly Namespace[], step: (ns: Namespace) => Promise<void>): Promise<void> {
  const outcomes = await Promise.allSettled(namespaces.map(step))
  outcomes.forEach((o, i) => {
    if (o.status === 'fulfilled') return
    const ns = namespaces[i]!
    result.traces.delete(ns)
    const why = o.reason instanceof Error ? ((o.reason as { shortMessage?: string }).shortMessage ?? o.reason.message) : String(o.reason)
    result.problems.push(`${ns.label}: no nftables trace (${why.split('\n')[0]})`)
  })
}

function tableText(table: string, match: string): string {
  return [
    `table inet ${table} {`,
    `  chain pre { type filter hook prerouting priority raw - 1; policy accept; ${match} meta nftrace set 1; }`,
    `  chain out { type filter hook output priority raw - 1; policy accept; ${match} meta nftrace set 1; }`,
    `}`,
    '',
  ].join('\n')
}

/**
 * Waits until the monitor prints a ruleset change made after this call: then it is subscribed (readiness)
 * and has printed every event sent before (flush). A monitor may subscribe after the first change, so retry.
 */
async function sync(ns: Namespace, mon: SpawnedProcess, table: string, tag: string): Promise<void> {
  const deadline = performance.now() + 5000
  for (let k = 0; ; k++) {
    const chain = `${tag}${k}`
    await ns.exec(['nft', '-f', '-'], { input: `add chain inet ${table} ${chain}\ndelete chain inet ${table} ${chain}\n`, check: true })
    try {
      await mon.waitForOutput(new RegExp(`chain inet ${table} ${chain}\\b`), { timeoutMs: SYNC_STEP_MS, stream: 'stdout' })
      return
    } catch (e) {
      if (!mon.running || performance.now() > deadline) throw e
    }
  }
}

/** Resolves true as soon as a monitor shows the probe dropped (no use waiting for its timeout), false when the sender exits. */
async function dropSeen(monitors: Map<Namespace, SpawnedProcess>, probe: Probe, table: string, sender: SpawnedProcess): Promise<boolean> {
  while (sender.running) {
    for (const mon of monitors.values()) {
      if (probePackets(parseTraceLines(mon.stdout()), table, probe).some((p) => fateOf(p).dropped !== undefined)) return true
    }
    await delay(20)
  }
  return false
}

/** The probe's own packets among a namespace's trace events. */
function probePackets(events: readonly TraceEvent[], table: string, probe: Probe): TracedPacket[] {
  return tracedPackets(events, table).filter((p) => p.marked && isProbePacket(probe, p.fields))
}
