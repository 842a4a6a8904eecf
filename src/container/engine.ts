// A shared lease on a Docker engine for tests and CI: if docker is installed but no engine answers,
// start one with scripts/dockerd.sh (its minimal flags; shipped in the package, run by `netspec engine`), and stop it when the last user that needed
// it is done. Users are PID files, so a crashed user does not keep the engine up for ever.
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { STATE_DIR } from '../lab/owner.js'
import { processStartTime } from '../lab/owner.js'
import { packageRoot } from '../package-root.js'
import { engineStatus } from './docker.js'

const run = promisify(execFile)
/** scripts/dockerd.sh of the installed package (shipped: package.json "files"). */
export const DOCKERD_SCRIPT = join(packageRoot(), 'scripts', 'dockerd.sh')
const USERS = join(STATE_DIR, 'dockerd-users')
const STARTED_BY_LEASE = join(STATE_DIR, 'dockerd.started-by-lease')
const LOCK = join(STATE_DIR, 'dockerd.lock')

export type Lease = { ok: true; release(): Promise<void> } | { ok: false; reason: string }

async function locked<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(STATE_DIR, { recursive: true })
  for (;;) {
    try {
      mkdirSync(LOCK)
      break
    } catch {
      if (Date.now() - (statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? 0) > 60_000) rmSync(LOCK, { recursive: true, force: true })
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  try {
    return await fn()
  } finally {
    rmdirSync(LOCK)
  }
}

function liveUsers(): number[] {
  if (!existsSync(USERS)) return []
  return readdirSync(USERS)
    .map(Number)
    .filter((pid) => {
      if (processStartTime(pid) !== undefined) return true
      rmSync(join(USERS, String(pid)), { force: true })
      return false
    })
}

/** Makes sure an engine answers (starting one if needed); `ok: false` with a reason if docker is not installed or will not start. */
export async function leaseEngine(): Promise<Lease> {
  return locked(async () => {
    const status = await engineStatus()
    if (status === 'not-installed') return { ok: false, reason: 'docker is not installed (apt-get install -y docker.io)' }
    if (status === 'no-engine') {
      try {
        await run('sh', [DOCKERD_SCRIPT, 'start'], { timeout: 60_000 })
      } catch (e) {
        return { ok: false, reason: `no Docker engine answers and netspec engine start failed: ${String((e as { stderr?: string }).stderr ?? e)}` }
      }
      writeFileSync(STARTED_BY_LEASE, `${process.pid}\n`)
    }
    mkdirSync(USERS, { recursive: true })
    writeFileSync(join(USERS, String(process.pid)), '')
    return { ok: true, release: () => releaseEngine() }
  })
}

/** Drops this process's lease; the last user stops an engine that a lease started (never one found running). */
export async function releaseEngine(): Promise<void> {
  await locked(async () => {
    rmSync(join(USERS, String(process.pid)), { force: true })
    if (liveUsers().length > 0 || !existsSync(STARTED_BY_LEASE)) return
    await run('sh', [DOCKERD_SCRIPT, 'stop'], { timeout: 60_000 }).catch(() => {})
    rmSync(STARTED_BY_LEASE, { force: true })
  })
}
