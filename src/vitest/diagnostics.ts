// What a failed test leaves for its reader: the state of every namespace of its lab.
import { mkdirSync, writeFileSync } from 'node:fs'
import { copyFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { capturesOf } from '../capture/capture.js'
import { recordArtifact, type TestContext } from 'vitest'
import { formatSnapshot } from '../lab/format.js'
import type { Lab } from '../lab/lab.js'
import type { LabSnapshot } from '../lab/types.js'

export const DIAGNOSTICS_DIR = process.env.NETSPEC_DIAGNOSTICS_DIR ?? join(process.cwd(), '.netspec', 'diagnostics')

export async function attachDiagnostics(task: TestContext['task'], lab: Lab): Promise<void> {
  let text: string
  try {
    const snapshot = await lab.snapshot()
    const extras = await Promise.all(lab.namespaces.map((ns) => netfilterState(lab, ns.name, ns.label)))
    text = [formatSnapshot(snapshot), ...extras.filter((x) => x !== ''), mermaidOf(snapshot)].join('\n\n')
    // Packet captures of the failed test are kept beside its diagnostics (they are removed with the lab otherwise).
    for (const cap of capturesOf(lab)) {
      mkdirSync(DIAGNOSTICS_DIR, { recursive: true })
      await copyFile(cap.file, join(DIAGNOSTICS_DIR, basename(cap.file))).catch(() => {})
      text += `\n\ncapture kept: ${join(DIAGNOSTICS_DIR, basename(cap.file))}`
    }
  } catch (e) {
    text = `(could not read the lab's state: ${e instanceof Error ? e.message : String(e)})`
  }
  const file = join(DIAGNOSTICS_DIR, `${task.fullName ?? task.name}`.replace(/[^\w.-]+/g, '_').slice(0, 120) + '.txt')
  try {
    mkdirSync(DIAGNOSTICS_DIR, { recursive: true })
    writeFileSync(file, `${text}\n`)
  } catch {
    // diagnostics are best effort; the failure itself is reported by Vitest
  }
  task.meta.netspec = { diagnostics: text, file }
  await recordArtifact(task as never, {
    type: 'netspec:diagnostics',
    attachments: [{ contentType: 'text/plain', path: file }],
  } as never).catch(() => {})
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
    netspec?: { diagnostics: string; file: string }
  }
}
