// Bridge ports and the forwarding database as the kernel holds them: `bridge -j link show` and
// `bridge -j fdb show br BR`. Typed records only; the lab joins them with veth peers (lab/bridge-ports.ts).
import { runChecked, type Executor } from '../exec/index.js'

type Json = Record<string, unknown>

/** One port of a bridge as `bridge -j link` lists it. */
export interface BridgePortState {
  name: string
  /** The bridge it belongs to. */
  master: string
  /** STP port state: 'forwarding', 'learning', 'listening', 'blocking' or 'disabled' (a port whose link is down). */
  state: string
  mtu: number
  flags: string[]
  priority?: number
  cost?: number
  /** Whether the port learns source MACs (`bridge -d`), when ip printed it. */
  learning?: boolean
}

/** One forwarding database entry. */
export interface FdbEntry {
  mac: string
  /** The port (or the bridge itself, for entries with `self`). */
  port: string
  vlan?: number
  /** The kernel's state word: '' for a learned (dynamic) entry, 'permanent' for the ports' own addresses, 'static'. */
  state: string
  /** A learned entry: neither permanent nor static, nor the device's own ('self'). */
  learned: boolean
  flags: string[]
  /** The bridge an entry belongs to (undefined for a 'self' entry of the device itself). */
  master?: string
}

function array(text: string): Json[] {
  const t = text.trim()
  if (t === '') return []
  const v = JSON.parse(t) as unknown
  return Array.isArray(v) ? (v as Json[]) : []
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined)
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])

export function parseBridgeLinks(text: string): BridgePortState[] {
  return array(text).map((j) => {
    const p: BridgePortState = { name: str(j.ifname) ?? '?', master: str(j.master) ?? '?', state: str(j.state) ?? 'unknown', mtu: num(j.mtu) ?? 0, flags: strs(j.flags) }
    if (num(j.priority) !== undefined) p.priority = num(j.priority)
    if (num(j.cost) !== undefined) p.cost = num(j.cost)
    if (typeof j.learning === 'boolean') p.learning = j.learning
    return p
  })
}

export function parseFdb(text: string): FdbEntry[] {
  return array(text).map((j) => {
    const flags = strs(j.flags)
    const state = str(j.state) ?? ''
    const e: FdbEntry = { mac: str(j.mac) ?? '?', port: str(j.ifname) ?? '?', state, flags, learned: state === '' && !flags.includes('self') }
    if (num(j.vlan) !== undefined) e.vlan = num(j.vlan)
    if (str(j.master) !== undefined) e.master = str(j.master)
    return e
  })
}

export async function readBridgeLinks(exec: Executor, netns: string): Promise<BridgePortState[]> {
  const r = await runChecked(exec, ['bridge', '-j', '-d', 'link', 'show'], { netns }, { netns, what: "reading 'bridge link show' failed" })
  return parseBridgeLinks(r.stdout)
}

export async function readFdb(exec: Executor, netns: string, bridge: string): Promise<FdbEntry[]> {
  const r = await runChecked(exec, ['bridge', '-j', 'fdb', 'show', 'br', bridge], { netns }, { netns, what: `reading 'bridge fdb show br ${bridge}' failed` })
  return parseFdb(r.stdout)
}
