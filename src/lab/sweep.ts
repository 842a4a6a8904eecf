// Removes what dead runs left behind — only what their markers list, never a look-alike.
import { defaultExecutor, type Executor } from '../exec/index.js'
import { listNetns } from '../kernel/ip.js'
import { ownerAlive, parseKernelName, readMarkers, removeMarkedTempDir, removeMarker, type LabMarker } from './owner.js'
import { destroyNamespaces } from './teardown.js'
import { readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { LABS_DIR, processStartTime } from './owner.js'

/** A writer killed between writing `<lab>.json.<pid>.tmp` and renaming it leaves the temp file: remove those of dead PIDs. */
function removeDeadWritersTemps(): void {
  let files: string[]
  try {
    files = readdirSync(LABS_DIR)
  } catch {
    return
  }
  for (const f of files) {
    const pid = /\.json\.(\d+)\.tmp$/.exec(f)?.[1]
    if (pid !== undefined && processStartTime(Number(pid)) === undefined) rmSync(join(LABS_DIR, f), { force: true })
  }
}

export interface SweepOptions {
  /** Only report; remove nothing. */
  dryRun?: boolean
  /** Also remove labs kept for debugging (NETSPEC_KEEP). */
  kept?: boolean
  /** Only labs of this owner PID (what the reaper removes when that process dies). */
  owner?: number
  executor?: Executor
}

export interface SweepReport {
  /** Labs of dead owners that were (or, in a dry run, would be) removed. */
  removed: { labId: string; label: string; ownerPid: number; namespaces: string[] }[]
  /** Labs kept for debugging and left alone (unless `kept`). */
  kept: LabMarker[]
  /** Labs whose owner is alive (e.g. other Vitest workers right now): left alone. */
  live: LabMarker[]
  /** Namespaces named like ours that no marker lists: left alone, reported. */
  lookalikes: string[]
  /** Namespaces that could not be removed. */
  failed: string[]
}

export async function sweep(options: SweepOptions = {}): Promise<SweepReport> {
  const exec = options.executor ?? defaultExecutor()
  const report: SweepReport = { removed: [], kept: [], live: [], lookalikes: [], failed: [] }
  const present = new Set(await listNetns(exec))
  const listed = new Set<string>()
  for (const marker of readMarkers()) {
    for (const n of marker.namespaces) listed.add(n)
    if (options.owner !== undefined && marker.ownerPid !== options.owner) continue
    if (ownerAlive(marker)) {
      report.live.push(marker)
      continue
    }
    if (marker.kept === true && options.kept !== true) {
      report.kept.push(marker)
      continue
    }
    const namespaces = marker.namespaces.filter((n) => present.has(n))
    report.removed.push({ labId: marker.labId, label: marker.label, ownerPid: marker.ownerPid, namespaces })
    if (options.dryRun === true) continue
    // All listed names, not only present ones: /etc/netns files are written before `netns add`.
    const result = await destroyNamespaces(exec, [...marker.namespaces, ...(marker.adopted ?? [])], new Set(marker.adopted ?? []))
    report.failed.push(...result.leftover)
    if (exec.kind === 'local') removeMarkedTempDir(marker) // lab.tempDir() of the dead owner
    if (result.leftover.length === 0) removeMarker(marker.labId)
  }
  if (options.dryRun !== true) removeDeadWritersTemps()
  report.lookalikes = [...present].filter((n) => parseKernelName(n) !== undefined && !listed.has(n))
  return report
}

export function formatSweepReport(r: SweepReport, dryRun: boolean): string {
  const lines: string[] = []
  const verb = dryRun ? 'would remove' : 'removed'
  for (const lab of r.removed)
    lines.push(`${verb} lab '${lab.label}' (id ${lab.labId}, dead owner pid ${lab.ownerPid}): ${lab.namespaces.join(', ') || 'no namespaces left'}`)
  for (const m of r.kept)
    lines.push(`kept lab '${m.label}' (id ${m.labId}): ${m.namespaces.join(', ')} — remove with: npx netspec sweep --kept --force`)
  for (const m of r.live) lines.push(`live lab '${m.label}' (id ${m.labId}, owner pid ${m.ownerPid} running): left alone`)
  for (const n of r.lookalikes) lines.push(`namespace ${n} looks like netspec's but no lab marker lists it: left alone`)
  for (const n of r.failed) lines.push(`could not remove ${n}`)
  if (lines.length === 0) lines.push('nothing to sweep')
  return lines.join('\n')
}
