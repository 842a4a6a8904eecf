// `{ within: ms }` for the matchers a spec waits on (a routing daemon converging, a route withdrawn, a server
// coming up): the check is repeated with bounded backoff until it gives the expected answer or the deadline
// passes, and the timeout message says what was last seen and what the namespace's daemons last printed.
import { invalidInput } from '../errors.js'
import type { Namespace } from '../lab/namespace.js'
import { describeProcessesIn } from '../lab/processes.js'

export interface WithinOptions {
  /** Keep checking for up to this many milliseconds until the expectation holds (convergence). */
  within?: number
}

const MAX_WITHIN_MS = 600_000

/** The `within` of a matcher's options, validated; undefined when not given (check once). */
export function withinOf(options: unknown, matcher: string): number | undefined {
  if (options === undefined || options === null) return undefined
  if (typeof options !== 'object') throw invalidInput(`${matcher}: expected options like { within: 20_000 }, got ${String(options)}`)
  const within = (options as WithinOptions).within
  if (within === undefined) return undefined
  if (typeof within !== 'number' || !Number.isFinite(within) || within <= 0 || within > MAX_WITHIN_MS)
    throw invalidInput(`${matcher}: 'within' must be a number of milliseconds from 1 to ${MAX_WITHIN_MS}, got ${String(within)}`, {
      hint: 'e.g. { within: 20_000 } to wait up to 20 s for a routing daemon to converge',
    })
  return within
}

/** `options` without `within`, for the assertion function underneath (which refuses unknown keys). */
export function withoutWithin<T extends object>(options: (T & WithinOptions) | undefined): T | undefined {
  if (options === undefined) return undefined
  const { within: _, ...rest } = options
  return rest as T
}

export interface Polled<T> {
  /** The last answer. */
  result: T
  attempts: number
  elapsedMs: number
  /** The deadline passed without the expected answer. */
  timedOut: boolean
}

/**
 * Runs `attempt` until `pass` equals `want` (true for `expect(x).toY`, false for `.not.toY`) or `withinMs` has
 * passed; once when `withinMs` is undefined. Waits 50 ms, then ×1.5 up to 1 s between attempts, never past the deadline.
 */
export async function pollWithin<T extends { pass: boolean }>(withinMs: number | undefined, want: boolean, attempt: () => Promise<T>): Promise<Polled<T>> {
  const t0 = performance.now()
  const deadline = t0 + (withinMs ?? 0)
  let delay = 50
  let attempts = 0
  for (;;) {
    const result = await attempt()
    attempts += 1
    const elapsedMs = performance.now() - t0
    if (result.pass === want) return { result, attempts, elapsedMs, timedOut: false }
    const left = deadline - performance.now()
    if (withinMs === undefined || left <= 0) return { result, attempts, elapsedMs, timedOut: withinMs !== undefined }
    await new Promise((r) => setTimeout(r, Math.min(delay, left)))
    delay = Math.min(delay * 1.5, 1000)
  }
}

/** The lines added to a message when a `within` wait ran out: how long, how often, and the daemons' last words. */
export function withinNote(p: Polled<unknown>, withinMs: number | undefined, ns?: Namespace): string {
  if (!p.timedOut || withinMs === undefined) return ''
  const head = `\n  (still so after ${withinMs} ms: checked ${p.attempts} time${p.attempts === 1 ? '' : 's'}; the above is the last answer)`
  if (ns === undefined) return head
  // The namespace's own daemons; if it has none (a DNS client), the lab's (its server is elsewhere).
  const own = describeProcessesIn(ns)
  const procs = own !== '' ? own : describeProcessesIn(ns.lab)
  const title = own !== '' ? `processes in ${ns.label}` : 'processes of the lab'
  return procs === '' ? head : `${head}\n  ${title}:\n${procs.split('\n').map((l) => `    ${l}`).join('\n')}`
}
