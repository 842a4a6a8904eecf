// Policy routing rules read back from `ip -j rule` (both families) into typed records. No domain logic.
import { runChecked, type Executor } from '../exec/index.js'
import type { Family, Rule } from './types.js'

type Json = Record<string, unknown>

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined)
const hex = (v: unknown): number | undefined => (typeof v === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(v) ? Number(v) : num(v))

const ACTIONS = ['blackhole', 'unreachable', 'prohibit', 'goto', 'nop'] as const
/** Fields of `ip -j rule` this reader turns into Rule fields (the rest are kept by name in `other`). */
const KNOWN = new Set(['priority', 'src', 'srclen', 'dst', 'dstlen', 'iif', 'oif', 'fwmark', 'fwmask', 'not', 'action', 'table', 'flags', 'protocol', 'tos'])

/** A prefix as ip prints it in a rule ("all", or address + length) → 'all' or 'address/len'. */
function prefix(address: string | undefined, len: number | undefined, family: Family): string {
  if (address === undefined || address === 'all') return 'all'
  return `${address}/${len ?? (family === 4 ? 32 : 128)}`
}

export function parseRules(text: string, family: Family): Rule[] {
  const trimmed = text.trim()
  if (trimmed === '') return []
  const json = JSON.parse(trimmed) as unknown
  if (!Array.isArray(json)) return []
  return (json as Json[]).map((j) => {
    const action = ACTIONS.find((a) => a === str(j.action)) ?? 'lookup'
    const rule: Rule = {
      family,
      priority: num(j.priority) ?? 0,
      from: prefix(str(j.src), num(j.srclen), family),
      to: prefix(str(j.dst), num(j.dstlen), family),
      not: 'not' in j,
      action,
    }
    if (str(j.iif) !== undefined) rule.iif = str(j.iif)
    if (str(j.oif) !== undefined) rule.oif = str(j.oif)
    const mark = hex(j.fwmark)
    if (mark !== undefined) {
      rule.fwmark = mark
      rule.fwmask = hex(j.fwmask) ?? 0xffffffff
    }
    if (action === 'lookup') rule.table = str(j.table) ?? String(num(j.table) ?? 'main')
    const other = Object.keys(j).filter((k) => !KNOWN.has(k))
    if (other.length > 0) rule.other = other
    return rule
  })
}

export async function readRules(exec: Executor, netns: string): Promise<Rule[]> {
  const read = async (family: Family) => {
    const argv = ['ip', '-n', netns, '-j', family === 4 ? '-4' : '-6', 'rule', 'show']
    const r = await runChecked(exec, argv, {}, { netns, what: `reading IPv${family} rules failed` })
    return parseRules(r.stdout, family)
  }
  const [v4, v6] = await Promise.all([read(4), read(6)])
  return [...v4, ...v6]
}
