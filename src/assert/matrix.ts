// lab.reachability(): every ordered pair of hosts probed (ICMP by default) with bounded concurrency,
// as a matrix that can be compared with an expected one, printing only the cells that differ.
import { invalidInput } from '../errors.js'
import type { Namespace } from '../lab/namespace.js'
import { checkKeys, parseAddress } from '../lab/validate.js'
import { reachable, type Reachability } from './reachable.js'

/** A host of the matrix: a namespace and the address others aim at (e.g. `[ns2, '10.0.0.2']`). */
export type MatrixHost = readonly [Namespace, string]

export interface MatrixOptions {
  /** Probes in flight at once (default 4). */
  concurrency?: number
  /** Per-probe deadline (default 1 s: a matrix usually holds expected failures). */
  timeoutMs?: number
}

export interface ReachabilityMatrix {
  /** Host labels in order. */
  hosts: string[]
  /** cells[from][to] = the probe's result (no cell for a host to itself). */
  cells: Record<string, Record<string, Reachability>>
  /** 'from → to' for every pair that replied, e.g. 'ns1 → ns2'. */
  reached(): string[]
  /** Cells whose outcome differs from `expected` (pairs listed there must reply, every other pair must not). */
  diff(expected: readonly (readonly [string, string])[]): string[]
  /** The matrix as text: ✓ replied, otherwise the verdict's first letters. */
  table(): string
}

export async function reachability(hosts: readonly MatrixHost[], options: MatrixOptions = {}): Promise<ReachabilityMatrix> {
  checkKeys(options, ['concurrency', 'timeoutMs'], 'reachability')
  if (hosts.length < 2) throw invalidInput('reachability needs at least two hosts: [[ns, address], …]')
  const labels = hosts.map(([ns]) => ns.label)
  if (new Set(labels).size !== labels.length) throw invalidInput(`reachability: a namespace is listed twice (${labels.join(', ')})`)
  for (const [, a] of hosts) parseAddress(a)
  const limit = options.concurrency ?? 4
  if (!Number.isInteger(limit) || limit < 1) throw invalidInput('reachability: concurrency must be a whole number ≥ 1')
  const pairs = hosts.flatMap((a) => hosts.filter((b) => b !== a).map((b) => [a, b] as const))
  const cells: ReachabilityMatrix['cells'] = Object.fromEntries(labels.map((l) => [l, {}]))
  let next = 0
  // Bounded concurrency: `limit` workers pull pairs until none are left.
  await Promise.all(
    Array.from({ length: Math.min(limit, pairs.length) }, async () => {
      while (next < pairs.length) {
        const [[from], [to, address]] = pairs[next++]!
        cells[from.label]![to.label] = await reachable(from, address, { timeoutMs: options.timeoutMs ?? 1000 })
      }
    }),
  )
  const reached = () => pairs.filter(([[a], [b]]) => cells[a.label]![b.label]!.ok).map(([[a], [b]]) => `${a.label} → ${b.label}`)
  return {
    hosts: labels,
    cells,
    reached,
    diff(expected) {
      for (const [a, b] of expected)
        if (!labels.includes(a) || !labels.includes(b)) throw invalidInput(`reachability: expected pair ${a} → ${b} names a host not in the matrix (${labels.join(', ')})`)
      const want = new Set(expected.map(([a, b]) => `${a} → ${b}`))
      const out: string[] = []
      for (const [[a], [b]] of pairs) {
        const c = cells[a.label]![b.label]!
        const key = `${a.label} → ${b.label}`
        if (want.has(key) && !c.ok) out.push(`${key}: expected to reply, got ${c.verdict} (${c.detail})`)
        if (!want.has(key) && c.ok) out.push(`${key}: expected no answer, but it replied`)
      }
      return out
    },
    table() {
      const w = Math.max(...labels.map((l) => l.length), 9)
      const head = `${' '.repeat(w)} | ${labels.map((l) => l.padEnd(w)).join(' | ')}`
      const rows = labels.map(
        (a) => `${a.padEnd(w)} | ${labels.map((b) => (a === b ? '-' : cells[a]![b]!.ok ? '✓' : cells[a]![b]!.verdict).padEnd(w)).join(' | ')}`,
      )
      return [head, ...rows].join('\n')
    },
  }
}
