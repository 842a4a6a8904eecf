// explain()'s use of the drop watcher: the traced probe (its own ICMP echo id, or TCP/UDP source port) is watched
// while it travels; a kernel drop of it is shown on the hop of the namespace that dropped it.
import type { Target } from '../assert/target.js'
import type { Namespace } from '../lab/namespace.js'
import { readSysctl, watchLab } from './probe-drops.js'
import type { DropEvidence } from './probe-drops.js'
import { isDecisive, phraseFor } from './reasons.js'
import { dropWatcher, type DropEvent } from './watcher.js'

export interface ProbeWatch {
  /** Stops watching; the decisive drops of the probe seen meanwhile, in order. */
  stop(): { drop: DropEvent; direction: 'request' | 'reply' }[]
}

/**
 * Watches the drops of explain()'s probe, identified by `marker` (ICMP echo id, or TCP/UDP source port). Uses the
 * watcher only if it runs already (explain() is diagnostic: it never waits ~1 s for bpftrace to start).
 */
export function watchTracedProbe(from: Namespace, t: Target, marker: number): ProbeWatch | undefined {
  if (from.lab.executor.kind !== 'local') return undefined
  const w = dropWatcher()
  if (w === undefined || w.startupMs === undefined || w.failure !== undefined) return undefined
  watchLab(w, from.lab)
  const seen: { drop: DropEvent; direction: 'request' | 'reply' }[] = []
  const unsubscribe = w.subscribe((d) => {
    const p = d.packet
    if (p === undefined || p.family !== t.family || !isDecisive(d.reason)) return
    let direction: 'request' | 'reply' | undefined
    if (t.proto === 'icmp') {
      if (p.proto === 'icmp' && p.id === marker) direction = p.icmpType === 8 || p.icmpType === 128 ? 'request' : p.icmpType === 0 || p.icmpType === 129 ? 'reply' : undefined
    } else if (p.proto === t.proto) direction = p.sport === marker ? 'request' : p.dport === marker ? 'reply' : undefined
    if (direction !== undefined) seen.push({ drop: d, direction })
  })
  return {
    stop() {
      unsubscribe()
      return seen
    },
  }
}

/** The hop's words for a kernel drop, and the evidence, e.g. "dropped by the kernel: reverse-path filter (IP_RPFILTER in ip_rcv_finish_core)". */
export async function describeDrop(
  ns: Namespace | undefined,
  t: Target,
  hit: { drop: DropEvent; direction: 'request' | 'reply' },
): Promise<{ words: string; verdict: string; evidence: DropEvidence }> {
  const d = hit.drop
  const forwarding =
    ns !== undefined && (d.reason === 'IP_INADDRERRORS' || d.reason === 'IP_INNOROUTES')
      ? await readSysctl(ns, t.family === 4 ? 'net.ipv4.ip_forward' : 'net.ipv6.conf.all.forwarding')
      : undefined
  const by = d.reason === 'NETFILTER_DROP' ? `by netfilter (${d.reason} in ${d.function})` : `by the kernel: ${phraseFor(d.reason, d.function, forwarding)} (${d.reason} in ${d.function})`
  const label = ns?.label ?? d.netns
  return {
    words: `${hit.direction === 'reply' ? 'the reply was ' : ''}dropped ${by}`,
    verdict: `${hit.direction === 'reply' ? 'the reply was ' : ''}dropped in ${label} ${by}`,
    evidence: { namespace: label, reason: d.reason, function: d.function, direction: hit.direction, packet: d.packet },
  }
}
