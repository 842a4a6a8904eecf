// Removing namespaces for good: processes inside are stopped first (a namespace whose last process
// lives on would outlive its name, unseen), then the names go in one batch, then their /etc/netns
// files, and finally the kernel is asked whether anything is left.
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { NetspecError } from '../errors.js'
import type { Executor } from '../exec/index.js'
import { listNetns } from '../kernel/ip.js'
import { canEnterNamespaces, removeNamespace } from '../kernel/setns.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** PIDs of processes whose network namespace is one of these (local machine: a /proc scan, no spawn). */
export async function pidsIn(exec: Executor, names: readonly string[]): Promise<number[]> {
  if (names.length === 0) return []
  if (exec.kind !== 'local') {
    const r = await exec.run(['ip', '-force', '-batch', '-'], { input: names.map((n) => `netns pids ${n}`).join('\n') + '\n' })
    return r.stdout.split(/\s+/).filter(Boolean).map(Number).filter((p) => p > 0 && p !== process.pid)
  }
  const inodes = new Set<string>()
  for (const name of names) {
    try {
      inodes.add(`net:[${statSync(`/run/netns/${name}`).ino}]`)
    } catch {
      // already gone
    }
  }
  if (inodes.size === 0) return []
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (inodes.has(readlinkSync(`/proc/${entry}/ns/net`))) pids.push(Number(entry))
    } catch {
      // exited meanwhile, or a kernel thread
    }
  }
  return pids.filter((p) => p !== process.pid)
}

/** SIGKILLs these PIDs (all started by this lab) and waits until they are gone. */
export async function killAndWait(exec: Executor, pids: readonly number[], deadlineMs = 3000): Promise<number[]> {
  if (pids.length === 0) return []
  if (exec.kind === 'local') {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    const until = Date.now() + deadlineMs
    let alive = [...pids]
    while (alive.length > 0 && Date.now() < until) {
      alive = alive.filter((p) => existsSync(`/proc/${p}`) && !isZombie(p))
      if (alive.length > 0) await sleep(5)
    }
    return alive
  }
  await exec.run(['kill', '-9', ...pids.map(String)])
  return []
}

// A zombie has already left its namespaces (the kernel drops them before the process is reaped).
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat[stat.lastIndexOf(')') + 2] === 'Z'
  } catch {
    return true
  }
}

export interface DestroyResult {
  /** Namespaces that still exist afterwards: a leak. */
  leftover: string[]
  /** Processes that would not die. */
  stubborn: number[]
}

/** Deletes lab namespaces (tolerating ones already gone) and their /etc/netns files, then verifies. */
export async function destroyNamespaces(
  exec: Executor,
  names: readonly string[],
  adopted: ReadonlySet<string> = new Set(),
): Promise<DestroyResult> {
  if (names.length === 0) return { leftover: [], stubborn: [] }
  // Adopted namespaces (a container's) are only unlinked: their processes are not ours to stop.
  const stubborn = await killAndWait(exec, await pidsIn(exec, names.filter((n) => !adopted.has(n))))
  if (exec.kind === 'local' && canEnterNamespaces()) {
    for (const n of names) removeNamespace(n) // what `ip netns del` does, without a process; a name already gone is fine
  } else {
    // -force: keep going past lines whose namespace is already gone.
    await exec.run(['ip', '-force', '-batch', '-'], { input: names.map((n) => `netns del ${n}`).join('\n') + '\n' })
  }
  for (const name of names) removeEtcNetns(name)
  // Ask the kernel what is left: locally the bind mounts' files (no process), elsewhere `ip netns list`.
  if (exec.kind === 'local') return { leftover: names.filter((n) => existsSync(`/run/netns/${n}`)), stubborn }
  const still = new Set(await listNetns(exec))
  return { leftover: names.filter((n) => still.has(n)), stubborn }
}

export const ETC_NETNS = '/etc/netns'
// Whether netspec created /etc/netns is kept in a file inside it, not in memory and not in a state dir: the
// process that created it may be another worker, one that crashed, or one with its own NETSPEC_STATE_DIR, and
// whoever removes the last lab's files must remove the directory. (`ip netns exec` mounts only files of
// /etc/netns/NAME/, so a dotfile at the top is never seen by lab processes.)
export const ETC_NETNS_CREATED = join(ETC_NETNS, '.netspec-created')

/** Called before creating /etc/netns/NAME: creates /etc/netns if needed and notes that netspec did. */
export function noteEtcNetns(): void {
  try {
    mkdirSync(ETC_NETNS)
  } catch {
    return // it was there already (the machine's own, or another lab's)
  }
  writeFileSync(ETC_NETNS_CREATED, `${process.pid}\n`)
}

export function removeEtcNetns(name: string): void {
  rmSync(`${ETC_NETNS}/${name}`, { recursive: true, force: true })
  removeEtcNetnsIfOurs()
}

/** Removes /etc/netns when netspec created it and nothing but its own note is left in it. */
export function removeEtcNetnsIfOurs(): void {
  try {
    if (!existsSync(ETC_NETNS_CREATED)) return
    const left = readdirSync(ETC_NETNS).filter((f) => f !== '.netspec-created')
    if (left.length > 0) return // other labs still have files there
    rmSync(ETC_NETNS_CREATED, { force: true })
    rmdirSync(ETC_NETNS)
  } catch {
    // another lab wrote meanwhile, or already gone
  }
}

export function teardownFailed(lab: string, result: DestroyResult, errors: unknown[]): NetspecError {
  const parts: string[] = []
  if (result.leftover.length > 0) parts.push(`namespaces still present: ${result.leftover.join(', ')}`)
  if (result.stubborn.length > 0) parts.push(`processes that would not stop: ${result.stubborn.join(', ')}`)
  for (const e of errors) parts.push(e instanceof Error ? e.message.split('\n')[0]! : String(e))
  return new NetspecError('teardown-failed', `teardown of lab '${lab}' left things behind: ${parts.join('; ')}`, {
    lab,
    hint: 'run `npx netspec sweep --force` to remove them, and please report this as a bug',
    cause: errors[0],
  })
}
