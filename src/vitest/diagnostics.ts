// What a failed test leaves for its reader: the state of every namespace of its lab.
import { createHash } from 'node:crypto'
import { closeSync } from 'node:fs'
import { basename, join } from 'node:path'
import { capturesOf } from '../capture/capture.js'
import { recordArtifact, type TestContext } from 'vitest'
import { isNetspecError } from '../errors.js'
import { formatSnapshot } from '../lab/format.js'
import { copyFileAt, listAt, openWritableDir, removeAt, writeFileAt } from '../lab/safe-files.js'
import { tellFailure } from './keep.js'
import { overlayLines } from '../topology/overlay.js'
import { processDiagnostics } from './processes-diagnostics.js'
import type { Lab } from '../lab/lab.js'
import type { Executor } from '../exec/types.js'
import type { LabSnapshot } from '../lab/types.js'

export const DIAGNOSTICS_DIR = process.env.NETSPEC_DIAGNOSTICS_DIR ?? join(process.cwd(), '.netspec', 'diagnostics')

/**
 * Opens the diagnostics directory, making it if missing. The default `.netspec/diagnostics` is walked from the
 * working directory with no symlink allowed in it (the checkout's owner may write there while netspec runs as
 * root); everything in it is then written relative to the descriptor (src/lab/safe-files.ts).
 */
function openDiagnosticsDir(create = true): number {
  const dir = process.env.NETSPEC_DIAGNOSTICS_DIR
  if (dir !== undefined) return openWritableDir(dir, { create })
  return openWritableDir(DIAGNOSTICS_DIR === join(process.cwd(), '.netspec', 'diagnostics') ? '.netspec/diagnostics' : DIAGNOSTICS_DIR, { create })
}

const message = (e: unknown) => (isNetspecError(e) ? e.shortMessage : e instanceof Error ? e.message : String(e))

// Which test each safe name stands for in this process (a test file's tests share one worker).
const claimed = new Map<string, string>()

/**
 * The diagnostics file name of a test (its full name, made safe), without extension. Names that differ only in what
 * the safe form drops (non-ASCII letters, the end past 120 characters) would share one file, and a passing test would
 * clear a failed one's: the second one to claim a safe name gets a hash of its full name added.
 */
function baseName(task: TestContext['task']): string {
  const full = `${task.file?.name ?? ''} ${task.fullName ?? task.name}`
  let base = `${task.fullName ?? task.name}`.replace(/[^\w.-]+/g, '_').slice(0, 120)
  const owner = claimed.get(base)
  if (owner !== undefined && owner !== full) base = `${base.slice(0, 110)}-${createHash('sha256').update(full).digest('hex').slice(0, 8)}`
  claimed.set(base, full)
  return base
}

/**
 * Removes what an earlier run left in the diagnostics directory for this test (its own lab's file, the files of the
 * shared labs it failed with, its kept captures and lab files), so a stale file never describes a test that now
 * passes or fails differently. Nothing in the directory is followed (src/lab/safe-files.ts).
 */
export function clearDiagnostics(task: TestContext['task']): void {
  const base = baseName(task)
  let dir: number
  try {
    dir = openDiagnosticsDir(false)
  } catch {
    return // no directory (it is made, or its refusal reported, when a test fails)
  }
  try {
    for (const n of listAt(dir)) {
      const ours = n === `${base}.txt` || n === `${base}.files` || (n.startsWith(`${base}--`) && (n.endsWith('.txt') || n.endsWith('.pcap') || n.endsWith('.files')))
      if (ours) removeAt(dir, n)
    }
  } catch {
    // best effort: a file left here is overwritten (never followed) when the test fails again
  } finally {
    closeSync(dir)
  }
}

/**
 * Reads the lab's state for a failed test, writes it to `<test>.txt` (`<test>--<lab>.txt` for a shared lab), and
 * attaches it to the test (task.meta.netspec, an artifact). Several labs of one test add up.
 */
export async function attachDiagnostics(task: TestContext['task'], lab: Lab, options: { shared?: boolean } = {}): Promise<void> {
  const suffix = options.shared === true ? `--${lab.label.replace(/[^\w.-]+/g, '_').slice(0, 60)}` : ''
  const name = `${baseName(task)}${suffix}.txt`
  const file = join(DIAGNOSTICS_DIR, name)
  // Every write goes through this descriptor; a refused one is said in the text and in the failure message.
  let dir: number | undefined
  let refusal: string | undefined
  try {
    dir = openDiagnosticsDir()
  } catch (e) {
    refusal = message(e)
  }
  let text: string
  try {
    const snapshot = await lab.snapshot()
    const extras = await Promise.all(lab.namespaces.map((ns) => netfilterState(lab, ns.name, ns.label)))
    const sysctls = await sysctlState(lab)
    // Spawned processes (state, last output) and the lab's temp files: src/vitest/processes-diagnostics.ts.
    const processes = processDiagnostics(lab, dir, DIAGNOSTICS_DIR, `${baseName(task)}${suffix}`)
    text = [formatSnapshot(snapshot), ...sysctls, ...extras.filter((x) => x !== ''), processes, mermaidOf(snapshot)].filter((x) => x !== '').join('\n\n')
    text += overlaysOf(snapshot)
    // Packet captures of the failed test are kept beside its diagnostics (they are removed with the lab otherwise):
    // `<test>--<capture>.pcap` (`<test>--<lab>--<capture>.pcap` for a shared lab), one name per capture.
    const taken = new Set<string>()
    for (const cap of capturesOf(lab)) {
      let copy = `${baseName(task)}${suffix}--${basename(cap.file)}`
      for (let i = 2; taken.has(copy); i++) copy = `${baseName(task)}${suffix}--${basename(cap.file, '.pcap')}-${i}.pcap`
      taken.add(copy)
      if (dir === undefined) {
        text += `\n\ncapture not kept (${cap.file}): ${refusal ?? 'no diagnostics directory'}`
        continue
      }
      try {
        copyFileAt(dir, copy, cap.file, join(DIAGNOSTICS_DIR, copy))
        text += `\n\ncapture kept: ${join(DIAGNOSTICS_DIR, copy)}`
      } catch (e) {
        text += `\n\ncapture not kept (${cap.file}): ${message(e)}`
      }
    }
  } catch (e) {
    text = `(could not read the lab's state: ${message(e)})`
  }
  if (options.shared === true) text = `shared lab '${lab.label}' (id ${lab.id})\n\n${text}`
  if (dir !== undefined) {
    try {
      writeFileAt(dir, name, `${text}\n`, file)
    } catch (e) {
      refusal = message(e)
    } finally {
      closeSync(dir)
    }
  }
  const before = task.meta.netspec
  task.meta.netspec =
    before === undefined
      ? { diagnostics: text, file, files: [file] }
      : { diagnostics: `${before.diagnostics}\n\n${text}`, file: before.file, files: [...(before.files ?? [before.file]), file] }
  // Named in the failure message itself, so every reporter (terminal, JUnit <failure>, GitHub Actions ::error) shows it.
  const what = `netspec diagnostics${options.shared === true ? ` (shared lab '${lab.label}')` : ''}`
  if (refusal !== undefined)
    tellFailure(task, `${what} were not written to ${file}: ${refusal} (remove or rename it: netspec makes it itself and never follows a link there; the text is in task.meta.netspec)`)
  else if (task.result?.errors?.[0] !== undefined) tellFailure(task, `${what}: ${file}`)
  if (refusal !== undefined) return
  await recordArtifact(task as never, {
    type: 'netspec:diagnostics',
    attachments: [{ contentType: 'text/plain', path: file }],
  } as never).catch(() => {})
}

// A fresh namespace's net.* sysctls: the defaults to compare against. Read once per executor kind, from a throwaway
// namespace (`unshare -n`) that is gone when the command exits; nothing is written anywhere.
const defaults = new Map<string, Promise<Map<string, string> | undefined>>()

function parseSysctl(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of text.split('\n')) {
    const i = line.indexOf(' = ')
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 3))
  }
  return out
}

function freshDefaults(exec: Executor): Promise<Map<string, string> | undefined> {
  let d = defaults.get(exec.kind)
  if (d === undefined) {
    d = exec
      .run(['unshare', '-n', 'sysctl', '-a', '-r', '^net\\.'])
      .then((r) => (r.stdout.trim() === '' ? undefined : parseSysctl(r.stdout)))
      .catch(() => undefined)
    defaults.set(exec.kind, d)
  }
  return d
}

/** `net.ipv4.conf.veth1.rp_filter` is compared with a fresh namespace's `…conf.default.rp_filter` (else `…conf.lo.…`). */
const PER_DEVICE = /^(net\.ipv[46]\.(?:conf|neigh))\.([^.]+)\.(.+)$/
/** Per-device keys that follow the link, not a setting (the IPv6 MTU follows the link's MTU). */
const FOLLOWS_LINK = new Set(['mtu'])

/** The differences of net.* sysctls from a fresh namespace's, given both as maps. */
export function sysctlDiff(fresh: ReadonlyMap<string, string>, now: ReadonlyMap<string, string>): string[] {
  const v4fwd = now.get('net.ipv4.ip_forward')
  const v6fwd = now.get('net.ipv6.conf.all.forwarding')
  const out: string[] = []
  for (const [key, value] of now) {
    const m = PER_DEVICE.exec(key)
    let ref = fresh.get(key)
    if (m !== undefined && m !== null && m[2] !== 'all' && m[2] !== 'default') {
      if (FOLLOWS_LINK.has(m[3]!)) continue
      // Per-device forwarding follows ip_forward / all.forwarding: shown once in the forwarding line.
      if (m[3] === 'forwarding' && value === (key.startsWith('net.ipv4.') ? v4fwd : v6fwd)) continue
      if (ref === undefined) ref = fresh.get(`${m[1]}.default.${m[3]}`) ?? fresh.get(`${m[1]}.lo.${m[3]}`)
    }
    if (key === 'net.ipv4.conf.all.forwarding' || key === 'net.ipv4.conf.default.forwarding') if (value === v4fwd) continue
    if (ref === undefined || ref === value) continue
    out.push(`${key} = ${value} (fresh namespace: ${ref})`)
  }
  return out.sort()
}

/** Per namespace: forwarding (always), and every net.* sysctl that differs from a fresh namespace's. */
async function sysctlState(lab: Lab): Promise<string[]> {
  const fresh = await freshDefaults(lab.executor)
  return Promise.all(
    lab.namespaces.map(async (ns) => {
      const r = await lab.executor.run(['sysctl', '-a', '-r', '^net\\.'], { netns: ns.name }).catch(() => undefined)
      if (r === undefined || r.stdout.trim() === '') return `── ${ns.label}: sysctl (could not be read)`
      const now = parseSysctl(r.stdout)
      const on = (v: string | undefined) => (v === undefined ? '?' : v === '0' ? 'off' : 'on')
      const lines = [`forwarding: IPv4 ${on(now.get('net.ipv4.ip_forward'))}, IPv6 ${on(now.get('net.ipv6.conf.all.forwarding'))}`]
      if (fresh === undefined) lines.push('(no fresh namespace to compare the other net.* sysctls with)')
      else {
        // A lab namespace starts without IPv6 DAD on its links (Lab.namespace): that is its baseline, not a change.
        const baseline = new Map(fresh).set('net.ipv6.conf.default.accept_dad', '0')
        const diff = sysctlDiff(baseline, now)
        lines.push(...(diff.length === 0 ? ['net.* sysctls: all as in a fresh namespace'] : diff))
      }
      return `── ${ns.label}: sysctl\n${indent(lines.join('\n'))}`
    }),
  )
}

/** The kernel's own three rules of each family (`ip rule` in a fresh namespace): not worth printing. */
const DEFAULT_RULE = /^(0:\s+from all lookup local|32766:\s+from all lookup main|32767:\s+from all lookup default)\s*$/

/** nftables ruleset (with counters), conntrack entries and policy routing rules of one namespace, when there are any. */
async function netfilterState(lab: Lab, netns: string, label: string): Promise<string> {
  const [nft, ct, rules4, rules6] = await Promise.all([
    lab.executor.run(['nft', 'list', 'ruleset'], { netns }).catch(() => undefined),
    lab.executor.run(['conntrack', '-L', '-o', 'extended'], { netns }).catch(() => undefined),
    lab.executor.run(['ip', '-4', 'rule', 'show'], { netns }).catch(() => undefined),
    lab.executor.run(['ip', '-6', 'rule', 'show'], { netns }).catch(() => undefined),
  ])
  const parts: string[] = []
  for (const [family, r] of [['-4', rules4], ['-6', rules6]] as const) {
    if (r === undefined || r.exitCode !== 0) continue
    if (r.stdout.split('\n').some((line) => line.trim() !== '' && !DEFAULT_RULE.test(line.trim()))) parts.push(`── ${label}: ip ${family} rule\n${indent(r.stdout)}`)
  }
  if (nft !== undefined && nft.exitCode === 0 && nft.stdout.trim() !== '') parts.push(`── ${label}: nft list ruleset\n${indent(nft.stdout)}`)
  if (ct !== undefined && ct.exitCode === 0 && ct.stdout.trim() !== '') parts.push(`── ${label}: conntrack -L\n${indent(ct.stdout)}`)
  return parts.join('\n')
}

/** Tunnels (VXLAN) with their far ends, or why an end has none (src/topology/overlay.ts). */
function overlaysOf(snapshot: LabSnapshot): string {
  const lines = overlayLines(snapshot)
  return lines.length === 0 ? '' : `\n\n── overlays\n${indent(lines.join('\n'))}`
}

const indent = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `   ${l}`)
    .join('\n')

/** The lab as a Mermaid flowchart: namespaces, bridges, and veth links labelled with interface names and addresses. */
export function mermaidOf(snapshot: LabSnapshot): string {
  const id = (label: string) => label.replace(/[^\w]/g, '_')
  const lines = ['```mermaid', 'flowchart LR']
  const seen = new Set<string>()
  for (const ns of snapshot.namespaces) {
    lines.push(`  ${id(ns.label)}["${ns.label}"]`)
    for (const l of ns.links) {
      if (l.kind === 'bridge') lines.push(`  ${id(ns.label)}_${id(l.name)}{{"${l.name}"}} --- ${id(ns.label)}`)
      if (l.kind !== 'veth' || l.peer?.namespace === undefined) continue
      const a = `${ns.label}/${l.name}`
      const b = `${l.peer.namespace}/${l.peer.name ?? '?'}`
      if (seen.has(b)) continue
      seen.add(a)
      const addr = (nsLabel: string, dev: string) =>
        snapshot.namespaces
          .find((n) => n.label === nsLabel)
          ?.addresses.filter((x) => x.dev === dev && x.scope !== 'link')
          .map((x) => x.cidr)
          .join(' ') ?? ''
      const left = l.master === undefined ? id(ns.label) : `${id(ns.label)}_${id(l.master)}`
      lines.push(`  ${left} ---|"${l.name} ${addr(ns.label, l.name)} ⇄ ${l.peer.name ?? '?'} ${addr(l.peer.namespace, l.peer.name ?? '')}"| ${id(l.peer.namespace)}`)
    }
  }
  lines.push('```')
  return lines.join('\n')
}

declare module 'vitest' {
  interface TaskMeta {
    netspec?: {
      /** Every lab's diagnostics text (its own, then shared labs'). */
      diagnostics: string
      /** The first diagnostics file. */
      file: string
      /** Every diagnostics file of the test. */
      files?: string[]
    }
  }
}
