// Files for a test: one private directory per lab (mode 0700) for daemon configs, pid files, sockets and
// leases, removed at teardown after the lab's processes are stopped, and copied beside the diagnostics when
// the test fails (kept in place with a kept lab). Files are written by name only: a plain file name, created
// exclusively (O_EXCL | O_NOFOLLOW), so nothing outside the directory can be reached or overwritten.
import { closeSync, constants, mkdirSync, openSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NetspecError, invalidInput, type NetspecErrorContext } from '../errors.js'
import { commandFailed, type Executor } from '../exec/index.js'
import { untrustedDir } from './safe-files.js'

interface TempDirOwner {
  readonly id: string
  readonly executor: Executor
}

const dirs = new WeakMap<object, string>()

/** The lab's directory if it made one (for diagnostics), without making one. */
export function existingTempDir(lab: object): string | undefined {
  return dirs.get(lab)
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** Six random letters or digits, as mkdtemp's XXXXXX (the marker schema expects exactly this). */
function randomSuffix(): string {
  return [...randomBytes(6)].map((b) => ALPHABET[b % ALPHABET.length]).join('')
}

/**
 * The lab's private directory, made on first use: `/tmp/netspec-lab-<lab id>-XXXXXX`, mode 0700. On the local
 * executor its name is chosen first and handed to `record` (the lab writes it into its marker) before it is made,
 * so no crash can leave it unrecorded; mkdir() fails on anything already there (a planted link included).
 */
export async function labTempDir(lab: TempDirOwner, record?: (dir: string) => void): Promise<string> {
  const known = dirs.get(lab)
  if (known !== undefined) return known
  if (lab.executor.kind === 'local') {
    // Synchronous from the check above to dirs.set below: two concurrent first calls cannot both make one.
    // The real path of the parent is what the marker records (a sweep removes it only where its whole path is
    // real: src/lab/owner.ts markedTempDir).
    const parent = realpathSync(tmpdir())
    const why = untrustedDir(parent)
    if (why !== undefined)
      throw new NetspecError('not-permitted', `refusing to make the lab's temp directory in ${parent}: ${why}`, {
        lab: (lab as { label?: string }).label,
        hint: 'set TMPDIR to a directory that only root (or this user) can change, such as /tmp (sticky), or unset it',
      })
    for (let attempt = 1; ; attempt++) {
      const dir = join(parent, `netspec-lab-${lab.id}-${randomSuffix()}`)
      record?.(dir)
      try {
        mkdirSync(dir, { mode: 0o700 })
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 100) continue
        throw e
      }
      dirs.set(lab, dir)
      return dir
    }
  }
  const prefix = join(tmpdir(), `netspec-lab-${lab.id}-`)
  // Another executor runs the lab's processes elsewhere (a container): the directory must be there.
  const r = await lab.executor.run(['mktemp', '-d', `${prefix}XXXXXX`])
  if (r.exitCode !== 0) throw commandFailed(r, { what: 'creating the lab temp directory failed' })
  const dir = r.stdout.trim()
  // Two concurrent first calls: keep the first directory, drop ours.
  const raced = dirs.get(lab)
  if (raced !== undefined) {
    await removeDir(lab.executor, dir)
    return raced
  }
  dirs.set(lab, dir)
  return dir
}

/** A file name a user may give `writeFile`: one path component, no NUL, no leading '-', ≤ 255 bytes. */
export function checkFileName(name: unknown, ctx: NetspecErrorContext = {}): string {
  const hint = "a plain file name such as 'bird.conf' or 'dnsmasq.conf' (it is created in the lab's temp directory)"
  if (typeof name !== 'string' || name === '') throw invalidInput(`file name must be a non-empty string, got ${JSON.stringify(name)}`, { ...ctx, hint })
  const shown = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name)
  if (name.includes('\0')) throw invalidInput(`file name ${shown} contains a NUL byte`, { ...ctx, hint })
  if (name.includes('/')) throw invalidInput(`file name ${shown} contains '/': only a plain file name is allowed`, { ...ctx, hint })
  if (name === '.' || name === '..') throw invalidInput(`file name ${shown} names a directory`, { ...ctx, hint })
  if (name.startsWith('-')) throw invalidInput(`file name ${shown} starts with '-' (a command would read it as an option)`, { ...ctx, hint })
  if (/[\n\r]/.test(name)) throw invalidInput(`file name ${shown} contains a line break`, { ...ctx, hint })
  if (Buffer.byteLength(name) > 255) throw invalidInput(`file name ${shown} is ${Buffer.byteLength(name)} bytes; at most 255 are allowed`, { ...ctx, hint })
  return name
}

/**
 * Writes `text` to `<lab temp dir>/<netns>/<name>` (the namespace's own subdirectory, so two namespaces may
 * both have a `bird.conf`) and returns the absolute path. The file must not exist yet.
 */
export async function writeLabFile(lab: TempDirOwner, netns: string, name: string, text: string | Uint8Array, ctx: NetspecErrorContext): Promise<string> {
  checkFileName(name, ctx)
  if (typeof text !== 'string' && !(text instanceof Uint8Array)) throw invalidInput(`content of '${name}' must be a string or bytes`, ctx)
  const dir = join(await labTempDir(lab), netns)
  const file = join(dir, name)
  if (lab.executor.kind === 'local') {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    try {
      const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
      try {
        writeFileSync(fd, text)
      } finally {
        closeSync(fd)
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      throw new NetspecError(code === 'EEXIST' ? 'invalid-input' : 'command-failed', `could not write ${file}: ${code ?? String(e)}`, {
        ...ctx,
        hint: code === 'EEXIST' ? `'${name}' was already written in this namespace: pick another name` : undefined,
        cause: e,
      })
    }
    return file
  }
  // noclobber (`set -C`): the shell opens the file with O_EXCL, so an existing file or link is never followed.
  const r = await lab.executor.run(['sh', '-c', 'umask 077 && mkdir -p -- "$1" && set -C && cat > "$2"', 'sh', dir, file], {
    input: typeof text === 'string' ? text : Buffer.from(text).toString(),
  })
  if (r.exitCode !== 0) throw commandFailed(r, { ...ctx, what: `could not write ${file}` })
  return file
}

/** Removes the lab's directory (after its processes stopped); a kept lab keeps it. */
export async function removeLabTempDir(lab: TempDirOwner): Promise<void> {
  const dir = dirs.get(lab)
  if (dir === undefined) return
  dirs.delete(lab)
  await removeDir(lab.executor, dir)
}

async function removeDir(executor: Executor, dir: string): Promise<void> {
  if (executor.kind === 'local') rmSync(dir, { recursive: true, force: true })
  else {
    const r = await executor.run(['rm', '-rf', '--', dir])
    if (r.exitCode !== 0) throw commandFailed(r, { what: `removing ${dir} failed` })
  }
}
