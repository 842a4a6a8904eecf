// /etc/netns/<name>: the files `ip netns exec` binds over /etc/<file> for the processes of one namespace.
// Created exclusively (an entry already there, even a symlink, is never written through or adopted) and
// removed only as far as the lab created it: its own files, then the directory if it is empty.
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { NetspecError } from '../errors.js'
import { writeExclusive } from './owner.js'

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

/** Checks /etc/netns is a real directory (creating it, and noting that netspec did, if missing). */
function ensureEtcNetnsDir(): void {
  try {
    mkdirSync(ETC_NETNS, { mode: 0o755 })
    writeExclusive(ETC_NETNS_CREATED, `${process.pid}\n`, 0o644)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
  }
  const st = lstatSync(ETC_NETNS)
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

/** Removes /etc/netns when netspec created it and nothing but its own note is left in it. */
export function removeEtcNetnsIfOurs(): void {
  try {
    if (!existsSync(ETC_NETNS_CREATED)) return
    const left = readdirSync(ETC_NETNS).filter((f) => f !== '.netspec-created')
    if (left.length > 0) return // other labs still have files there
    rmSync(ETC_NETNS_CREATED, { force: true })
    try {
      rmdirSync(ETC_NETNS)
    } catch (e) {
      // Another lab created its directory meanwhile: /etc/netns stays, and is still netspec's to remove later.
      if ((e as NodeJS.ErrnoException).code === 'ENOTEMPTY') writeExclusive(ETC_NETNS_CREATED, `${process.pid}\n`, 0o644)
    }
  } catch {
    // another lab wrote meanwhile, or already gone
  }
}
