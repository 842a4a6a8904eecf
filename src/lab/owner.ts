// Who owns what: kernel names carry the owner's PID, and a marker file per lab under /run/netspec
// records the owner's start time (so a reused PID is not mistaken for a live owner) and the
// namespaces the lab creates. Sweeps act only on what a marker lists: never on look-alikes.
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { basename, isAbsolute, join, normalize } from 'node:path'

export const NAME_PREFIX = 'ns'
export const STATE_DIR = process.env.NETSPEC_STATE_DIR ?? '/run/netspec'
export const LABS_DIR = join(STATE_DIR, 'labs')

let labCounter = 0

/** A short run-unique lab id: owner PID and a per-process counter, e.g. `4711-3`. */
export function nextLabId(pid = process.pid): string {
  labCounter += 1
  return `${pid}-${labCounter}`
}

/**
 * Kernel name of a lab namespace: `ns-<pid>-<lab#>-<label>`, e.g. `ns-4711-3-router`. Readable in
 * `ip netns list`, unique across parallel workers, and traceable to its owner process.
 */
export function kernelName(labId: string, label: string): string {
  const safe = label.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 32)
  return `${NAME_PREFIX}-${labId}-${safe}`
}

export function parseKernelName(name: string): { pid: number; lab: number; label: string } | undefined {
  const m = /^ns-(\d+)-(\d+)-(.+)$/.exec(name)
  return m === null ? undefined : { pid: Number(m[1]), lab: Number(m[2]), label: m[3]! }
}

/** The kernel's start time of a process (clock ticks since boot), or undefined if it is gone. */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[19])
  } catch {
    return undefined
  }
}

export interface LabMarker {
  version: 1
  labId: string
  label: string
  ownerPid: number
  ownerStart: number | undefined
  createdAt: string
  /** Kernel names of namespaces this lab created or is about to create. */
  namespaces: string[]
  /** Kernel names linked to namespaces the lab did not create (adopted containers): only unlinked. */
  adopted?: string[]
  /** Containers started for this lab (ids), removed with it. */
  containers?: string[]
  /** Kept for debugging (NETSPEC_KEEP): sweeps and reapers leave it alone until `netspec sweep --kept`. */
  kept?: boolean
  /** The lab's temp directory (`lab.tempDir()`), removed with the lab if its owner dies. */
  tempDir?: string
}

/**
 * Whether `dir` can only be this lab's temp directory (an absolute, normalised path whose last part is
 * `netspec-lab-<labId>-XXXXXX`, as mkdtemp names it): a marker must never make a sweep remove anything else.
 */
export function isLabTempDir(labId: string, dir: unknown): dir is string {
  if (typeof dir !== 'string' || !isAbsolute(dir) || normalize(dir) !== dir) return false
  const expected = new RegExp(`^netspec-lab-${labId.replace(/[^\d-]/g, '')}-[A-Za-z0-9]{6}$`)
  return /^\d+-\d+$/.test(labId) && expected.test(basename(dir))
}

/** Removes the temp directory a dead lab's marker names, if it is one (a real directory, not a link). */
export function removeMarkedTempDir(marker: Pick<LabMarker, 'labId' | 'tempDir'>): void {
  const dir = marker.tempDir
  if (!isLabTempDir(marker.labId, dir)) return
  try {
    if (!lstatSync(dir).isDirectory()) return
  } catch {
    return // already gone
  }
  rmSync(dir, { recursive: true, force: true })
}

export function markerPath(labId: string): string {
  return join(LABS_DIR, `${labId}.json`)
}

export function writeMarker(marker: LabMarker): void {
  mkdirSync(LABS_DIR, { recursive: true })
  const path = markerPath(marker.labId)
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(marker, null, 2)}\n`)
  renameSync(tmp, path)
}

export function removeMarker(labId: string): void {
  rmSync(markerPath(labId), { force: true })
}

export function readMarkers(): LabMarker[] {
  if (!existsSync(LABS_DIR)) return []
  const out: LabMarker[] = []
  for (const file of readdirSync(LABS_DIR)) {
    if (!file.endsWith('.json')) continue
    try {
      const m = JSON.parse(readFileSync(join(LABS_DIR, file), 'utf8')) as LabMarker
      if (m.version === 1 && typeof m.labId === 'string') out.push(m)
    } catch {
      // a half-written marker of a crashed writer: its .tmp never replaced anything; ignore
    }
  }
  return out
}

/** Is the process that wrote this marker still the same live process? */
export function ownerAlive(marker: Pick<LabMarker, 'ownerPid' | 'ownerStart'>): boolean {
  const start = processStartTime(marker.ownerPid)
  if (start === undefined) return false
  return marker.ownerStart === undefined || marker.ownerStart === start
}
