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

export async function readConntrack(exec: Executor, netns: string): Promise<ConntrackEntry[]> {
  const r = await exec.run(['conntrack', '-L', '-o', 'extended'], { netns }).catch(() => undefined)
  return r === undefined || r.exitCode !== 0 ? [] : parseConntrack(r.stdout)
}
