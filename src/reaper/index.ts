// The crash-proof reaper (as testcontainers' Ryuk): one small detached process per owner process,
// holding the read end of a pipe whose write end only the owner holds. When the owner dies, even by
// SIGKILL or OOM, the kernel closes the pipe and the reaper removes that owner's labs within a second
// or two. Started once, at the first Lab.create; the start-of-run sweep stays the second line of defence.
import { spawn } from 'node:child_process'
import { LABS_DIR, processStartTime } from '../lab/owner.js'
import { ETC_NETNS } from '../lab/teardown.js'
import { REAPER_SOURCE } from './script.js'

export interface ReaperInfo {
  /** PID of the reaper process. */
  pid: number
  /** The process whose death it waits for. */
  ownerPid: number
  /** How long starting it took in the owner (spawn only: the owner never waits for it). */
  startMs: number
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
  const child = spawn(process.execPath, ['-e', REAPER_SOURCE, String(owner), String(processStartTime(owner)), LABS_DIR, ETC_NETNS], {
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
  if (child.pid === undefined) return undefined
  current = { pid: child.pid, ownerPid: owner, startMs: performance.now() - started }
  return current
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
