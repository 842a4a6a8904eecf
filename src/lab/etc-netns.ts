// /etc/netns/<name>: the files `ip netns exec` binds over /etc/<file> for the processes of one namespace.
// Created exclusively (an entry already there, even a symlink, is never written through or adopted) and
// removed only as far as the lab created it: its own files, then the directory if it is empty.
import * as fs from 'node:fs'
import { existsSync, lstatSync, mkdirSync, readFileSync, rmdirSync, unlinkSync } from 'node:fs'
import { constants as os } from 'node:os'
import * as path from 'node:path'
import { join } from 'node:path'
import { NetspecError } from '../errors.js'
import { AT_FDCWD, RENAME_NOREPLACE, libc } from '../kernel/netlink/ffi.js'
import { etcNetnsRoot } from './etc-netns-root.js'
import { STATE_DIR, ownerTag, processStartTime, writeExclusive } from './owner.js'

export const ETC_NETNS = '/etc/netns'
// Whether netspec created /etc/netns is kept in a file inside it, not in memory and not in a state dir: the
// process that created it may be another worker, one that crashed, or one with its own NETSPEC_STATE_DIR, and
// whoever removes the last lab's files must remove the directory. (`ip netns exec` mounts only files of
// /etc/netns/NAME/, so a dotfile at the top is never seen by lab processes.)
export const ETC_NETNS_CREATED = join(ETC_NETNS, '.netspec-created')

/**
 * The files every lab namespace gets by default, so that a lab process writing /etc/resolv.conf or /etc/hosts
 * (dhclient-script, a daemon) writes its namespace's copy, never the machine's. hosts: a copy of the machine's
 * (localhost and the machine's own name resolve as before). resolv.conf: no server (glibc then asks 127.0.0.1
 * in the lab namespace and fails at once), because the machine's resolver is not reachable from a sealed lab
 * anyway and a copy would only make lookups time out. Only files the machine has: `ip netns exec` cannot bind
 * over a missing /etc file (it would warn on every command).
 */
export function defaultEtcFiles(name: string): [string, string][] {
  const out: [string, string][] = []
  if (existsSync('/etc/resolv.conf'))
    out.push(['resolv.conf', `# netspec: resolv.conf of lab namespace ${name} (not the machine's); no resolver configured.\n# Give one with lab.namespace(label, { files: { 'resolv.conf': 'nameserver …\\n' } }).\n`])
  if (existsSync('/etc/hosts')) {
    let hosts = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'
    try {
      hosts = readFileSync('/etc/hosts', 'utf8')
    } catch {
      // unreadable: the minimal one
    }
    out.push(['hosts', hosts])
  }
  return out
}

const exists = (what: string, name: string, hint: string) =>
  new NetspecError('command-failed', `${what} already exists (not created by this lab): netspec will not write through it or remove it`, {
    netns: name,
    hint,
  })

const root = etcNetnsRoot(fs, path, ETC_NETNS, join(STATE_DIR, 'etc-pending')) // records of steps beside /etc/netns (root-only)

/** rename(2) that never replaces what is at `to` (renameat2 RENAME_NOREPLACE where libc is at hand). */
export function renameNoReplace(from: string, to: string): void {
  const c = libc()
  if (c !== undefined && c.renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) === 0) return
  const errno = c?.errno()
  // No libc, or a file system without the flag (EINVAL): plain rename, which replaces only an empty directory.
  if (errno === undefined || errno === os.errno.EINVAL || errno === os.errno.ENOSYS) return fs.renameSync(from, to)
  const code = Object.entries(os.errno).find(([, n]) => n === errno)?.[0] ?? `errno ${errno}`
  throw Object.assign(new Error(`${code}: rename '${from}' -> '${to}'`), { code, errno: -errno })
}

/**
 * Checks /etc/netns is a real directory. Where it is missing it is created with netspec's note already inside, in
 * one step (etc-netns-root.ts): an owner killed at any instant leaves no /etc/netns without its note.
 */
function ensureEtcNetnsDir(): void {
  let st: fs.Stats
  try {
    st = lstatSync(ETC_NETNS)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    root.create(process.pid, ownerTag(), renameNoReplace) // false: another lab made it meanwhile, as good
    st = lstatSync(ETC_NETNS) // ENOENT (removed again at once): the caller starts again
  }
  if (st.isSymbolicLink() || !st.isDirectory())
    throw new NetspecError('not-permitted', `${ETC_NETNS} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}: refusing to create namespace files through it`, {
      hint: `${ETC_NETNS} must be a real directory; check who made it (ls -l ${ETC_NETNS}) and remove it if it is not the machine's`,
    })
}

/**
 * Creates /etc/netns/<name> and its files, all exclusively. Throws (having created nothing that stays) when
 * anything is already there: a directory, a file or a symlink of that name is never the lab's.
 */
export function createEtcNetns(name: string, files: readonly (readonly [string, string])[]): void {
  const dir = join(ETC_NETNS, name)
  // Another lab's teardown may remove an empty /etc/netns (it made it) between our check and our mkdir: start again.
  for (let attempt = 1; ; attempt++) {
    try {
      ensureEtcNetnsDir()
      mkdirSync(dir, { mode: 0o755 }) // fails with EEXIST on anything there, a symlink included: never followed
      break
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'EEXIST')
        throw exists(dir, name, `a leftover of another run, or someone else's; look at it (ls -la ${dir}) and remove it if it is not needed`)
      if (code !== 'ENOENT' || attempt === 5) throw e
    }
  }
  const made: string[] = []
  try {
    for (const [file, content] of files) {
      if (!writeExclusive(join(dir, file), content, 0o644)) throw exists(join(dir, file), name, 'a file appeared in the lab’s new directory: something else writes there')
      made.push(file)
    }
  } catch (e) {
    removeEtcNetnsFiles(name, made)
    throw e
  }
}

/**
 * Removes the files the lab wrote in /etc/netns/<name> (a symlink is unlinked, never followed), then the directory
 * if it is empty, then /etc/netns if netspec created it and it is empty. Returns what had to stay.
 */
export function removeEtcNetnsFiles(name: string, files: readonly string[]): string[] {
  const dir = join(ETC_NETNS, name)
  const left: string[] = []
  let st
  try {
    st = lstatSync(dir)
  } catch {
    return left // never created, or already gone
  }
  if (!st.isDirectory()) return [dir] // not what the lab made: never touched
  for (const f of files) {
    const p = join(dir, f)
    try {
      if (lstatSync(p).isDirectory()) left.push(p)
      else unlinkSync(p)
    } catch {
      // already gone
    }
  }
  try {
    rmdirSync(dir)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') left.push(dir)
  }
  removeEtcNetnsIfOurs()
  return left
}

/** Removes /etc/netns when netspec created it and nothing but its own note is left in it (etc-netns-root.ts). */
export function removeEtcNetnsIfOurs(): void {
  root.removeIfOurs(process.pid, ownerTag())
}

/**
 * Completes a creation or removal of /etc/netns itself that a dead owner left half done (an entry beside it named
 * with that owner's PID and start-time tag): the sweep's part; the reaper does the same for its own owner.
 */
export function finishEtcNetnsSteps(owner?: number): string[] {
  return root.finish((pid, tag) => {
    if (pid === process.pid || (owner !== undefined && pid !== owner)) return false
    const start = processStartTime(pid)
    return start === undefined || ownerTag(pid, start) !== tag
  })
}
