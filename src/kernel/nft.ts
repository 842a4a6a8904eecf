// nftables state read back as JSON (`nft -j list ruleset`): chains with their policy and the drop/reject
// rules with their counters: read before and after a probe, enough to say which rule dropped it.
import type { Executor } from '../exec/index.js'

export interface NftChain {
  family: string
  table: string
  name: string
  hook?: string
  policy?: string
}

export interface NftDropRule {
  family: string
  table: string
  chain: string
  handle: number
  verdict: 'drop' | 'reject'
  /** Packets counted, when the rule has a `counter`. */
  packets?: number
  /** The rule's `comment`, when it has one. */
  comment?: string
  /** The rule as `nft list ruleset` prints it (without `# handle`), when read with withRuleTexts(). */
  text?: string
}

export interface NftRuleset {
  chains: NftChain[]
  drops: NftDropRule[]
  /** The ruleset as nft prints it, for diagnostics. */
  json: unknown
}

type Json = Record<string, unknown>

export function parseRuleset(text: string): NftRuleset {
  const root = JSON.parse(text === '' ? '{"nftables":[]}' : text) as { nftables?: Json[] }
  const chains: NftChain[] = []
  const drops: NftDropRule[] = []
  for (const item of root.nftables ?? []) {
    const chain = item.chain as Json | undefined
    if (chain !== undefined) {
      chains.push({
        family: String(chain.family),
        table: String(chain.table),
        name: String(chain.name),
        hook: chain.hook as string | undefined,
        policy: chain.policy as string | undefined,
      })
    }
    const rule = item.rule as Json | undefined
    if (rule === undefined) continue
    const expr = (rule.expr ?? []) as Json[]
    const verdict = expr.some((e) => 'drop' in e) ? 'drop' : expr.some((e) => 'reject' in e) ? 'reject' : undefined
    if (verdict === undefined) continue
    const counter = expr.find((e) => 'counter' in e)?.counter as Json | undefined
    drops.push({
      family: String(rule.family),
      table: String(rule.table),
      chain: String(rule.chain),
      handle: Number(rule.handle),
      verdict,
      packets: typeof counter?.packets === 'number' ? counter.packets : undefined,
      comment: typeof rule.comment === 'string' ? rule.comment : undefined,
    })
  }
  return { chains, drops, json: root }
}

export async function readRuleset(exec: Executor, netns: string): Promise<NftRuleset | undefined> {
  const r = await exec.run(['nft', '-j', 'list', 'ruleset'], { netns }).catch(() => undefined)
  if (r === undefined || r.exitCode !== 0) return undefined
  return parseRuleset(r.stdout)
}

/**
 * Where a ruleset dropped traffic between two readings: drop/reject rules whose counters moved (a counter only
 * says what happened since the rule was added, so a stale count proves nothing). Where none moved, what may have:
 * rules without a counter and base chains with policy drop (nftables counts neither).
 */
export function dropsBetween(before: NftRuleset | undefined, after: NftRuleset): { moved: string[]; maybe: string[] } {
  const moved: string[] = []
  const maybe: string[] = []
  for (const d of after.drops) {
    // The rule quoted as nft prints it (its comment included), as explain() quotes the rule a trace ended in.
    const quoted = d.text !== undefined ? `: ${d.text}` : d.comment !== undefined ? ` (comment ${JSON.stringify(d.comment)})` : ''
    const where = `chain ${d.family} ${d.table} ${d.chain}: rule #${d.handle} ${d.verdict}${quoted}`
    if (d.packets === undefined) {
      maybe.push(`${where} (no counter)`)
      continue
    }
    const prev = before?.drops.find((x) => x.family === d.family && x.table === d.table && x.chain === d.chain && x.handle === d.handle)
    const delta = d.packets - (prev?.packets ?? 0)
    if (delta > 0) moved.push(`${where} (${d.packets} packets counted, ${delta} during this check)`)
  }
  for (const c of after.chains) if (c.policy === 'drop') maybe.push(`chain ${c.family} ${c.table} ${c.name}: policy drop (hook ${c.hook ?? '?'})`)
  return { moved, maybe }
}

/**
 * Rule texts from `nft -a list ruleset` (text), keyed `family table chain handle`: what the rule says, in nft's
 * own words, for quoting in a verdict. Lines are `table <family> <name> {`, `chain <name> {`, `<rule> # handle <n>`.
 */
export function parseRuleTexts(listing: string): Map<string, string> {
  const out = new Map<string, string>()
  let table: string | undefined
  let chain: string | undefined
  for (const raw of listing.split('\n')) {
    const line = raw.trim()
    const t = /^table (\S+) (\S+) \{/.exec(line)
    if (t !== null) {
      table = `${t[1]} ${t[2]}`
      chain = undefined
      continue
    }
    const c = /^chain (\S+) \{/.exec(line)
    if (c !== null) {
      chain = c[1]
      continue
    }
    const r = /^(.*\S)\s+# handle (\d+)$/.exec(line)
    if (r !== null && table !== undefined && chain !== undefined && !/^(chain|table|set|map|flowtable) /.test(line)) out.set(`${table} ${chain} ${r[2]}`, r[1]!)
  }
  return out
}

/** The ruleset with each drop/reject rule's text filled in (one more `nft -a list ruleset`, only when there are any). */
export async function withRuleTexts(exec: Executor, netns: string, rs: NftRuleset): Promise<NftRuleset> {
  if (rs.drops.length === 0) return rs
  const r = await exec.run(['nft', '-a', 'list', 'ruleset'], { netns }).catch(() => undefined)
  if (r === undefined || r.exitCode !== 0) return rs
  const texts = parseRuleTexts(r.stdout)
  return { ...rs, drops: rs.drops.map((d) => ({ ...d, text: texts.get(`${d.family} ${d.table} ${d.chain} ${d.handle}`) })) }
}
