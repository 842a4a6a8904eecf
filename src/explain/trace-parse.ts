// The text of `nft monitor` trace events, parsed (nft 1.0.x prints trace events as text even with -j), and
// what they say about one packet in one namespace: which chain dropped it, by which rule, or that it passed.
// Line shapes (nftables src/trace.c, netlink_events_trace_cb):
//   trace id 1e09bf26 ip filter input packet: iif "lo" ip saddr 127.0.0.1 … icmp id 4242 …
//   trace id 1e09bf26 ip filter input rule icmp type echo-request counter packets 0 bytes 0 drop comment "x" # handle 2 (verdict drop)
//   trace id a42be464 inet t out unknown rule handle 8 (verdict continue)    (a rule added after the monitor started)
//   trace id a3c68c6f inet filter in2 policy drop
//   trace id a3c68c6f inet filter sub verdict return

export interface TraceEvent {
  /** The kernel's trace id (per packet and namespace; may be reused by a later packet). */
  id: string
  family: string
  table: string
  chain: string
  kind: 'packet' | 'conntrack' | 'rule' | 'policy' | 'return'
  /** `packet`: the header fields as nft prints them; `conntrack`: the ct fields. */
  fields?: string
  /** `rule`: the rule as nft prints it, without its handle and with counters shown bare ("counter"). */
  rule?: string
  handle?: number
  /** `rule`, `return`: accept, drop, continue, jump X, goto X, return, queue …; `policy`: accept or drop. */
  verdict?: string
  /** The line as printed. */
  line: string
}

const HEADER = /^trace id ([0-9a-f]+) (\S+) (\S+) (\S+) (.*)$/

/** Every trace event in `text` (other monitor lines, e.g. "add table …", are skipped). */
export function parseTraceLines(text: string): TraceEvent[] {
  const out: TraceEvent[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd()
    const m = HEADER.exec(line)
    if (m === null) continue
    const [, id, family, table, chain, rest] = m as unknown as [string, string, string, string, string, string]
    const base = { id, family, table, chain, line }
    if (rest.startsWith('packet: ')) out.push({ ...base, kind: 'packet', fields: rest.slice(8).trim() })
    else if (rest.startsWith('conntrack: ')) out.push({ ...base, kind: 'conntrack', fields: rest.slice(11).trim() })
    else if (/^policy \S+/.test(rest)) out.push({ ...base, kind: 'policy', verdict: rest.split(' ')[1] })
    else if (/^verdict \S+/.test(rest)) out.push({ ...base, kind: 'return', verdict: rest.replace(/^verdict /, '').replace(/ meta mark \S+$/, '').trim() })
    else {
      const r = /^(.*) \(verdict (.+)\)$/.exec(rest)
      if (r === null) continue
      const [, body, verdict] = r as unknown as [string, string, string]
      const unknown = /^unknown rule handle (\d+)$/.exec(body)
      if (unknown !== null) {
        out.push({ ...base, kind: 'rule', handle: Number(unknown[1]), verdict })
        continue
      }
      const handle = / # handle (\d+)$/.exec(body)
      const text = body.replace(/ # handle \d+$/, '').replace(/^rule /, '').replace(/ counter packets \d+ bytes \d+/g, ' counter')
      out.push({ ...base, kind: 'rule', rule: text, handle: handle === null ? undefined : Number(handle[1]), verdict })
    }
  }
  return out
}

/** One packet's way through one namespace: from its first event in the trace table to the next packet there. */
export interface TracedPacket {
  id: string
  /** Marked by the trace table (its chain was the first to see it), not by someone else's `meta nftrace set 1`. */
  marked: boolean
  /** The header fields of its first `packet:` event. */
  fields: string
  events: TraceEvent[]
}

/**
 * Splits the events into packets. The trace table's own chain is the first a probe meets in a namespace, so a
 * `packet:` event there starts a new packet, even when the kernel reuses an earlier packet's trace id.
 */
export function tracedPackets(events: readonly TraceEvent[], traceTable: string): TracedPacket[] {
  const open = new Map<string, TracedPacket>()
  const all: TracedPacket[] = []
  for (const e of events) {
    if (e.kind === 'packet' && e.table === traceTable) {
      const p = { id: e.id, marked: true, fields: e.fields ?? '', events: [] }
      open.set(e.id, p)
      all.push(p)
      continue
    }
    if (e.table === traceTable) continue // our own chain's "meta nftrace set 1" and policy accept
    let p = open.get(e.id)
    if (p === undefined) {
      // Traced by someone else's rule (the user's own nftrace): not ours to judge, but keep it whole.
      p = { id: e.id, marked: false, fields: e.fields ?? '', events: [] }
      open.set(e.id, p)
      all.push(p)
    }
    p.events.push(e)
  }
  return all
}

export interface NetfilterStop {
  family: string
  table: string
  chain: string
  /** The base chain the packet was in when it was dropped (differs from `chain` after a jump). */
  baseChain: string
  /** Dropped by this rule (text and handle), or else by the chain's policy. */
  rule?: string
  handle?: number
  policy: boolean
  /** The rule rejects (an ICMP error or TCP reset goes back) rather than silently dropping. */
  reject: boolean
}

export interface NetfilterFate {
  /** Chains (family table name) that saw the packet, in order. */
  chains: string[]
  dropped?: NetfilterStop
  /** The last accepting decision (a rule's accept or a policy accept), for the record. */
  accepted?: string
}

/** What the nftables of one namespace did with one packet. */
export function fateOf(packet: TracedPacket): NetfilterFate {
  const chains: string[] = []
  let base = ''
  let accepted: string | undefined
  for (const e of packet.events) {
    const name = `${e.family} ${e.table} ${e.chain}`
    if (e.kind === 'packet') {
      base = e.chain
      if (!chains.includes(name)) chains.push(name)
      continue
    }
    if (e.kind === 'policy' && e.verdict === 'drop') {
      return { chains, dropped: { family: e.family, table: e.table, chain: e.chain, baseChain: base || e.chain, policy: true, reject: false } }
    }
    if (e.kind === 'rule' && e.verdict === 'drop') {
      return {
        chains,
        dropped: {
          family: e.family,
          table: e.table,
          chain: e.chain,
          baseChain: base || e.chain,
          rule: e.rule,
          handle: e.handle,
          policy: false,
          reject: e.rule !== undefined && /(^|\s)reject(\s|$)/.test(e.rule),
        },
      }
    }
    if (e.kind === 'policy' && e.verdict === 'accept') accepted = `chain ${name}, policy accept`
    if (e.kind === 'rule' && e.verdict === 'accept') accepted = `chain ${name}, ${ruleName(e.rule, e.handle)}`
  }
  return { chains, accepted }
}

/** "rule 'ip saddr 10.0.1.0/24 drop' (handle 7)", or "rule handle 7" when nft could not print it. */
export function ruleName(rule: string | undefined, handle: number | undefined): string {
  const h = handle === undefined ? '' : ` (handle ${handle})`
  return rule === undefined ? `rule handle ${handle ?? '?'}` : `rule '${rule}'${h}`
}

/** "chain inet filter forward, policy drop" / "chain inet filter sub (from input), rule '…' (handle 7)". */
export function describeStop(s: NetfilterStop): string {
  const via = s.baseChain !== s.chain ? ` (from ${s.baseChain})` : ''
  return `chain ${s.family} ${s.table} ${s.chain}${via}, ${s.policy ? 'policy drop' : ruleName(s.rule, s.handle)}`
}
