// Conntrack entries read back from `conntrack -L -o extended`: the original and the reply tuple of each flow,
// which is the evidence that a NAT rule rewrote a real connection.
import type { Executor } from '../exec/index.js'

export interface ConntrackEntry {
  proto: string
  state?: string
  original: { src: string; dst: string; sport?: number; dport?: number }
  reply: { src: string; dst: string; sport?: number; dport?: number }
}

/** Parses `conntrack -L -o extended` lines: the first src/dst/sport/dport are the original tuple, the second the reply. */
export function parseConntrack(text: string): ConntrackEntry[] {
  const out: ConntrackEntry[] = []
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f.length < 6 || !/^ipv[46]$/.test(f[0]!)) continue
    const kv = f.filter((x) => x.includes('=')).map((x) => x.split('=') as [string, string])
    const tuple = (n: number) => {
      const pick = (k: string) => kv.filter(([key]) => key === k)[n]?.[1]
      const sp = pick('sport')
      const dp = pick('dport')
      return { src: pick('src') ?? '?', dst: pick('dst') ?? '?', sport: sp === undefined ? undefined : Number(sp), dport: dp === undefined ? undefined : Number(dp) }
    }
    out.push({ proto: f[2]!, state: f.find((x) => /^[A-Z_]{4,}$/.test(x) && !x.startsWith('[')), original: tuple(0), reply: tuple(1) })
  }
  return out
}

/**
 * One family's entries, or both. The family is always named: conntrack-tools before 1.4.7 list only IPv4
 * without `-f ipv6`, so NAT66 evidence would silently be missing.
 */
export async function readConntrack(exec: Executor, netns: string, family?: 4 | 6): Promise<ConntrackEntry[]> {
  const one = async (f: 4 | 6): Promise<ConntrackEntry[]> => {
    const r = await exec.run(['conntrack', '-L', '-f', `ipv${f}`, '-o', 'extended'], { netns }).catch(() => undefined)
    return r === undefined || r.exitCode !== 0 ? [] : parseConntrack(r.stdout)
  }
  if (family !== undefined) return one(family)
  const [v4, v6] = await Promise.all([one(4), one(6)])
  return [...v4, ...v6]
}
