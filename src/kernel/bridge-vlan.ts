// Bridge port VLAN membership read back from `bridge -j vlan show` (the kernel's view, not what we asked).
import { runChecked, type Executor } from '../exec/index.js'

/** One VLAN on one bridge port (or on the bridge itself, `port` = the bridge's name). */
export interface BridgeVlan {
  port: string
  vid: number
  /** Untagged frames arriving on this port join this VLAN. */
  pvid: boolean
  /** Frames of this VLAN leave this port without a tag. */
  untagged: boolean
}

type Json = Record<string, unknown>

/**
 * Parses both JSON shapes iproute2 has printed: `[{ifname, vlans: [{vlan, vlanEnd?, flags}]}]` (4.16 and later)
 * and the older `{ "<ifname>": [{vlan, flags}] }`.
 */
export function parseBridgeVlans(text: string): BridgeVlan[] {
  const trimmed = text.trim()
  if (trimmed === '') return []
  const value: unknown = JSON.parse(trimmed)
  const ports: [string, Json[]][] = Array.isArray(value)
    ? (value as Json[]).map((p) => [String(p.ifname ?? '?'), Array.isArray(p.vlans) ? (p.vlans as Json[]) : []])
    : Object.entries((value ?? {}) as Record<string, Json[]>).map(([k, v]) => [k, Array.isArray(v) ? v : []])
  const out: BridgeVlan[] = []
  for (const [port, vlans] of ports) {
    for (const v of vlans) {
      const first = Number(v.vlan)
      const last = typeof v.vlanEnd === 'number' ? v.vlanEnd : first
      const flags = Array.isArray(v.flags) ? v.flags.map(String) : []
      for (let vid = first; vid <= last; vid++)
        out.push({ port, vid, pvid: flags.some((f) => /^pvid$/i.test(f)), untagged: flags.some((f) => /untagged/i.test(f)) })
    }
  }
  return out
}

export async function readBridgeVlans(exec: Executor, netns: string): Promise<BridgeVlan[]> {
  const r = await runChecked(exec, ['bridge', '-j', 'vlan', 'show'], { netns }, { netns, what: "reading 'bridge vlan show' failed" })
  return parseBridgeVlans(r.stdout)
}
