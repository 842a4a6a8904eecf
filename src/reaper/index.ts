// The crash-proof reaper (as testcontainers' Ryuk): one small detached process per owner process,
// holding the read end of a pipe whose write end only the owner holds. When the owner dies, even by
// SIGKILL or OOM, the kernel closes the pipe and the reaper removes that owner's labs within a second
// or two. Started once, at the first Lab.create; the start-of-run sweep stays the second line of defence.
import { spawn } from 'node:child_process'
import { LABS_DIR, processStartTime } from '../lab/owner.js'
import { ETC_NETNS } from '../lab/teardown.js'
import { REAPER_SOURCE } from './script.js'
import { libcSpawn, O_CLOEXEC, O_WRONLY, POSIX_SPAWN_SETSID, POSIX_SPAWN_SETSIGDEF, POSIX_SPAWN_SETSIGMASK } from '../kernel/netlink/ffi.js'

export interface ReaperInfo {
  /** PID of the reaper process. */
  pid: number
  /** The process whose death it waits for. */
  ownerPid: number
  /** How long starting it took in the owner (spawn only: the owner never waits for it). */
  startMs: number
  /** posix_spawn through koffi where the in-process kernel path is available, else node:child_process. */
  spawnedBy: 'posix_spawn' | 'child_process'
}

let current: ReaperInfo | undefined

/** Whether reaping is off for this process (NETSPEC_REAPER=off, e.g. for debugging a crash by hand). */
export function reaperDisabled(env: Record<string, string | undefined> = process.env): boolean {
  return /^(off|0|false|no)$/i.test(env.NETSPEC_REAPER ?? '')
}

/** Starts this process's reaper unless it runs already (or is turned off). Cheap: one spawn, no wait. */
export function ensureReaper(): ReaperInfo | undefined {
  if (current !== undefined || reaperDisabled()) return current
  const started = performance.now()
  const owner = process.pid
  const argv = [process.execPath, '-e', REAPER_SOURCE, String(owner), String(processStartTime(owner)), LABS_DIR, ETC_NETNS]
  const viaLibc = spawnWithLibc(argv, reaperEnv())
  const pid = viaLibc ?? spawnWithNode(argv)
  if (pid === undefined) return undefined
  current = { pid, ownerPid: owner, startMs: performance.now() - started, spawnedBy: viaLibc !== undefined ? 'posix_spawn' : 'child_process' }
  return current
}

/**
 * posix_spawn through koffi (already loaded for the in-process kernel path): the child is started with vfork
 * semantics, so the owner does not copy its page tables nor wait for a forked copy of itself to reach exec
 * (measured ~0.4 ms against 3–25 ms for child_process.spawn on this 2-core machine, and node:child_process
 * itself is never loaded where nothing else spawns). The same contract as spawnWithNode: stdin the read end of a
 * pipe whose write end (close-on-exec, so no other child inherits it) only this process holds, until it exits;
 * stdout and stderr /dev/null; its own session; cwd /; default signal dispositions, nothing blocked.
 */
function spawnWithLibc(argv: string[], env: NodeJS.ProcessEnv): number | undefined {
  const c = libcSpawn()
  if (c === undefined) return undefined
  const fds = Buffer.alloc(8)
  if (c.pipe2(fds, O_CLOEXEC) !== 0) return undefined
  const readEnd = fds.readInt32LE(0)
  const writeEnd = fds.readInt32LE(4)
  const actions = Buffer.alloc(512) // posix_spawn_file_actions_t: 80 bytes on glibc x86-64
  const attr = Buffer.alloc(1024) // posix_spawnattr_t: 336
  const set = Buffer.alloc(128) // sigset_t
  let pid: number | undefined
  try {
    if (c.fileActionsInit(actions) !== 0) return undefined
    try {
      if (c.attrInit(attr) !== 0) return undefined
      try {
        const steps = [
          c.addDup2(actions, readEnd, 0), // dup2 clears close-on-exec on fd 0; both pipe fds themselves close at exec
          c.addOpen(actions, 1, '/dev/null', O_WRONLY, 0),
          c.addOpen(actions, 2, '/dev/null', O_WRONLY, 0),
          c.addChdir(actions, '/'),
          c.sigfillset(set),
          c.setSigDefault(attr, set),
          c.sigemptyset(set),
          c.setSigMask(attr, set),
          c.setFlags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK),
        ]
        if (steps.some((r) => r !== 0)) return undefined
        const envp = Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]))
        const out = Buffer.alloc(4)
        if (c.posix_spawn(out, argv[0]!, actions, attr, [...argv, null], [...envp, null]) === 0) pid = out.readInt32LE(0)
      } finally {
        c.attrDestroy(attr)
      }
    } finally {
      c.fileActionsDestroy(actions)
    }
    return pid
  } finally {
    c.close(readEnd)
    // The write end stays open for the life of this process: its close (by the kernel, at exit) is the signal.
    if (pid === undefined) c.close(writeEnd)
  }
}

function spawnWithNode(argv: string[]): number | undefined {
  const child = spawn(argv[0]!, argv.slice(1), {
    detached: true, // its own session: a Ctrl-C or a kill of the worker's process group spares it
    stdio: ['pipe', 'ignore', 'ignore'],
    cwd: '/', // holds no directory of anyone's busy
    env: reaperEnv(),
  })
  child.on('error', () => {}) // cannot start (no node?): the start-of-run sweep remains
  child.stdin.on('error', () => {})
  // Neither the child nor the pipe may keep the owner alive: the pipe only has to exist until the owner exits.
  child.unref()
  ;(child.stdin as unknown as { unref?: () => void }).unref?.()
  return child.pid
}

/** This process's reaper, if one was started. */
export function reaperInfo(): ReaperInfo | undefined {
  return current
}

// Only what the reaper needs: `ip` and `docker` on the owner's PATH; no NODE_OPTIONS loaders of a test runner.
function reaperEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' }
  for (const k of ['NETSPEC_REAPER_LOG', 'DOCKER_HOST', 'DOCKER_CONTEXT']) if (process.env[k] !== undefined) env[k] = process.env[k]
  return env
}
