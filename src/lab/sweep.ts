// Removes what dead runs left behind — only what their markers list, never a look-alike. Every marker is
// untrusted input: it is checked against the schema (src/lab/marker-check.ts) and a bad one is reported by
// file name and left alone, never stopping the sweep of the others. Namespaces are reached only as
// /run/netns/<validated name>; the dry run lists exactly what --force does.
import { existsSync, lstatSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { defaultExecutor, type Executor } from '../exec/index.js'
import { listNetns } from '../kernel/ip.js'
import { ETC_NETNS, finishEtcNetnsSteps } from './etc-netns.js'
import { LABS_DIR, markerPath, ownerAlive, parseKernelName, processStartTime, readMarkerFiles, markedTempDir, removeMarkedTempDir, removeMarker, type LabMarker } from './owner.js'
import { destroyNamespaces, pidsIn } from './teardown.js'

/** A writer killed between writing `<lab>.json.<pid>.tmp` and renaming it leaves the temp file: remove those of dead PIDs. */
function removeDeadWritersTemps(): void {
  let files: string[]
  try {
    files = readdirSync(LABS_DIR)
  } catch {
    return
  }
  for (const f of files) {
    const pid = /^[\w-]+\.json\.(\d+)\.tmp$/.exec(f)?.[1]
    if (pid !== undefined && processStartTime(Number(pid)) === undefined) rmSync(join(LABS_DIR, f), { force: true })
  }
}

export interface SweepOptions {
  /** Only report; remove nothing. */
  dryRun?: boolean
  /** The same as `dryRun: false` (as the CLI's --force); `force: false` is a dry run. */
  force?: boolean
  /** Also remove labs kept for debugging (NETSPEC_KEEP). */
  kept?: boolean
  /** Only labs of this owner PID (what the reaper removes when that process dies). */
  owner?: number
  executor?: Executor
}

/** What removing one dead lab does (or, in a dry run, would do). */
export interface SweepPlan {
  labId: string
  label: string
  ownerPid: number
  /** Namespaces deleted (present in /run/netns). */
  namespaces: string[]
  /** Adopted namespaces only unlinked (their processes are left alone). */
  adopted: string[]
  /** Processes SIGKILLed first: those inside the namespaces above. */
  processes: number[]
  /** /etc/netns files and directories the lab created, removed. */
  etc: string[]
  /** Containers removed (`docker rm -f -v`). */
  containers: string[]
  /** The lab's temp directory (`lab.tempDir()`), removed if it is one (isLabTempDir), on the local executor. */
  tempDir?: string
  /** The marker file, removed last (only if nothing is left). */
  marker: string
}

export interface SweepReport {
  /** Labs of dead owners that were (or, in a dry run, would be) removed, with everything that goes. */
  removed: SweepPlan[]
  /** Labs kept for debugging and left alone (unless `kept`). */
  kept: LabMarker[]
  /** Labs whose owner is alive (e.g. other Vitest workers right now): left alone. */
  live: LabMarker[]
  /** Markers that fail the schema or cannot be read: nothing in them was acted on. */
  bad: { file: string; reason: string }[]
  /** Namespaces named like ours that no marker lists: left alone, reported. */
  lookalikes: string[]
  /** Namespaces (or /etc/netns entries, containers) that could not be removed. */
  failed: string[]
}

async function plan(exec: Executor, marker: LabMarker, present: ReadonlySet<string>): Promise<SweepPlan> {
  const adoptedSet = new Set(marker.adopted ?? [])
  const namespaces = marker.namespaces.filter((n) => present.has(n) && !adoptedSet.has(n))
  const adopted = [...adoptedSet].filter((n) => present.has(n))
  const etc: string[] = []
  for (const [name, files] of Object.entries(marker.etc ?? {})) {
    const dir = join(ETC_NETNS, name)
    let st
    try {
      st = lstatSync(dir)
    } catch {
      continue
    }
    if (!st.isDirectory()) continue // not what the lab made: never touched
    for (const f of files) if (existsSync(join(dir, f)) || isLink(join(dir, f))) etc.push(join(dir, f))
    etc.push(dir)
  }
  return {
    labId: marker.labId,
    label: marker.label,
    ownerPid: marker.ownerPid,
    namespaces,
    adopted,
    processes: await pidsIn(exec, namespaces),
    etc,
    containers: marker.containers ?? [],
    ...(exec.kind === 'local' && markedTempDir(marker) !== undefined ? { tempDir: markedTempDir(marker) } : {}),
    marker: markerPath(marker.labId),
  }
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink()
  } catch {
    return false
  }
}

export async function sweep(options: SweepOptions = {}): Promise<SweepReport> {
  const exec = options.executor ?? defaultExecutor()
  const dryRun = options.dryRun ?? (options.force === undefined ? false : !options.force)
  const { markers, bad } = readMarkerFiles()
  const report: SweepReport = { removed: [], kept: [], live: [], bad, lookalikes: [], failed: [] }
  const present = new Set(await listNetns(exec))
  const listed = new Set<string>()
  for (const marker of markers) {
    for (const n of [...marker.namespaces, ...(marker.adopted ?? [])]) listed.add(n)
    if (options.owner !== undefined && marker.ownerPid !== options.owner) continue
    if (ownerAlive(marker)) {
      report.live.push(marker)
      continue
    }
    if (marker.kept === true && options.kept !== true) {
      report.kept.push(marker)
      continue
    }
    try {
      const p = await plan(exec, marker, present)
      report.removed.push(p)
      if (dryRun) continue
      const result = await destroyNamespaces(exec, [...p.namespaces, ...p.adopted], new Set(p.adopted), marker.etc ?? {})
      report.failed.push(...result.leftover)
      if (p.tempDir !== undefined) removeMarkedTempDir(marker) // lab.tempDir() of the dead owner, as the plan says
      if (p.containers.length > 0) {
        const r = await exec.run(['docker', 'rm', '-f', '-v', ...p.containers]).catch(() => undefined)
        if (r === undefined || r.exitCode !== 0) report.failed.push(...p.containers.map((c) => `container ${c}`))
      }
      const etcLeft = p.etc.filter((e) => existsSync(e) || isLink(e))
      report.failed.push(...etcLeft)
      if (result.leftover.length === 0 && etcLeft.length === 0) removeMarker(marker.labId)
    } catch (e) {
      // One lab that cannot be removed never stops the sweep of the others.
      report.failed.push(`lab ${marker.labId}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`)
    }
  }
  if (!dryRun) {
    removeDeadWritersTemps()
    finishEtcNetnsSteps(options.owner) // /etc/netns itself, half created or half removed by a dead owner
  }
  report.lookalikes = [...present].filter((n) => parseKernelName(n) !== undefined && !listed.has(n))
  return report
}

// Labels come from marker files: never let one print control characters to a terminal.
const clean = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?')

/** Everything one removal does, as lines (the dry run and --force print the same). */
export function planLines(lab: SweepPlan): string[] {
  return [
    ...lab.processes.map((p) => `    kill process ${p}`),
    ...lab.namespaces.map((n) => `    delete namespace ${n}`),
    ...lab.adopted.map((n) => `    unlink adopted namespace ${n}`),
    ...lab.etc.map((e) => `    remove ${e}`),
    ...lab.containers.map((c) => `    remove container ${c}`),
    ...(lab.tempDir === undefined ? [] : [`    remove temp directory ${lab.tempDir}`]),
    `    remove marker ${lab.marker}`,
  ]
}

export function formatSweepReport(r: SweepReport, dryRun: boolean): string {
  const lines: string[] = []
  const verb = dryRun ? 'would remove' : 'removed'
  for (const lab of r.removed) {
    lines.push(`${verb} lab '${clean(lab.label)}' (id ${lab.labId}, dead owner pid ${lab.ownerPid}):`)
    lines.push(...planLines(lab))
  }
  for (const m of r.kept)
    lines.push(`kept lab '${clean(m.label)}' (id ${m.labId}): ${m.namespaces.join(', ')} — remove with: npx netspec sweep --kept --force`)
  for (const m of r.live) lines.push(`live lab '${clean(m.label)}' (id ${m.labId}, owner pid ${m.ownerPid} running): left alone`)
  for (const b of r.bad) lines.push(`bad marker ${clean(b.file)}: ${clean(b.reason)}; nothing in it was acted on (look at it, then remove it by hand)`)
  for (const n of r.lookalikes) lines.push(`namespace ${n} looks like netspec's but no lab marker lists it: left alone`)
  for (const n of r.failed) lines.push(`could not remove ${clean(n)}`)
  if (lines.length === 0) lines.push('nothing to sweep')
  return lines.join('\n')
}
