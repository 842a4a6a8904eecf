// Packet capture in a lab namespace: tcpdump writes a pcap file (-U and --immediate-mode: each packet is
// handed over and flushed as it arrives; without immediate mode TPACKET_V3 holds packets up to a block timeout),
// and netspec decodes that file itself (pcap.ts) instead of parsing tcpdump's prose.
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { setTimeout as delay } from 'node:timers/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NetspecError, invalidInput, isNetspecError } from '../errors.js'
import { checkCaptureFilter } from '../values/filter.js'
import { checkIfName } from '../values/names.js'
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

/** Starts `tcpdump -i IFACE -U -w FILE FILTER` in `ns` and resolves once tcpdump is listening. */
export async function capture(ns: Namespace, iface: string, options: CaptureOptions = {}): Promise<Capture> {
  const ctx = { lab: ns.lab.label, namespace: ns.label, netns: ns.name }
  for (const k of Object.keys(options)) {
    if (!['filter', 'snaplen', 'readyTimeoutMs'].includes(k)) throw invalidInput(`capture: unknown option '${k}'`, ctx)
  }
  if (iface !== 'any') checkIfName(iface, ctx)
  const filter = checkCaptureFilter(options.filter, ctx)
  if (options.snaplen !== undefined && (!Number.isInteger(options.snaplen) || options.snaplen < 1 || options.snaplen > 262144))
    throw invalidInput(`capture: snaplen must be a whole number from 1 to 262144, got ${String(options.snaplen)}`, ctx)
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40)
  const dir = await captureDir(ns, safe(ns.label))
  const file = join(dir, `${safe(ns.label)}-${iface}.pcap`)
  // -Z root: Debian's tcpdump otherwise drops to user 'tcpdump', which cannot write into our 0700 directory.
  // The filter is one argv element after '--': whatever it holds, tcpdump reads it as the expression, never as an
  // option (`-w FILE` in a filter would otherwise make tcpdump, as root, write where the filter says).
  const argv = ['tcpdump', '-i', iface, '-U', '--immediate-mode', '-nn', '-Z', 'root', '-s', String(options.snaplen ?? 262144), '-w', file, ...(filter === undefined ? [] : ['--', filter])]
  let proc: SpawnedProcess
  try {
    proc = await ns.spawn(argv, { ready: /listening on/, readyTimeoutMs: options.readyTimeoutMs ?? 10_000 })
  } catch (e) {
    await rm(dir, { recursive: true, force: true })
    // What tcpdump printed: the spawn error's last output lines (src/lab/processes.ts), else its stderr or message.
    const stderr =
      isNetspecError(e) && e.output !== undefined && e.output.length > 0
        ? e.output.join('\n')
        : isNetspecError(e) && e.stderr !== undefined
          ? e.stderr
          : e instanceof Error
            ? e.message
            : String(e)
    const said = stderr.split('\n').filter((l) => l.startsWith('tcpdump:')).join('\n')
    if (filter !== undefined && !/No such device|doesn't exist|not up|Permission denied/i.test(stderr) && /filter|syntax|parse|illegal|unknown|invalid|expression|not a valid|requires|out of range|too big/i.test(said))
      throw invalidInput(`capture: tcpdump refused the filter '${filter.length > 80 ? `${filter.slice(0, 80)}…` : filter}': ${said.replace(/^tcpdump: /gm, '') || stderr.trim()}`, {
        ...ctx,
        command: argv.join(' '),
        stderr,
        hint: "write it in pcap-filter syntax (man 7 pcap-filter), e.g. 'icmp or arp' or 'tcp port 80'",
      })
    throw new NetspecError('command-failed', `capture on ${iface} in ${ns.label} did not start`, {
      ...ctx,
      command: argv.join(' '),
      stderr,
      hint: `check that ${iface} exists in ${ns.label} (ns.links()) and that the filter is valid pcap-filter syntax`,
      cause: e,
    })
  }
  let final: Promise<Packet[]> | undefined
  const decode = async (): Promise<Packet[]> => {
    const bytes = await readFile(file).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e
      throw new NetspecError('command-failed', `capture on ${iface} in ${ns.label} wrote no file: tcpdump ended before writing`, { ...ctx, command: argv.join(' '), cause: e })
    })
    return parsePcap(bytes, { vxlanPorts: vxlanPortsOf(ns.lab) }) // VXLAN on the standard ports and the lab's own (src/lab/tunnel.ts)
  }
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

/** Where a lab's captures live, inside its temp directory (copied apart from the other lab files on failure). */
export const CAPTURES_SUBDIR = 'captures'

/**
 * A new private directory for one capture: inside the lab's temp directory on the local executor (named in the
 * lab's marker before it is made, so an owner killed mid-capture leaves nothing: the reaper and sweep remove it).
 */
async function captureDir(ns: Namespace, label: string): Promise<string> {
  if (ns.lab.executor.kind !== 'local') return mkdtemp(join(tmpdir(), `netspec-capture-${label}-`))
  const parent = join(await ns.lab.tempDir(), CAPTURES_SUBDIR)
  await mkdir(parent, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e
  })
  return mkdtemp(join(parent, `${label}-`))
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
