// Who owns what: kernel names carry the owner's PID and start time, and a marker file per lab under
// /run/netspec records the owner's start time (so a reused PID is not mistaken for a live owner) and the
// namespaces the lab creates. Sweeps act only on what a valid marker lists: never on look-alikes, and never
// on a marker that fails the schema (src/lab/marker-check.ts).
import { chmodSync, closeSync, constants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, linkSync, readdirSync, realpathSync, renameSync, rmSync, writeSync } from 'node:fs'
import { basename, dirname, isAbsolute, join, normalize } from 'node:path'
import { NetspecError } from '../errors.js'
import { MARKER_CHECK_SOURCE } from './marker-check.js'
import { untrustedDir } from './safe-files.js'

export const NAME_PREFIX = 'ns'
export const STATE_DIR = process.env.NETSPEC_STATE_DIR ?? '/run/netspec'
export const LABS_DIR = join(STATE_DIR, 'labs')

let labCounter = 0
let ownTag: string | undefined

/**
 * The part of a lab id that no earlier process with the same PID can have had: the owner's start time (clock
 * ticks since boot) in base 36, e.g. `k3x9q`; random where /proc cannot tell it.
 */
export function ownerTag(pid = process.pid, start = processStartTime(pid)): string {
  if (start !== undefined) return start.toString(36)
  if (pid === process.pid) return (ownTag ??= Math.floor(Math.random() * 36 ** 6).toString(36))
  return Math.floor(Math.random() * 36 ** 6).toString(36)
}

/**
 * A short run-unique lab id: owner PID, owner tag and a per-process counter, e.g. `4711-k3x9q-3`. A later
 * process that gets PID 4711 again has another start time, so it never repeats this id (or its kernel names).
 */
export function nextLabId(pid = process.pid, start = processStartTime(pid)): string {
  labCounter += 1
  return `${pid}-${ownerTag(pid, start)}-${labCounter}`
}

/**
 * Kernel name of a lab namespace: `ns-<pid>-<tag>-<lab#>-<label>`, e.g. `ns-4711-k3x9q-3-router`. Readable in
 * `ip netns list`, unique across parallel workers and PID reuse, and traceable to its owner process.
 */
export function kernelName(labId: string, label: string): string {
  const safe = label.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 32)
  return `${NAME_PREFIX}-${labId}-${safe}`
}

export function parseKernelName(name: string): { pid: number; tag: string; lab: number; label: string } | undefined {
  const m = /^ns-([1-9]\d{0,9})-([0-9a-z]{1,13})-([1-9]\d{0,9})-([A-Za-z0-9_.-]{1,32})$/.exec(name)
  return m === null ? undefined : { pid: Number(m[1]), tag: m[2]!, lab: Number(m[3]), label: m[4]! }
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
  /** /etc/netns/<name> directories this lab created (or is about to), with the files it wrote in each. */
  etc?: Record<string, string[]>
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
  // Lab ids are <pid>-<tag>-<n> (digits, lower-case letters, '-'): nothing in one is regex syntax.
  return /^[0-9a-z-]{3,40}$/.test(labId) && new RegExp(`^netspec-lab-${labId}-[A-Za-z0-9]{6}$`).test(basename(dir))
}

/**
 * The temp directory a dead lab's marker names, if it can only be that lab's: named as mkdtemp named it for this
 * lab id, its parent path free of symlinks (its real path is itself: a link in it could lead anywhere), and a real
 * directory, not a link, ours and 0700, in a parent no other user can change (safe-files.ts untrustedDir).
 * Undefined otherwise (or when it is gone).
 */
export function markedTempDir(marker: Pick<LabMarker, 'labId' | 'tempDir'>): string | undefined {
  const dir = marker.tempDir
  if (!isLabTempDir(marker.labId, dir)) return undefined
  try {
    if (realpathSync(dirname(dir)) !== dirname(dir)) return undefined
    // As netspec makes it (src/lab/tempdir.ts): ours, 0700, in a parent no other user can change.
    const st = lstatSync(dir)
    if (!st.isDirectory() || st.uid !== (process.geteuid?.() ?? 0) || (st.mode & 0o077) !== 0) return undefined
    return untrustedDir(dirname(dir)) === undefined ? dir : undefined
  } catch {
    return undefined // already gone
  }
}

/** Removes the temp directory a dead lab's marker names, if it is one (markedTempDir). */
export function removeMarkedTempDir(marker: Pick<LabMarker, 'labId' | 'tempDir'>): void {
  const dir = markedTempDir(marker)
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
}

const checkMarkerFn = new Function(`${MARKER_CHECK_SOURCE}\nreturn checkMarker`)() as (file: string, m: unknown) => string | undefined

/** Why this parsed marker (read from `file`, e.g. `4711-k3x9q-3.json`) may not be acted on, or undefined if it is valid. */
export function checkMarker(file: string, m: unknown): string | undefined {
  return checkMarkerFn(file, m)
}

export function markerPath(labId: string): string {
  return join(LABS_DIR, `${labId}.json`)
}

const stateDirError = (path: string, why: string) =>
  new NetspecError('not-permitted', `netspec's state directory ${path} ${why}: refusing to write lab markers there`, {
    hint: `${path} must be a real directory owned by root, writable by nobody else (netspec creates it 0700); remove or fix it (e.g. rm -r ${path}, or NETSPEC_STATE_DIR=<another dir>)`,
  })

/** Creates the state and marker directories root-only (0700) if missing, and refuses ones anybody else could write. */
export function ensureLabsDir(): void {
  for (const dir of [STATE_DIR, LABS_DIR]) ensureOwnDir(dir, dir === LABS_DIR)
}

/**
 * Creates `dir` (0700) if missing and refuses one that is a symlink, not a directory, not ours, or writable by
 * group or others: a directory netspec writes into, or removes entries of, must be nobody else's to change.
 */
export function ensureOwnDir(dir: string, rootOnly = false): void {
  try {
    mkdirSync(dir, { mode: 0o700 })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
  }
  const problem = ownDirProblem(dir)
  if (problem !== undefined) throw stateDirError(dir, problem)
  if (rootOnly && (lstatSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700) // made by an earlier netspec: root-only from now on
}

/** Why `dir` is not a directory only we can change (a symlink, not a directory, another owner, writable by others). */
export function ownDirProblem(dir: string): string | undefined {
  let st
  try {
    st = lstatSync(dir)
  } catch (e) {
    return `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`
  }
  if (st.isSymbolicLink()) return 'is a symbolic link'
  if (!st.isDirectory()) return 'is not a directory'
  const uid = process.geteuid?.() ?? 0
  if (st.uid !== uid) return `is owned by uid ${st.uid}, not by us (${uid})`
  if ((st.mode & 0o022) !== 0) return `is writable by others (mode ${(st.mode & 0o777).toString(8)})`
  return undefined
}

const EXCL = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW

/** Writes a file that must not exist yet, never through a symlink; returns false if something is there. */
export function writeExclusive(path: string, content: string, mode = 0o600): boolean {
  let fd: number
  try {
    fd = openSync(path, EXCL, mode)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST' || (e as NodeJS.ErrnoException).code === 'ELOOP') return false
    throw e
  }
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`${path} is not a regular file`)
    writeSync(fd, content)
  } finally {
    closeSync(fd)
  }
  return true
}

const written = new Set<string>()

/**
 * Writes the marker: the first time exclusively (a marker already there, e.g. a kept lab's, is never
 * overwritten), then by an exclusive temp file renamed over it. Neither follows a planted symlink.
 */
export function writeMarker(marker: LabMarker): void {
  ensureLabsDir()
  const path = markerPath(marker.labId)
  const text = `${JSON.stringify(marker, null, 2)}\n`
  const tmp = `${path}.${process.pid}.tmp`
  rmSync(tmp, { force: true }) // our own crashed write (rm never follows a symlink: it removes the link)
  if (!writeExclusive(tmp, text))
    throw new NetspecError('command-failed', `cannot write the lab marker: ${tmp} exists`, { lab: marker.label })
  if (written.has(marker.labId)) {
    renameSync(tmp, path)
    return
  }
  // The first time: published whole and exclusively at once. link() fails on anything at the path (a kept lab's
  // marker, a planted link), and an owner killed mid-write leaves only its .tmp, never a half marker that no sweep
  // could read (the torture test saw 2 in 1,000 SIGKILLs during the build with a plain exclusive write).
  try {
    linkSync(tmp, path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    throw new NetspecError('command-failed', `a lab marker ${path} exists already: refusing to overwrite it`, {
      lab: marker.label,
      hint: 'another lab (e.g. a kept one) owns it; this should not happen with unique lab ids: please report it',
    })
  } finally {
    rmSync(tmp, { force: true })
  }
  written.add(marker.labId)
}

/** Removes a marker file (the sweep's and the reaper's verb, for a dead owner's validated marker). */
export function removeMarker(labId: string): void {
  written.delete(labId)
  rmSync(markerPath(labId), { force: true })
}

/**
 * Removes this process's own marker of a lab, and only if this process wrote it: a marker that was already there
 * when the lab tried to write its own (a kept lab's, a planted file or link) is never this lab's to remove.
 */
export function removeOwnMarker(labId: string): void {
  if (!written.has(labId)) return
  removeMarker(labId)
}

export interface MarkerFiles {
  markers: LabMarker[]
  /** Markers that fail the schema (or cannot be read): reported by file name, nothing in them acted on. */
  bad: { file: string; reason: string }[]
}

/** Every marker file, checked against the schema. */
export function readMarkerFiles(dir = LABS_DIR): MarkerFiles {
  const out: MarkerFiles = { markers: [], bad: [] }
  if (!existsSync(dir)) return out
  // Markers are only as trustworthy as their directory: one anybody else can change (or a link to one) is read as
  // bad, every file in it, and nothing in them is acted on (netspec never writes markers there either).
  const unsafe = [...new Set([dirname(dir), dir])].map((d) => [d, ownDirProblem(d)] as const).find(([, p]) => p !== undefined)
  if (unsafe !== undefined) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) out.bad.push({ file, reason: `its directory ${unsafe[0]} ${unsafe[1]}` })
    return out
  }
  for (const file of readdirSync(dir)) {
    if (!file.endsWith('.json')) continue
    let parsed: unknown
    try {
      const fd = openSync(join(dir, file), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
      try {
        if (!fstatSync(fd).isFile()) throw new Error('not a regular file')
        parsed = JSON.parse(readFileSync(fd, 'utf8'))
      } finally {
        closeSync(fd)
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      out.bad.push({ file, reason: code === 'ELOOP' ? 'is a symbolic link' : `cannot be read: ${(e as Error).message}` })
      continue
    }
    const reason = checkMarker(file, parsed)
    if (reason === undefined) out.markers.push(parsed as LabMarker)
    else out.bad.push({ file, reason })
  }
  return out
}

/** The valid markers (see readMarkerFiles for the bad ones). */
export function readMarkers(): LabMarker[] {
  return readMarkerFiles().markers
}

/** Is the process that wrote this marker still the same live process? */
export function ownerAlive(marker: Pick<LabMarker, 'ownerPid' | 'ownerStart'>): boolean {
  const start = processStartTime(marker.ownerPid)
  if (start === undefined) return false
  return marker.ownerStart === undefined || marker.ownerStart === start
}
