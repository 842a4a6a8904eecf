// Writing where someone less trusted may also write. netspec runs as root, but the project's .netspec/diagnostics
// (or a reporter's summary file) sits in a checkout that its non-root owner can change at any moment: a symlink
// planted at a file or directory name must never make root write, copy or delete anywhere else.
//
// How: each directory is opened once (O_DIRECTORY | O_NOFOLLOW for the components netspec makes), and everything
// after that is done relative to the open descriptor, through /proc/self/fd/<fd>/<name> (Linux's openat(), which
// Node lacks): renaming or swapping a path component afterwards cannot redirect a write. Files are written to an
// exclusive temp name (O_CREAT | O_EXCL | O_NOFOLLOW) and renamed over the final name: rename() replaces a
// planted symlink instead of following it. Removal walks descriptors too, so a tree swapped under it is not
// followed. A write that is refused throws a NetspecError ('not-permitted') that its caller reports.
import { closeSync, constants, copyFileSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmdirSync, unlinkSync, writeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { basename, dirname, isAbsolute, join, normalize } from 'node:path'
import { NetspecError } from '../errors.js'

const DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW
const EXCL = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW

/** The entry `name` of the directory open as `fd`, wherever that directory is now (openat() through /proc). */
export function at(fd: number, name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) throw new Error(`not a plain file name: ${JSON.stringify(name)}`)
  return `/proc/self/fd/${fd}/${name}`
}

const refused = (what: string, why: string, hint?: string) =>
  new NetspecError('not-permitted', `netspec refused to write ${what}: ${why}`, {
    hint: hint ?? `remove or rename ${what} (netspec makes it itself, as a real directory or file); a symbolic link there is never followed`,
  })

/** Opens (making it, mode 0755, if missing) the directory `name` inside directory `parent`, refusing a symlink or a non-directory. */
export function openSubdir(parent: number, name: string, shownAs: string, mode = 0o755, create = true): number {
  try {
    if (create) mkdirSync(at(parent, name), { mode }) // mkdir never follows a link: EEXIST on anything there
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw refused(shownAs, (e as Error).message)
  }
  try {
    return openSync(at(parent, name), DIR)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    // O_DIRECTORY on a link says ENOTDIR: ask lstat which it was.
    const link = code === 'ELOOP' || (code === 'ENOTDIR' && isLink(at(parent, name)))
    throw refused(shownAs, link ? 'it is a symbolic link' : code === 'ENOTDIR' ? 'it is not a directory' : (e as Error).message)
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink()
  } catch {
    return false
  }
}

/**
 * Opens the directory `path` for writing files into it, making what is missing. A relative path is walked from
 * the process's working directory (held by the process, so it cannot be swapped) and no component of it may be a
 * symlink; an absolute path is the user's own setting: its parent is taken as it resolves, its last component
 * must not be a symlink. The caller closes the descriptor. `create: false` makes nothing (a missing one throws).
 */
export function openWritableDir(path: string, options: { create?: boolean } = {}): number {
  const create = options.create ?? true
  const norm = normalize(path)
  let fd: number
  let parts: string[]
  if (isAbsolute(norm)) {
    const parent = dirname(norm)
    if (create) mkdirSync(parent, { recursive: true })
    fd = openSync(parent, constants.O_RDONLY | constants.O_DIRECTORY)
    parts = norm === '/' ? [] : [basename(norm)]
  } else {
    parts = norm.split('/').filter((p) => p !== '' && p !== '.')
    if (parts.includes('..')) throw refused(path, "it leads out of the working directory ('..')", 'give a path inside the project, or an absolute one')
    fd = openSync('.', constants.O_RDONLY | constants.O_DIRECTORY)
  }
  let shown = isAbsolute(norm) ? dirname(norm) : '.'
  for (const p of parts) {
    shown = join(shown, p)
    try {
      const next = openSubdir(fd, p, shown, 0o755, create)
      closeSync(fd)
      fd = next
    } catch (e) {
      closeSync(fd)
      throw e
    }
  }
  return fd
}

const tempName = (name: string) => `.${name.slice(0, 180)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`

/** Puts the finished temp entry in place: rename() replaces a file or link at `name`, never follows it. */
function publish(dir: number, tmp: string, name: string, shownAs: string): void {
  try {
    renameSync(at(dir, tmp), at(dir, name))
  } catch (e) {
    removeAt(dir, tmp)
    throw refused(shownAs, (e as NodeJS.ErrnoException).code === 'EISDIR' || (e as NodeJS.ErrnoException).code === 'ENOTEMPTY' ? 'a directory is in its place' : (e as Error).message)
  }
}

/** Writes `data` as the file `name` in directory `dir` (see the top of this file); `shownAs` names it in errors. */
export function writeFileAt(dir: number, name: string, data: string | Uint8Array, shownAs: string, mode = 0o644): void {
  const tmp = tempName(name)
  let fd: number
  try {
    fd = openSync(at(dir, tmp), EXCL, mode)
  } catch (e) {
    throw refused(shownAs, (e as Error).message)
  }
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data)
  } catch (e) {
    closeSync(fd)
    removeAt(dir, tmp)
    throw refused(shownAs, (e as Error).message)
  }
  closeSync(fd)
  publish(dir, tmp, name, shownAs)
}

/** Copies the regular file `source` (a path netspec trusts: its own 0700 directory) to `name` in directory `dir`. */
export function copyFileAt(dir: number, name: string, source: string, shownAs: string): void {
  const tmp = tempName(name)
  try {
    copyFileSync(source, at(dir, tmp), constants.COPYFILE_EXCL) // O_CREAT | O_EXCL: never through a link
  } catch (e) {
    removeAt(dir, tmp)
    throw refused(shownAs, (e as Error).message)
  }
  publish(dir, tmp, name, shownAs)
}

/**
 * Copies the directory tree `source` (netspec's own) to `name` in directory `dir`, regular files and directories
 * only (sockets and FIFOs are skipped), replacing what an earlier run left there. `skip` names top-level entries
 * of `source` that are not copied.
 */
export function copyTreeAt(dir: number, name: string, source: string, shownAs: string, skip: readonly string[] = []): void {
  const tmp = tempName(name)
  let top: number
  try {
    top = openSubdir(dir, tmp, shownAs)
  } catch (e) {
    removeAt(dir, tmp)
    throw e
  }
  try {
    copyInto(top, source, skip)
  } catch (e) {
    closeSync(top)
    removeAt(dir, tmp)
    throw refused(shownAs, (e as Error).message)
  }
  closeSync(top)
  removeAt(dir, name) // rename() cannot replace a non-empty directory: the earlier copy goes first
  publish(dir, tmp, name, shownAs)
}

function copyInto(dst: number, source: string, skip: readonly string[] = []): void {
  for (const e of readdirSync(source, { withFileTypes: true })) {
    if (skip.includes(e.name)) continue
    if (e.isFile()) copyFileSync(join(source, e.name), at(dst, e.name), constants.COPYFILE_EXCL)
    else if (e.isDirectory()) {
      mkdirSync(at(dst, e.name), { mode: 0o755 })
      const sub = openSync(at(dst, e.name), DIR)
      try {
        copyInto(sub, join(source, e.name))
      } finally {
        closeSync(sub)
      }
    }
  }
}

/**
 * Removes the entry `name` of directory `dir`, a whole tree if it is a directory, without following any symlink in
 * it (each level is opened O_NOFOLLOW and emptied through its descriptor). Missing is fine.
 */
export function removeAt(dir: number, name: string): void {
  try {
    unlinkSync(at(dir, name)) // a file or a symlink (the link itself)
    return
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return
    if (code !== 'EISDIR' && code !== 'EPERM') throw e
  }
  let sub: number
  try {
    sub = openSync(at(dir, name), DIR)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return
    if (code === 'ELOOP' || code === 'ENOTDIR') return removeAt(dir, name) // swapped for a link or file meanwhile
    throw e
  }
  try {
    if (!fstatSync(sub).isDirectory()) return
    for (const e of readdirSync(`/proc/self/fd/${sub}`)) removeAt(sub, e)
  } finally {
    closeSync(sub)
  }
  try {
    rmdirSync(at(dir, name))
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
}

/** Names in the directory open as `dir`. */
export function listAt(dir: number): string[] {
  return readdirSync(`/proc/self/fd/${dir}`)
}

/**
 * Why a directory (a real path) is not safe for root to make private directories in, or undefined if it is: every
 * component from `/` down must belong to root or to us, and one that others may write must be sticky (as /tmp is),
 * else another user could rename what we made there and put a symlink in its place (TMPDIR=/tmp/user/1000 under
 * `sudo -E`, for one).
 */
export function untrustedDir(path: string): string | undefined {
  const uid = process.geteuid?.() ?? 0
  let at = ''
  for (const part of ['', ...path.split('/').filter((p) => p !== '')]) {
    at = part === '' ? '/' : `${at === '/' ? '' : at}/${part}`
    let st
    try {
      st = lstatSync(at)
    } catch (e) {
      return `${at} cannot be read: ${(e as Error).message}`
    }
    if (st.isSymbolicLink()) return `${at} is a symbolic link`
    if (!st.isDirectory()) return `${at} is not a directory`
    if (st.uid !== 0 && st.uid !== uid) return `${at} belongs to uid ${st.uid}, who could move what netspec makes there`
    if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) return `${at} is writable by others (mode ${(st.mode & 0o7777).toString(8)}) and not sticky`
  }
  return undefined
}
