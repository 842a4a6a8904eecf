// explain(from, to): walks the path the kernel would take across the lab, asking each namespace its own
// `ip route get`, and says where and why a packet stops (no route, nobody owns the next hop, forwarding off).
import { parseRuleset } from '../kernel/nft.js'
import type { Namespace } from '../lab/namespace.js'

export interface Hop {
  namespace: string
  /** What `ip -j route get` answered here, or its error. */
  route?: { dev?: string; gateway?: string; prefsrc?: string; type?: string }
  note: string
}

export interface Explanation {
  arrived: boolean
  hops: Hop[]
  /** Where it stops and why, e.g. "ip_forward is 0 in gw", or "arrives at b". */
  verdict: string
  /** Hooked nftables chains with policy drop along the path (they may drop it; counters tell). */
  warnings: string[]
  toString(): string
}

const ip6 = (a: string): boolean => a.includes(':')

/** Follows the route decisions from `from` towards address `to` through the namespaces of `from`'s lab. */
export async function explain(from: Namespace, to: string): Promise<Explanation> {
  const all = from.lab.namespaces
  const owners = new Map<string, Namespace>()
  for (const ns of all) for (const a of await ns.addresses()) owners.set(a.address, ns)
  const hops: Hop[] = []
  const warnings: string[] = []
  const done = (arrived: boolean, verdict: string): Explanation => ({
    arrived, hops, verdict, warnings,
    toString: () => [...hops.map((h, i) => `${i + 1}. ${h.namespace}: ${h.note}`), `→ ${verdict}`, ...warnings.map((w) => `! ${w}`)].join('\n'),
  })
  const policyDrops = async (ns: Namespace, hook: string) => {
    const r = await ns.exec(['nft', '-j', 'list', 'ruleset'])
    if (r.exitCode !== 0) return
    for (const c of parseRuleset(r.stdout).chains) {
      if (c.hook === hook && c.policy === 'drop') warnings.push(`${ns.label}: chain ${c.family} ${c.table} ${c.name} (hook ${hook}) has policy drop`)
    }
  }
  let cur = from
  await policyDrops(cur, 'output')
  for (let i = 0; i < 16; i++) {
    const r = await cur.exec(['ip', '-j', ...(ip6(to) ? ['-6'] : ['-4']), 'route', 'get', to])
    if (r.exitCode !== 0) {
      hops.push({ namespace: cur.label, note: `route get ${to}: ${r.stderr.trim()}` })
      return done(false, `no route in ${cur.label} for ${to}: ${r.stderr.trim().replace(/^RTNETLINK answers: /, '')}`)
    }
    const route = (JSON.parse(r.stdout) as Hop['route'][])[0] ?? {}
    if (route.type === 'local' || owners.get(to) === cur) {
      hops.push({ namespace: cur.label, route, note: `${to} is local` })
      if (cur !== from) await policyDrops(cur, 'input')
      return done(true, `arrives at ${cur.label}`)
    }
    if (route.type === 'unreachable' || route.type === 'blackhole' || route.type === 'prohibit') {
      hops.push({ namespace: cur.label, route, note: `${route.type} route` })
      return done(false, `${route.type} route in ${cur.label} for ${to}`)
    }
    const next = route.gateway ?? to
    hops.push({ namespace: cur.label, route, note: `out ${route.dev ?? '?'}${route.gateway ? ` via ${route.gateway}` : ' (directly connected)'}` })
    const owner = owners.get(next)
    if (!owner) return done(false, `next hop ${next} (out ${route.dev ?? '?'} in ${cur.label}) belongs to no namespace of this lab`)
    if (owner === cur) return done(false, `routing loop in ${cur.label}: next hop ${next} is its own address`)
    if (owners.get(to) === owner) {
      hops.push({ namespace: owner.label, note: `${to} is local` })
      await policyDrops(owner, 'input')
      return done(true, `arrives at ${owner.label}`)
    }
    const key = ip6(to) ? 'net.ipv6.conf.all.forwarding' : 'net.ipv4.ip_forward'
    if ((await owner.sysctlGet(key)).trim() !== '1') {
      hops.push({ namespace: owner.label, note: `${key} = 0` })
      return done(false, `${ip6(to) ? 'IPv6 forwarding' : 'ip_forward'} is 0 in ${owner.label}`)
    }
    await policyDrops(owner, 'forward')
    cur = owner
  }
  return done(false, 'more than 16 hops: probably a routing loop')
}
