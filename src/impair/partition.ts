// Network partitions between two groups of lab namespaces: nftables rules at the endpoints drop every packet
// between an address of group A and one of group B, whatever path (veth, bridge, routers) it would take.
import { invalidInput } from '../errors.js'
import type { Namespace } from '../lab/namespace.js'

export interface PartitionOptions {
  /** Only A → B is cut: A cannot start anything towards B, while B still reaches A (replies included). */
  oneWay?: boolean
}

export interface Partition {
  readonly a: readonly Namespace[]
  readonly b: readonly Namespace[]
  readonly oneWay: boolean
  /** Removes the rules; traffic flows again. Idempotent. */
  heal(): Promise<void>
}

let seq = 0

const globals = async (ns: Namespace): Promise<{ v4: string[]; v6: string[] }> => {
  const addrs = (await ns.addresses()).filter((a) => a.scope === 'global')
  return { v4: addrs.filter((a) => a.family === 4).map((a) => a.address), v6: addrs.filter((a) => a.family === 6).map((a) => a.address) }
}

const set = (xs: string[]): string => `{ ${xs.join(', ')} }`

/** nft lines that drop traffic from `from` addresses to `to` addresses (both hooks, so one rule set covers either end). */
export function partitionRules(from: { v4: string[]; v6: string[] }, to: { v4: string[]; v6: string[] }, oneWay: boolean): string[] {
  // One-way keeps B → A conversations working: only packets that start a new flow A → B are dropped.
  const ct = oneWay ? 'ct state new ' : ''
  const out: string[] = []
  if (from.v4.length && to.v4.length) out.push(`ip saddr ${set(from.v4)} ip daddr ${set(to.v4)} ${ct}counter drop`)
  if (from.v6.length && to.v6.length) out.push(`ip6 saddr ${set(from.v6)} ip6 daddr ${set(to.v6)} ${ct}counter drop`)
  return out
}

/** Cuts every path between groups `a` and `b` (or only a → b with `oneWay`). */
export async function partition(a: readonly Namespace[], b: readonly Namespace[], options: PartitionOptions = {}): Promise<Partition> {
  if (a.length === 0 || b.length === 0) throw invalidInput('partition: both groups need at least one namespace')
  const overlap = a.filter((n) => b.includes(n))
  if (overlap.length) throw invalidInput(`partition: ${overlap.map((n) => n.label).join(', ')} is in both groups`)
  for (const k of Object.keys(options)) if (k !== 'oneWay') throw invalidInput(`partition: unknown option '${k}'`)
  const oneWay = options.oneWay === true
  const merge = async (g: readonly Namespace[]) => {
    const all = await Promise.all(g.map(globals))
    return { v4: all.flatMap((x) => x.v4), v6: all.flatMap((x) => x.v6) }
  }
  const [addrA, addrB] = await Promise.all([merge(a), merge(b)])
  if (addrA.v4.length + addrA.v6.length === 0 || addrB.v4.length + addrB.v6.length === 0) {
    throw invalidInput('partition: a group has no global addresses yet; add addresses before partitioning')
  }
  const rules = [...partitionRules(addrA, addrB, oneWay), ...(oneWay ? [] : partitionRules(addrB, addrA, false))]
  const table = `netspec_partition_${++seq}`
  // Rules go into output and input of every involved namespace: whichever end the packet leaves or reaches, it dies.
  const script = `table inet ${table} {\n chain out { type filter hook output priority 0; policy accept;\n${rules.map((r) => `  ${r}\n`).join('')} }\n chain in { type filter hook input priority 0; policy accept;\n${rules.map((r) => `  ${r}\n`).join('')} }\n}\n`
  const involved = [...a, ...b]
  await Promise.all(involved.map((ns) => ns.exec(['nft', '-f', '-'], { input: script, check: true })))
  let healed = false
  return {
    a,
    b,
    oneWay,
    heal: async () => {
      if (healed) return
      healed = true
      await Promise.all(involved.map((ns) => ns.exec(['nft', 'delete', 'table', 'inet', table])))
    },
  }
}
