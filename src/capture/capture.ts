// Packet capture in a lab namespace: tcpdump writes a pcap file (-U and --immediate-mode: each packet is
// handed over and flushed as it arrives; without immediate mode TPACKET_V3 holds packets up to a block timeout),
// and netspec decodes that file itself (pcap.ts) instead of parsing tcpdump's prose.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { setTimeout as delay } from 'node:timers/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NetspecError, invalidInput } from '../errors.js'
import type { RunResult, SpawnedProcess } from '../exec/index.js'
import type { Namespace } from '../lab/namespace.js'
import { vxlanPortsOf } from '../lab/tunnel.js'
import { parsePcap, type Packet } from './pcap.js'

export interface CaptureOptions {
  /** A pcap-filter expression, e.g. `'arp or icmp'`. */
  filter?: string
  /** Bytes kept per packet (tcpdump -s), default 262144. */
  snaplen?: number
  /** How long to wait for tcpdump to say it is listening, default 10 s. */
  readyTimeoutMs?: number
}

/** A running capture; `stop()` ends it and returns the decoded packets. */
export interface Capture {
  readonly namespace: Namespace
  readonly iface: string
  /** Where the pcap file is written (kept for diagnostics when the test fails, see `capturesOf`). */
  readonly file: string
  /** Stops tcpdump (it flushes the file) and decodes what it saw. Idempotent. */
  stop(): Promise<Packet[]>
  /** Decodes what was written so far, without stopping. */
  packets(): Promise<Packet[]>
}

const live = new WeakMap<object, Capture[]>()

/** Captures started in a lab (by its internals object), so failure diagnostics can keep their pcap files. */
export function capturesOf(lab: object): readonly Capture[] {
  return live.get(lab) ?? []
}

const IFNAME = /^[^\s/:]{1,15}$/

/** Starts `tcpdump -i IFACE -U -w FILE FILTER` in `ns` and resolves once tcpdump is listening. */
export async function capture(ns: Namespace, iface: string, options: CaptureOptions = {}): Promise<Capture> {
  const ctx = { lab: ns.lab.label, namespace: ns.label, netns: ns.name }
  for (const k of Object.keys(options)) {
    if (!['filter', 'snaplen', 'readyTimeoutMs'].includes(k)) throw invalidInput(`capture: unknown option '${k}'`, ctx)
  }
  if (iface !== 'any' && !IFNAME.test(iface)) throw invalidInput(`capture: '${iface}' is not an interface name`, ctx)
  const dir = await mkdtemp(join(tmpdir(), `netspec-capture-${ns.label}-`))
  const file = join(dir, `${ns.label}-${iface}.pcap`)
  // -Z root: Debian's tcpdump otherwise drops to user 'tcpdump', which cannot write into our 0700 directory.
  const argv = ['tcpdump', '-i', iface, '-U', '--immediate-mode', '-nn', '-Z', 'root', '-s', String(options.snaplen ?? 262144), '-w', file]
  if (options.filter !== undefined && options.filter.trim() !== '') argv.push(...options.filter.trim().split(/\s+/))
  let proc: SpawnedProcess
  try {
    proc = await ns.spawn(argv, { ready: /listening on/, readyTimeoutMs: options.readyTimeoutMs ?? 10_000 })
  } catch (e) {
    await rm(dir, { recursive: true, force: true })
    throw new NetspecError('command-failed', `capture on ${iface} in ${ns.label} did not start`, {
      ...ctx,
      command: argv.join(' '),
      stderr: e instanceof Error ? e.message : String(e),
      hint: `check that ${iface} exists in ${ns.label} (ns.links()) and that the filter is valid pcap-filter syntax`,
      cause: e,
    })
  }
  let final: Promise<Packet[]> | undefined
  // VXLAN is decoded on the standard ports and on those of the lab's own tunnels (src/lab/tunnel.ts).
  const decode = async (): Promise<Packet[]> => parsePcap(await readFile(file), { vxlanPorts: vxlanPortsOf(ns.lab) })
  const cap: Capture = {
    namespace: ns,
    iface,
    file,
    packets: decode,
    stop: () => (final ??= (async () => {
      await quiet(file)
      const r: RunResult = await proc.stop()
      if (!r.canceled && r.exitCode !== 0 && r.exitCode !== 143 && r.stderr.includes('tcpdump:') && /error|No such/i.test(r.stderr)) {
        throw new NetspecError('command-failed', `capture on ${iface} in ${ns.label} failed`, { ...ctx, command: r.command, stderr: r.stderr })
      }
      return decode()
    })()),
  }
  ns.lab.defer(() => removeCaptureFile(cap), `removing capture file ${file}`)
  const list = live.get(ns.lab) ?? []
  list.push(cap)
  live.set(ns.lab, list)
  return cap
}

/** Removes a capture's temporary directory (the lab defers this; diagnostics copy the file first). */
export async function removeCaptureFile(cap: Capture): Promise<void> {
  await rm(join(cap.file, '..'), { recursive: true, force: true })
}

// Packets sent just before stop() may still be on their way to the file: wait (bounded, 1 s) until it stops growing.
async function quiet(file: string): Promise<void> {
  let last = -1
  for (let i = 0; i < 40; i++) {
    const size = await stat(file).then((s) => s.size, () => 0)
    if (size === last) return
    last = size
    await delay(25)
  }
}
