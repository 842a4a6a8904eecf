// Removes what dead runs left behind — only what their markers list, never a look-alike. Every marker is
// untrusted input: it is checked against the schema (src/lab/marker-check.ts) and a bad one is reported by
// file name and left alone, never stopping the sweep of the others. Namespaces are reached only as
// /run/netns/<validated name>; the dry run lists exactly what --force does.
import { existsSync, lstatSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { invalidInput } from '../errors.js'
import { defaultExecutor, type Executor } from '../exec/index.js'
import { checkKeys } from '../values/options.js'
import { show } from '../values/show.js'
import { listNetns } from '../kernel/ip.js'
import { ETC_NETNS, finishEtcNetnsSteps } from './etc-netns.js'
import { LABS_DIR, markerPath, ownerAlive, parseKernelName, processStartTime, readMarkerFiles, markedTempDir, removeMarkedTempDir, removeMarker, type LabMarker } from './owner.js'
import { destroyNamespaces, pidsIn } from './teardown.js'
import { printable as clean } from '../values/show.js'

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
    if (pid === undefined || processStartTime(Number(pid)) !== undefined) continue
    // Only a plain file is a writer's temp file; anything else of that name is left (and never stops the sweep).
    try {
      if (lstatSync(join(LABS_DIR, f)).isFile()) rmSync(join(LABS_DIR, f), { force: true })
    } catch {
      // gone meanwhile
    }
  }
}

export interface SweepOptions {
  /**
   * Remove what the plan lists (as the CLI's --force). Without it, `sweep()` only reports: the API and
   * `netspec sweep` are both dry runs by default.
   */
  force?: boolean
  /** `dryRun: true` is the default; `dryRun: false` is the same as `force: true`. */
  dryRun?: boolean
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
  /** The lab's temp directory (`lab.tempDir()`), removed if it is one (isLabTempDir), on the local executor. */
  tempDir?: string
  /** What the lab made in its temp directory besides its files: captures and relay sockets (paths inside it). */
  tempContents?: string[]
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
  /** Namespaces (or /etc/netns entries) that could not be removed. */
  failed: string[]
  /** True when nothing was removed: the report is the plan (the default; `force: true` removes). */
  dryRun: boolean
}

/** Dry run unless asked to remove (`force: true` or `dryRun: false`); both given must agree. */
export function sweepIsDryRun(options: Pick<SweepOptions, 'force' | 'dryRun'>): boolean {
  const { force, dryRun } = options
  if (force !== undefined && typeof force !== 'boolean') throw invalidInput(`sweep: force must be true or false, got ${show(String(force))}`)
  if (dryRun !== undefined && typeof dryRun !== 'boolean') throw invalidInput(`sweep: dryRun must be true or false, got ${show(String(dryRun))}`)
  if (force !== undefined && dryRun !== undefined && force === dryRun)
    throw invalidInput(`sweep: force: ${force} and dryRun: ${dryRun} contradict each other`, { hint: 'pass one of them: { force: true } removes, the default only reports' })
  return dryRun ?? !(force ?? false)
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
    processes: await pidsIn(exec, namespaces, marker.ownerStart),
    etc,
    ...(exec.kind === 'local' && markedTempDir(marker) !== undefined ? { tempDir: markedTempDir(marker), tempContents: tempContents(markedTempDir(marker)!) } : {}),
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
  checkKeys(options, ['force', 'dryRun', 'kept', 'owner', 'executor'], 'sweep')
  const dryRun = sweepIsDryRun(options)
  const { markers, bad } = readMarkerFiles()
  const report: SweepReport = { removed: [], kept: [], live: [], bad, lookalikes: [], failed: [], dryRun }
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
      const result = await destroyNamespaces(exec, [...p.namespaces, ...p.adopted], new Set(p.adopted), marker.etc ?? {}, marker.ownerStart)
      report.failed.push(...result.leftover)
      if (p.tempDir !== undefined) removeMarkedTempDir(marker) // lab.tempDir() of the dead owner, as the plan says
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

/**
 * The captures (`captures/<capture>/<file>.pcap`) and relay sockets (`expose-<n>.sock`) in a dead lab's temp
 * directory, for the plan: they go with the directory (src/capture/capture.ts, src/expose/expose.ts). Read without
 * following links (lstat); a directory that cannot be read lists nothing.
 */
function tempContents(dir: string): string[] {
  const out: string[] = []
  try {
    for (const n of readdirSync(dir)) if (/^expose-\d+\.sock$/.test(n) && lstatSync(join(dir, n)).isSocket()) out.push(n)
    const caps = join(dir, 'captures')
    if (lstatSync(caps, { throwIfNoEntry: false })?.isDirectory() === true)
      for (const c of readdirSync(caps)) {
        if (!lstatSync(join(caps, c)).isDirectory()) continue
        for (const f of readdirSync(join(caps, c))) if (f.endsWith('.pcap') && lstatSync(join(caps, c, f)).isFile()) out.push(`captures/${c}/${f}`)
      }
  } catch {
    // gone meanwhile, or unreadable: the directory itself is still removed as planned
  }
  return out.sort()
}

/** Everything one removal does, as lines (the dry run and --force print the same). */
export function planLines(lab: SweepPlan): string[] {
  return [
    ...lab.processes.map((p) => `    kill process ${p}`),
    ...lab.namespaces.map((n) => `    delete namespace ${n}`),
    ...lab.adopted.map((n) => `    unlink adopted namespace ${n}`),
    ...lab.etc.map((e) => `    remove ${e}`),
    ...(lab.tempDir === undefined ? [] : [`    remove temp directory ${lab.tempDir}`, ...(lab.tempContents ?? []).map((f) => `      with ${f.endsWith('.pcap') ? 'capture' : 'relay socket'} ${f}`)]),
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
