// Asserting on the kernel's drop of a probe: `isDropped(h1, '10.0.2.1', { droppedIn: gw, reason: 'IP_RPFILTER' })`
// and the matcher form `await expect(h1).not.toReach('10.0.2.1', { droppedIn: gw, reason: 'IP_RPFILTER' })`.
import { reachable, type Reachability } from '../assert/reachable.js'
import type { TargetObject } from '../assert/target.js'
import { checkKeys } from '../lab/validate.js'
import type { Namespace } from '../lab/namespace.js'
import { dropsSupport, dropWatcher, type DropsSupport } from './watcher.js'

/** Reasons seen in labs (any name the running kernel has is accepted). */
export type DropReason =
  | 'IP_RPFILTER'
  | 'IP_INADDRERRORS'
  | 'IP_INNOROUTES'
  | 'NETFILTER_DROP'
  | 'NEIGH_FAILED'
  | 'PKT_TOO_BIG'
  | 'QDISC_DROP'
  | 'TC_EGRESS'
  | 'TC_INGRESS'
  | (string & {})

export interface DropExpectation {
  /** The lab namespace the kernel must have dropped the probe (or its reply) in. */
  droppedIn?: Namespace
  /** The kernel's drop reason, e.g. 'IP_RPFILTER' (enum skb_drop_reason without the SKB_DROP_REASON_ prefix). */
  reason?: DropReason
  /** How long to wait for the drop (default 500 ms, as any check expecting failure; NEIGH_FAILED needs ~3 s). */
  timeoutMs?: number
}

export interface DropCheck {
  /** The probe did not arrive, and the kernel dropped it where and why expected. */
  ok: boolean
  detail: string
  reachability: Reachability
}

/** Whether toReach's options ask about a drop. */
export function wantsDrop(options: object | undefined): boolean {
  return options !== undefined && ('droppedIn' in options || 'reason' in options)
}

/**
 * Whether drop reasons work here: the static checks (dropsSupport), then bpftrace started and attached (once per
 * process). Use it to skip a spec with the reason: `if (!(s = await dropsAvailable()).on) skip(s.why)`.
 */
export async function dropsAvailable(): Promise<DropsSupport> {
  const s = dropsSupport()
  if (!s.on) return s
  const w = dropWatcher()
  if (w === undefined || !(await w.ready)) return { on: false, why: `bpftrace could not attach to skb:kfree_skb: ${w?.failure ?? 'unknown'}`, fix: 'run `npx netspec doctor`' }
  return s
}

/** Sends a probe expecting it not to arrive, and checks where and why the kernel dropped it. */
export async function isDropped(from: Namespace, target: string | TargetObject, want: DropExpectation = {}): Promise<DropCheck> {
  checkKeys(want, ['droppedIn', 'reason', 'timeoutMs'], 'isDropped')
  const available = await dropsAvailable()
  const r = await reachable(from, target, { expectFailure: true, ...(want.timeoutMs === undefined ? {} : { timeoutMs: want.timeoutMs }) })
  const wanted = [want.droppedIn && `in ${want.droppedIn.label}`, want.reason].filter(Boolean).join(' with ')
  if (r.ok) return { ok: false, detail: `it arrived (${r.detail}); expected a drop${wanted ? ` ${wanted}` : ''}`, reachability: r }
  const d = r.evidence.drop
  if (d === undefined) {
    const off = available.on ? '' : `; drop reasons are off here: ${available.why}${available.fix ? ` (${available.fix})` : ''}`
    return { ok: false, detail: `no kernel drop of the probe was seen: ${r.verdict}: ${r.detail}${off}`, reachability: r }
  }
  const where = want.droppedIn === undefined || d.namespace === want.droppedIn.label
  const why = want.reason === undefined || d.reason === want.reason
  return { ok: where && why, detail: where && why ? r.detail : `${r.detail}; expected a drop ${wanted}`, reachability: r }
}
