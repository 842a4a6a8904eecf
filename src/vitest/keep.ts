// Debugging a failed lab live (NETSPEC_KEEP): keep the lab of a failed test, or pause the run until
// Enter, and tell the user how to step into each namespace — as the kernel selftests' PAUSE_ON_FAIL does.
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { ReadStream } from 'node:tty'
import { invalidInput } from '../errors.js'
import type { Lab } from '../lab/lab.js'
import { STATE_DIR, ensureLabsDir, ownerAlive, processStartTime } from '../lab/owner.js'
import { pidsIn } from '../lab/teardown.js'

export type KeepMode = 'off' | 'on-failure' | 'pause'

export interface KeepPolicy {
  mode: KeepMode
  /** Set when keeping was asked for but refused (CI): said in the failure output instead. */
  refused?: string
}

export const SWEEP_KEPT_COMMAND = 'npx netspec sweep --kept --force'

/** Reads NETSPEC_KEEP (on-failure | pause | off), refusing to keep on CI unless NETSPEC_KEEP_FORCE=1. */
export function keepPolicy(env: Record<string, string | undefined> = process.env): KeepPolicy {
  const raw = (env.NETSPEC_KEEP ?? '').trim().toLowerCase()
  let mode: KeepMode
  if (raw === '' || raw === 'off' || raw === '0' || raw === 'false' || raw === 'no') mode = 'off'
  else if (raw === 'on-failure' || raw === '1' || raw === 'true' || raw === 'yes') mode = 'on-failure'
  else if (raw === 'pause') mode = 'pause'
  else
    throw invalidInput(`NETSPEC_KEEP='${env.NETSPEC_KEEP}' is not understood`, {
      hint: "use NETSPEC_KEEP=on-failure (keep the lab of a failed test) or NETSPEC_KEEP=pause (stop at a failure until Enter), or unset it",
    })
  if (mode === 'off') return { mode }
  const ci = (env.CI ?? '').toLowerCase()
  if ((ci === 'true' || ci === '1') && env.NETSPEC_KEEP_FORCE !== '1') {
    return {
      mode: 'off',
      refused:
        `netspec: NETSPEC_KEEP=${raw} is refused because CI=${env.CI} (a CI machine must not accumulate labs); ` +
        'the lab was torn down. Set NETSPEC_KEEP_FORCE=1 to keep it anyway.',
    }
  }
  return { mode }
}

export interface EnterCommands {
  label: string
  name: string
  /** `ip netns exec <name> bash` */
  enter: string
  /** For an adopted container's namespace: `docker exec -it <id> sh`, when the container is known. */
  container?: string
}

/** The Docker container a process belongs to, from its cgroup path (`/docker/<id>` or `docker-<id>.scope`). */
export function containerIdFromCgroup(cgroup: string): string | undefined {
  return /(?:\/docker\/|docker-)([0-9a-f]{64})(?:\.scope)?/.exec(cgroup)?.[1]
}

async function containerOf(lab: Lab, netns: string): Promise<string | undefined> {
  if (lab.executor.kind !== 'local') return undefined
  for (const pid of await pidsIn(lab.executor, [netns]).catch(() => [] as number[])) {
    try {
      const id = containerIdFromCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))
      if (id !== undefined) return id.slice(0, 12)
    } catch {
      // exited meanwhile
    }
  }
  return undefined
}

/** Label, kernel name and ready-to-paste commands for every namespace of the lab. */
export async function enterCommands(lab: Lab): Promise<EnterCommands[]> {
  const adopted = new Set(lab.marker.adopted ?? [])
  return Promise.all(
    lab.namespaces.map(async (ns) => {
      const out: EnterCommands = { label: ns.label, name: ns.name, enter: `ip netns exec ${ns.name} bash` }
      if (adopted.has(ns.name)) {
        const id = await containerOf(lab, ns.name)
        if (id !== undefined) out.container = `docker exec -it ${id} sh`
      }
      return out
    }),
  )
}

/** The text shown with the failure: how to enter each namespace, and how to remove the lab. */
export function formatEnterCommands(
  lab: { label: string; id: string },
  namespaces: readonly EnterCommands[],
  how: 'kept' | 'paused',
): string {
  const width = Math.max(...namespaces.map((n) => n.label.length), 5)
  const nameWidth = Math.max(...namespaces.map((n) => n.name.length), 4)
  const lines = [
    how === 'kept'
      ? `netspec kept the lab of this failed test for debugging (NETSPEC_KEEP): lab '${lab.label}' (id ${lab.id})`
      : `netspec paused at this failure (NETSPEC_KEEP=pause): lab '${lab.label}' (id ${lab.id}) is live`,
    `  ${'label'.padEnd(width)}  ${'kernel name'.padEnd(nameWidth)}  enter it (as root)`,
  ]
  for (const n of namespaces) {
    lines.push(`  ${n.label.padEnd(width)}  ${n.name.padEnd(nameWidth)}  ${n.enter}`)
    if (n.container !== undefined) lines.push(`  ${''.padEnd(width)}  ${''.padEnd(nameWidth)}  ${n.container}`)
  }
  lines.push(
    how === 'kept'
      ? `  processes the test spawned were stopped; everything else is as the test left it.\n  remove it with: ${SWEEP_KEPT_COMMAND}`
      : '  press Enter here to tear it down and continue the run',
  )
  return lines.join('\n')
}

interface FailedTask {
  result?: { errors?: { message?: string; stack?: string }[] }
}

/**
 * Appended to the test's first error: Vitest prints it in the failure summary of every reporter (the message for
 * the terminal, JUnit's <failure> and GitHub Actions' ::error; the stack's first lines for the JSON report).
 */
export function tellFailure(task: FailedTask, text: string): void {
  const first = task.result?.errors?.[0]
  if (first === undefined) {
    console.error(text)
    return
  }
  const before = first.message ?? ''
  first.message = `${before}\n\n${text}`
  if (typeof first.stack === 'string' && before !== '' && first.stack.includes(before)) first.stack = first.stack.replace(before, first.message)
}

/** Called by the fixture for a failed test before teardown: keeps the lab, or pauses, as the policy says. */
export async function onFailedLab(task: FailedTask, lab: Lab, policy: KeepPolicy): Promise<void> {
  if (policy.refused !== undefined) {
    tellFailure(task, policy.refused)
    return
  }
  if (policy.mode === 'off' || lab.namespaces.length === 0) return
  const commands = await enterCommands(lab)
  if (policy.mode === 'pause') {
    const tty = openTty()
    if (tty !== undefined) {
      await pauseOnTty(tty, formatEnterCommands(lab, commands, 'paused'))
      return // the lab is torn down as usual after Enter
    }
  }
  lab.keep()
  tellFailure(task, formatEnterCommands(lab, commands, 'kept'))
}

// A Vitest worker's stdio are pipes; the user's terminal is still reachable as the controlling tty.
function openTty(): number | undefined {
  try {
    return openSync('/dev/tty', 'r+')
  } catch {
    return undefined // no controlling terminal (CI, setsid): behave like on-failure
  }
}

const PAUSE_LOCK = join(STATE_DIR, 'pause.lock')

// One prompt at a time: parallel workers that fail together wait their turn.
async function takePauseLock(): Promise<boolean> {
  try {
    ensureLabsDir() // the state directory, root-only and no symlink (the lock is written 'wx': never through a link)
  } catch {
    return false // refused: pause without the lock
  }
  for (;;) {
    try {
      writeFileSync(PAUSE_LOCK, JSON.stringify({ pid: process.pid, start: processStartTime(process.pid) }), { flag: 'wx' })
      return true
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return false // cannot lock here: pause without it
      try {
        const holder = JSON.parse(readFileSync(PAUSE_LOCK, 'utf8')) as { pid: number; start: number | undefined }
        if (!ownerAlive({ ownerPid: holder.pid, ownerStart: holder.start })) rmSync(PAUSE_LOCK, { force: true })
      } catch {
        rmSync(PAUSE_LOCK, { force: true }) // unreadable: its writer died mid-write
      }
      await new Promise((r) => setTimeout(r, 200))
    }
  }
}

async function pauseOnTty(fd: number, text: string): Promise<void> {
  let input: ReadStream
  try {
    input = new ReadStream(fd)
  } catch {
    closeSync(fd)
    return
  }
  const locked = await takePauseLock()
  try {
    writeSync(fd, `\n${text}\n`)
    await new Promise<void>((resolve) => {
      const onData = (chunk: Buffer) => {
        if (/[\r\n]/.test(chunk.toString())) resolve()
      }
      input.on('data', onData)
      input.once('end', resolve)
      input.once('error', () => resolve())
    })
  } finally {
    input.destroy() // closes the fd
    if (locked) rmSync(PAUSE_LOCK, { force: true })
  }
}
