// reachable()'s use of the drop watcher: while a check probes, drops of its own packets in the lab's namespaces
// are seen, and the first one the kernel gives a path-relevant reason for decides the check at once, with the
// kernel's reason as evidence. Only a drop proven to be this check's packet counts: an ICMP echo by its id and
// sequence (in-process probes), else by addresses, protocol and port.
import { setTimeout as delay } from 'node:timers/promises'
import type { Target } from '../assert/target.js'
import { readFileSync } from 'node:fs'
import { withNamespace } from '../kernel/setns.js'
import type { LabInternals } from '../lab/lab.js'
import type { Namespace } from '../lab/namespace.js'
import type { DroppedPacket } from './program.js'
import { isDecisive, phraseFor } from './reasons.js'
import { dropWatcher, startedDropWatcher, type DropEvent, type DropWatcher } from './watcher.js'
import { parseRuleTexts, readRuleset, type NftDropRule, type NftRuleset } from '../kernel/nft.js'

/** A kernel drop of the check's own packet, as evidence. */
export interface DropEvidence {
  /** Label of the lab namespace where the kernel dropped it. */
  namespace: string
  /** enum skb_drop_reason name, e.g. 'IP_RPFILTER', 'NETFILTER_DROP', 'NEIGH_FAILED'. */
  reason: string
  /** The kernel function that dropped it, e.g. 'ip_rcv_finish_core'. */
  function: string
  /** The probe itself ('request') or the answer to it ('reply'). */
  direction: 'request' | 'reply'
  /** NETFILTER_DROP: the nftables rule (or chain policy) whose counter moved, as nft prints it. */
  rule?: string
  packet?: DroppedPacket
  /** Milliseconds from the start of the check until the drop was seen. */
  afterMs?: number
}

export type Decided = {
  verdict: 'dropped' | 'filtered' | 'unresolved'
  detail: string
  drop: DropEvidence
  /** 'filtered' only: the rule as reachable() names moved counters ("in fw: chain inet fw forward: rule #7 drop (…)"). */
  filters?: string[]
}

export interface ProbeDrops {
  /**
   * The probe's own outcome, or the first decisive drop of this check's packets seen before it. An outcome for
   * which `evidenceDue` holds waits up to 50 ms more for the drop that explains it: the kernel sends a failed
   * neighbour's "host unreachable" to the local socket just before it frees the queued packet (NEIGH_FAILED).
   * The other way round, a drop the kernel answers with an ICMP error (a router's "Frag needed" for PKT_TOO_BIG,
   * "net unreachable" for IP_INNOROUTES) waits up to 50 ms for the probe: an outcome for which `answered` holds
   * (the router's error reached the sender) is the better verdict, naming the router and what it said.
   */
  race<T>(
    probe: Promise<T>,
    evidenceDue?: (outcome: T) => boolean,
    answered?: (outcome: T) => boolean,
  ): Promise<T | { drop: DropEvent; direction: 'request' | 'reply' }>
  /** The verdict for a drop; `reprobe` sends one more probe (to see which nftables rule counts it). */
  decide(d: { drop: DropEvent; direction: 'request' | 'reply' }, reprobe: () => Promise<unknown>): Promise<Decided>
  close(): void
}

/** Drop reasons the kernel answers with an ICMP error to the sender as it drops (see race()). */
const ANSWERED_BY_ICMP = new Set(['PKT_TOO_BIG', 'IP_INNOROUTES'])

const labsWatched = new WeakMap<LabInternals, Set<string>>()

/** Watches every namespace of the lab (idempotent); the fds are released when the lab is torn down. */
export function watchLab(w: DropWatcher, lab: LabInternals): void {
  let names = labsWatched.get(lab)
  if (names === undefined) {
    const mine = (names = new Set<string>())
    labsWatched.set(lab, mine)
    lab.defer(() => {
      for (const n of mine) w.unwatch(n)
      mine.clear()
    }, 'releasing the drop watcher’s namespace fds')
  }
  for (const ns of lab.namespaces) {
    if (names.has(ns.name)) continue
    if (w.watch(ns.name) !== undefined) names.add(ns.name)
  }
}

/**
 * The drop watch of one reachable() check, or undefined where drop reasons are off (no bpftrace, container
 * executor, NETSPEC_DROPS=off, …): then the check decides as it always did. A check expecting failure waits for
 * the watcher to attach (once per process, ~1 s); any other check uses it only once it runs. `source` is the
 * address the kernel chose for the probe (the route's prefsrc): where no echo id ties a drop to the probe, the
 * drop's addresses must be the probe's own (a translated packet, after NAT, is not claimed: decided as before).
 */
export async function watchDrops(from: Namespace, t: Target, expectFailure: boolean, source?: string): Promise<ProbeDrops | undefined> {
  const lab = from.lab
  if (lab.executor.kind !== 'local') return undefined
  // A check that expects to pass starts no watcher of its own at once: most are answered within milliseconds and
  // never need one (bpftrace's start costs ~1 s of CPU). One still unanswered after START_AFTER_MS starts it then
  // (it takes ~1 s to attach either way), and uses it once it runs.
  let w = startedDropWatcher()
  if (w === undefined && !expectFailure) return deferred(from, t, source)
  w ??= dropWatcher()
  if (w === undefined) return undefined
  if (expectFailure && w.startupMs === undefined) await w.ready
  if (w.failure !== undefined) return undefined
  return attach(w, from, t, source)
}

/** How long a check expecting to pass runs before it starts the process's drop watcher. */
export const START_AFTER_MS = 100

function deferred(from: Namespace, t: Target, source?: string): ProbeDrops {
  let attached: ProbeDrops | undefined
  let closed = false
  const timer = setTimeout(() => {
    if (closed) return
    try {
      from.lab.assertAlive(from) // a check ended by teardown (it rejects, nobody closes this): start nothing
      const w = dropWatcher()
      if (w !== undefined && w.failure === undefined) attached = attach(w, from, t, source)
    } catch {
      // The lab was torn down while the check was still running (its test ended): nothing left to watch, and
      // the check itself reports the teardown.
    }
  }, START_AFTER_MS)
  timer.unref()
  return {
    race(probe, evidenceDue, answered) {
      if (attached !== undefined) return attached.race(probe, evidenceDue, answered)
      // No watcher yet: the probe decides, as it does where drop reasons are off.
      return probe
    },
    decide(hit, reprobe) {
      return attached!.decide(hit, reprobe)
    },
    close() {
      closed = true
      clearTimeout(timer)
      attached?.close()
    },
  }
}

function attach(w: DropWatcher, from: Namespace, t: Target, source?: string): ProbeDrops {
  const lab = from.lab
  watchLab(w, lab)
  const started = performance.now()

  const ids = new Set<number>()
  const onSend = (netns: string, address: string, id: number, seq: number) => {
    if (netns === from.name && address === t.address) ids.add(id * 65536 + seq)
  }
  const icmp = lab.netlink?.icmp
  icmp?.sendListeners.add(onSend)

  const ours = (address: string) => source === undefined || address === source
  const direction = (p: DroppedPacket): 'request' | 'reply' | undefined => {
    if (p.family !== t.family) return undefined
    if (t.proto === 'icmp') {
      if (p.proto !== 'icmp' || p.id === undefined) return undefined
      const req = p.icmpType === (t.family === 4 ? 8 : 128)
      const rep = p.icmpType === (t.family === 4 ? 0 : 129)
      if (icmp !== undefined) {
        if (!ids.has(p.id * 65536 + p.seq!)) return undefined
        return req ? 'request' : rep ? 'reply' : undefined
      }
      return req && p.dst === t.address && ours(p.src) ? 'request' : rep && p.src === t.address && ours(p.dst) ? 'reply' : undefined
    }
    if (p.proto !== t.proto) return undefined
    if (p.dst === t.address && p.dport === t.port && ours(p.src)) return 'request'
    if (p.src === t.address && p.sport === t.port && ours(p.dst)) return 'reply'
    return undefined
  }

  const seen: { drop: DropEvent; direction: 'request' | 'reply' }[] = []
  const waiting = new Set<(d: { drop: DropEvent; direction: 'request' | 'reply' }) => void>()
  const unsubscribe = w.subscribe((d) => {
    if (d.packet === undefined || !isDecisive(d.reason)) return
    const dir = direction(d.packet)
    if (dir === undefined) return
    const hit = { drop: d, direction: dir }
    seen.push(hit)
    for (const fn of waiting) fn(hit)
    waiting.clear()
  })
  const next = (after: number) =>
    new Promise<{ drop: DropEvent; direction: 'request' | 'reply' }>((resolve) => {
      const ready = seen.find((s) => s.drop.at > after)
      if (ready !== undefined) resolve(ready)
      else waiting.add(resolve)
    })

  return {
    async race<T>(probe: Promise<T>, evidenceDue?: (outcome: T) => boolean, answered?: (outcome: T) => boolean) {
      probe.catch(() => {}) // a drop may win; the probe's own end (even a teardown) is then nobody's business
      const answerWins = async (hit: { drop: DropEvent; direction: 'request' | 'reply' }) => {
        if (answered === undefined || !ANSWERED_BY_ICMP.has(hit.drop.reason)) return hit
        const late = await Promise.race([probe.then((outcome) => ({ outcome }), () => undefined), delay(50)])
        return late !== undefined && answered(late.outcome) ? late.outcome : hit
      }
      if (seen.length > 0) return answerWins(seen[0]!)
      const first = await Promise.race([probe.then((outcome) => ({ outcome })), next(-Infinity)])
      if (!('outcome' in first)) return answerWins(first)
      if (evidenceDue?.(first.outcome) !== true) return first.outcome
      // Silence: a drop of the probe may still be on its way (bpftrace reads its buffers on a timer, later on a
      // loaded machine): wait as long as drops take to arrive now, at least 50 ms, at most 1 s.
      return (await Promise.race([next(-Infinity), delay(Math.min(1000, Math.max(50, 1.5 * w.deliveryMs + 20)))])) ?? first.outcome
    },
    async decide(hit, reprobe) {
      const d = hit.drop
      const ns = lab.namespaces.find((n) => n.name === d.netns)
      const label = ns?.label ?? d.netns
      const drop: DropEvidence = { namespace: label, reason: d.reason, function: d.function, direction: hit.direction, packet: d.packet, afterMs: d.at - started }
      const where = `${hit.direction === 'reply' ? `the reply from ${t.address} was dropped` : 'dropped'} in ${label}`
      if (d.reason === 'NETFILTER_DROP' && ns !== undefined) {
        const found = await ruleOf(ns, () => next(d.at), reprobe)
        if (found !== undefined) drop.rule = found.text
        return {
          verdict: 'filtered',
          detail: found === undefined ? `${where} by netfilter (NETFILTER_DROP in ${d.function})` : `${where} by nftables: ${found.text}`,
          drop,
          filters: found === undefined ? undefined : [`in ${label}: ${found.counted}`],
        }
      }
      const forwarding =
        ns !== undefined && (d.reason === 'IP_INADDRERRORS' || d.reason === 'IP_INNOROUTES')
          ? await readSysctl(ns, t.family === 4 ? 'net.ipv4.ip_forward' : 'net.ipv6.conf.all.forwarding')
          : undefined
      const detail = `${where} by the kernel: ${phraseFor(d.reason, d.function, forwarding)} (${d.reason} in ${d.function})`
      return { verdict: d.reason.startsWith('NEIGH_') ? 'unresolved' : 'dropped', detail, drop }
    },
    close() {
      unsubscribe()
      icmp?.sendListeners.delete(onSend)
      waiting.clear()
    },
  }
}

/** A sysctl of the namespace: read in-process where the lab enters namespaces itself (~0.05 ms), else by `cat`. */
export async function readSysctl(ns: Namespace, key: string): Promise<string | undefined> {
  const path = `/proc/sys/${key.replace(/\./g, '/')}`
  if (ns.lab.netlink !== undefined) {
    try {
      return withNamespace(ns.name, () => readFileSync(path, 'utf8')).trim()
    } catch {
      // fall back to the process path
    }
  }
  return ns.sysctlGet(key).catch(() => undefined)
}

/** The rule as nft prints it (from `nft -a list ruleset`), without its counter values and handle comment. */
export function ruleLine(listing: string, rule: { family: string; table: string; chain: string; handle: number }): string | undefined {
  return parseRuleTexts(listing).get(`${rule.family} ${rule.table} ${rule.chain} ${rule.handle}`)?.replace(/counter packets \d+ bytes \d+/, 'counter')
}

/**
 * Which nftables rule of `ns` dropped the probe. The kernel said netfilter dropped it there, so where the ruleset has
 * exactly one thing that can drop (every drop/reject rule has a counter and no chain has policy drop) and only one
 * counter is non-zero, that rule did it: one reading. Otherwise, as reachable() always did: the ruleset is read, one
 * more probe goes out, and once the kernel has dropped it too the ruleset is read again; the rule whose counter
 * moved is named. Without a moving counter: the one hooked chain with policy drop, if there is exactly one and no
 * rule without a counter could have dropped it instead (a rule's presence is no evidence: nothing, then). Rulesets
 * are read as explain() and reachable() read them (kernel/nft.ts: verdicts and counters from `nft -j`, never from a
 * rule's words, which a comment can fake); the named rule's text comes from one `nft -a list ruleset`.
 */
async function ruleOf(ns: Namespace, nextDrop: () => Promise<unknown>, reprobe: () => Promise<unknown>): Promise<{ text: string; counted: string } | undefined> {
  const exec = ns.lab.executor
  const before = await readRuleset(exec, ns.name)
  if (before === undefined) return undefined
  const named = async (rule: NftDropRule, during: string) => {
    const listing = await exec.run(['nft', '-a', 'list', 'ruleset'], { netns: ns.name }).catch(() => undefined)
    const text = listing?.exitCode === 0 ? ruleLine(listing.stdout, rule) : undefined
    return {
      text: `${rule.family} ${rule.table} ${rule.chain}, rule '${text ?? `${rule.verdict}`}' (handle ${rule.handle})`,
      counted: `chain ${rule.family} ${rule.table} ${rule.chain}: rule #${rule.handle} ${rule.verdict} (${rule.packets} packets counted, ${during})`,
    }
  }
  const policyDrops = (rs: NftRuleset) => rs.chains.filter((c) => c.hook !== undefined && c.policy === 'drop')
  const counting = before.drops.filter((r) => (r.packets ?? 0) > 0)
  if (policyDrops(before).length === 0 && before.drops.every((r) => r.packets !== undefined) && counting.length === 1) {
    return named(counting[0]!, 'the only drop rule here that counted any')
  }
  const dropped = nextDrop()
  reprobe().catch(() => {})
  await Promise.race([dropped, delay(300)])
  const after = await readRuleset(exec, ns.name)
  if (after === undefined) return undefined
  const same = (a: NftDropRule, b: NftDropRule) => a.family === b.family && a.table === b.table && a.chain === b.chain && a.handle === b.handle
  for (const rule of after.drops) {
    if (rule.packets === undefined) continue
    const prev = before.drops.find((x) => same(x, rule))?.packets ?? 0
    if (rule.packets > prev) return named(rule, `${rule.packets - prev} during this check`)
  }
  const drops = policyDrops(after)
  if (drops.length !== 1 || after.drops.some((r) => r.packets === undefined)) return undefined
  const c = drops[0]!
  return { text: `${c.family} ${c.table} ${c.name}, policy drop (hook ${c.hook})`, counted: `chain ${c.family} ${c.table} ${c.name}: policy drop (hook ${c.hook})` }
}
