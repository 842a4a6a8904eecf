// Removing namespaces for good: processes inside are stopped first (a namespace whose last process
// lives on would outlive its name, unseen), then the names go in one batch, then their /etc/netns
// files, and finally the kernel is asked whether anything is left.
import { closeSync, existsSync, openSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs'
import { NetspecError } from '../errors.js'
import type { Executor } from '../exec/index.js'
import { listNetns } from '../kernel/ip.js'
import { canEnterNamespaces, removeNamespace } from '../kernel/setns.js'
import { removeEtcNetnsFiles } from './etc-netns.js'
import { processStartTime } from './owner.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// Names are untrusted (a marker may be forged; a name may have been re-bound since the lab made it, e.g. by
// `ip netns attach NAME 1`): a name whose mount is the machine's own namespace (PID 1's) or this process's never
// names processes to stop. Unlinking such a name is harmless; killing "its" processes would stop the machine.
const SAFE_PIDS_SCRIPT =
  'init=$(stat -L -c %i /proc/1/ns/net) || exit 0; self=$(stat -L -c %i /proc/self/ns/net) || exit 0; ' +
  'for n; do i=$(stat -L -c %i "/run/netns/$n" 2>/dev/null) || continue; ' +
  '[ "$i" = "$init" ] || [ "$i" = "$self" ] || ip netns pids "$n"; done'

/** Inode links (`net:[N]`) of the namespaces whose processes are never netspec's to stop: PID 1's and this process's. */
export function protectedNamespaces(): Set<string> {
  const out = new Set<string>()
  for (const p of ['/proc/1/ns/net', '/proc/self/ns/net']) {
    try {
      out.add(readlinkSync(p))
    } catch {
      // /proc/1 unreadable (hidepid): this process's own is still protected
    }
  }
  return out
}

/**
 * PIDs of processes whose network namespace is one of these (local machine: a /proc scan, no spawn), never
 * those of the machine's own namespace or this process's, whatever name points at them. Locally, a namespace
 * holding any process that started before the lab's owner (`ownerStart`, clock ticks since boot; this process by
 * default) is not one the lab created (its namespaces are younger than its owner, and so is every process in
 * them): none of its processes is returned.
 */
export async function pidsIn(exec: Executor, names: readonly string[], ownerStart: number | undefined = processStartTime(process.pid)): Promise<number[]> {
  if (names.length === 0) return []
  if (exec.kind !== 'local') {
    const r = await exec.run(['sh', '-c', SAFE_PIDS_SCRIPT, 'sh', ...names])
    return r.stdout.split(/\s+/).filter(Boolean).map(Number).filter((p) => p > 0 && p !== process.pid)
  }
  const inodes = new Set<string>()
  const nsfs = statSync('/proc/self/ns/net').dev
  const machine = protectedNamespaces()
  for (const name of names) {
    try {
      const st = statSync(`/run/netns/${name}`)
      // Only a namespace mount counts: a plain file left by a crashed creation has an inode of /run's file
      // system, whose number could equal some namespace's and so name processes that are not the lab's.
      if (st.dev === nsfs && !machine.has(`net:[${st.ino}]`)) inodes.add(`net:[${st.ino}]`)
    } catch {
      // already gone
    }
  }
  if (inodes.size === 0) return []
  const found: { pid: number; ns: string }[] = []
  const older = new Set<string>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const ns = readlinkSync(`/proc/${entry}/ns/net`)
      if (!inodes.has(ns)) continue
      found.push({ pid: Number(entry), ns })
      const start = processStartTime(Number(entry))
      if (ownerStart !== undefined && start !== undefined && start < ownerStart) older.add(ns)
    } catch {
      // exited meanwhile, or a kernel thread
    }
  }
  return found.filter((f) => !older.has(f.ns) && f.pid !== process.pid).map((f) => f.pid)
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
  etc: Readonly<Record<string, readonly string[]>> = {},
  ownerStart: number | undefined = processStartTime(process.pid),
): Promise<DestroyResult> {
  if (names.length === 0) {
    for (const [name, files] of Object.entries(etc)) removeEtcNetnsFiles(name, files)
    return { leftover: [], stubborn: [] }
  }
  // Adopted namespaces (a container's) are only unlinked: their processes are not ours to stop.
  const stubborn = await killAndWait(exec, await pidsIn(exec, names.filter((n) => !adopted.has(n)), ownerStart))
  if (exec.kind === 'local' && canEnterNamespaces()) {
    for (const n of names) removeNamespace(n) // what `ip netns del` does, without a process; a name already gone is fine
  } else {
    // -force: keep going past lines whose namespace is already gone.
    await exec.run(['ip', '-force', '-batch', '-'], { input: names.map((n) => `netns del ${n}`).join('\n') + '\n' })
  }
  // Only what the lab created there (its marker says which): a directory it found existing is never its own.
  for (const [name, files] of Object.entries(etc)) removeEtcNetnsFiles(name, files)
  // Ask the kernel what is left: locally the bind mounts' files (no process), elsewhere `ip netns list`.
  if (exec.kind === 'local') return { leftover: names.filter((n) => existsSync(`/run/netns/${n}`)), stubborn }
  const still = new Set(await listNetns(exec))
  return { leftover: names.filter((n) => still.has(n)), stubborn }
}

export { ETC_NETNS, ETC_NETNS_CREATED, removeEtcNetnsIfOurs } from './etc-netns.js'

/** Whether an error is the process (or the machine) running out of descriptors or memory. */
export function isExhaustion(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code
  if (code === 'EMFILE' || code === 'ENFILE' || code === 'ENOMEM') return true
  const text = e instanceof Error ? `${e.message}\n${(e as { stderr?: string }).stderr ?? ''}` : String(e)
  return /EMFILE|ENFILE|ENOMEM|Too many open files|Cannot allocate memory/.test(text)
}

// One descriptor kept in reserve from the first lab on: teardown releases it when it runs out, so that listing
// /proc (the processes to stop) always has a descriptor to work with, whatever the build used up.
let spare: number | undefined

export function reserveDescriptor(): void {
  if (spare !== undefined) return
  try {
    spare = openSync('/dev/null', 'r')
  } catch {
    // none left already: the lab's own sockets are closed first instead (Lab.#destroy)
  }
}

/** Releases the reserve (teardown under exhaustion); taken again by the next lab. */
export function releaseDescriptor(): void {
  if (spare === undefined) return
  closeSync(spare)
  spare = undefined
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
