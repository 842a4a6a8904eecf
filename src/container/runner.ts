// Starting a runner container through the docker CLI: explicit capabilities (privileged only when asked),
// --network none, our own labels, and a lifeline so that the container dies with its owner, even by SIGKILL.
//
// The lifeline is a FIFO on this machine, bind-mounted into the container. The owner holds it open
// read-write; PID 1 in the container blocks reading it. When the owner's last descriptor closes (exit,
// crash, SIGKILL), PID 1 reads EOF and exits, and Docker's auto-remove deletes the container (~0.2 s).
// No Ryuk reaper (its image needs a registry) and no testcontainers: its settings (host detection, Ryuk)
// are process-wide environment variables, which would change a user's own testcontainers in the same process.
import { execFileSync, spawn } from 'node:child_process'
import { closeSync, constants, mkdirSync, openSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { invalidInput, isNetspecError, NetspecError } from '../errors.js'
import { processStartTime, STATE_DIR } from '../lab/owner.js'
import { docker, dockerChecked, dockerHint, START_ENGINE_HINT } from './docker.js'
import { NODE_IN_IMAGE, requireImage } from './image.js'

export const LABEL_RUN = 'netspec.run'
export const LABEL_OWNER = 'netspec.owner-pid'
export const LABEL_OWNER_START = 'netspec.owner-start'
export const CONTAINERS_DIR = join(STATE_DIR, 'containers')
export const LIFELINE_IN_CONTAINER = '/netspec/lifeline'
export const READY_LINE = 'netspec-runner-ready'

/**
 * PID 1: make /proc/sys writable (net.* sysctls of lab namespaces), give /run/netns its own shared mount,
 * start the service if there is one, then hold on until the lifeline closes.
 */
export function pid1Script(service?: string): string {
  return [
    'mount -o remount,rw /proc/sys 2>/dev/null || echo "netspec: /proc/sys stays read-only: forwarding cannot be set" >&2',
    'mkdir -p /run/netns && mount -t tmpfs tmpfs /run/netns && { mount --make-shared /run/netns || true; }',
    ...(service === undefined ? [] : [`( ${service} ) &`]),
    `echo ${READY_LINE}`,
    `read _ < ${LIFELINE_IN_CONTAINER}`,
  ].join('\n')
}

export interface RunnerOptions {
  /** The image; default NETSPEC_IMAGE or netspec-runner:latest. */
  image?: string
  /** Host folders bind-mounted at the same path (e.g. the project). */
  mounts?: { source: string; target?: string; mode?: 'ro' | 'rw' }[]
  /** --privileged instead of the explicit capabilities (fails on some machines). */
  privileged?: boolean
  /** Extra labels. */
  labels?: Record<string, string>
  env?: Record<string, string>
  workingDir?: string
  startupTimeoutMs?: number
  /** A service to run in the background (a shell command line), e.g. a server for lab.adopt(). */
  service?: string
  /** With `service`: wait for this line in its output (default: only the runner's own ready line). */
  ready?: RegExp
}

export interface Runner {
  readonly id: string
  readonly name: string
  readonly runId: string
  /** Host PID of the container's PID 1 (its network namespace is the container's). */
  readonly pid: number
  /** Closes the lifeline and waits (bounded) until Docker has removed the container. */
  stop(): Promise<void>
}

let counter = 0

/** A run id: owner PID, a counter and a random part. */
export function newRunId(): string {
  counter += 1
  return `${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`
}

/**
 * The `docker create` argv of a runner. Every setting is on this one container: nothing goes through
 * the process environment (a user's own testcontainers in the same process keeps its Ryuk reaper and
 * host detection), and there is no reaper of ours to configure: the lifeline, labels and sweep do its job.
 */
export function createArgv(image: string, runId: string, fifo: string, options: RunnerOptions = {}): string[] {
  const labels = { [LABEL_RUN]: runId, [LABEL_OWNER]: String(process.pid), [LABEL_OWNER_START]: String(processStartTime(process.pid) ?? ''), ...options.labels }
  const mounts = [
    { source: fifo, target: LIFELINE_IN_CONTAINER, mode: 'ro' },
    { source: process.execPath, target: NODE_IN_IMAGE, mode: 'ro' },
    ...(options.mounts ?? []).map((m) => ({ source: m.source, target: m.target ?? m.source, mode: m.mode ?? 'rw' })),
  ]
  for (const m of mounts)
    if (m.source.includes(',') || m.target.includes(','))
      throw invalidInput(`a runner mount path cannot contain ',' (docker's --mount syntax): ${JSON.stringify(m.source)}`)
  return [
    'create',
    '--rm', // Docker's own auto-remove: the container goes when PID 1 ends
    '--network',
    'none',
    '--name',
    `netspec-${runId}`,
    ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
    ...mounts.flatMap((m) => ['--mount', `type=bind,source=${m.source},target=${m.target}${m.mode === 'ro' ? ',readonly' : ''}`]),
    ...Object.entries(options.env ?? {}).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    ...(options.workingDir === undefined ? [] : ['--workdir', options.workingDir]),
    ...(options.privileged === true
      ? ['--privileged']
      : ['--cap-add', 'NET_ADMIN', '--cap-add', 'SYS_ADMIN', '--cap-add', 'NET_RAW', '--security-opt', 'apparmor=unconfined', '--security-opt', 'seccomp=unconfined']),
    '--entrypoint',
    '/bin/sh',
    image,
    '-c',
    pid1Script(options.service),
  ]
}

/** Follows the container's log until every pattern has been seen; rejects with the log if it ends first or the deadline passes. */
function waitForLog(id: string, patterns: RegExp[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', ['logs', '--follow', id], { stdio: ['ignore', 'pipe', 'pipe'] })
    let log = ''
    let done = false
    const finish = (err?: Error) => {
      if (done) return
      done = true
      clearTimeout(timer)
      child.kill('SIGKILL')
      if (err === undefined) resolve()
      else reject(err)
    }
    const timer = setTimeout(() => finish(new Error(`the runner did not print ${patterns.map(String).join(' and ')} within ${timeoutMs} ms; its log:\n${log}`)), timeoutMs)
    const eat = (c: Buffer) => {
      log += c.toString()
      if (patterns.every((p) => p.test(log))) finish()
    }
    child.stdout.on('data', eat)
    child.stderr.on('data', eat)
    child.on('error', (e) => finish(e))
    child.on('close', () => finish(new Error(`the runner ended before it was ready; its log:\n${log}`)))
  })
}

/** Starts a runner container and waits until PID 1 is ready. */
export async function startRunner(options: RunnerOptions = {}): Promise<Runner> {
  const image = await requireImage(options.image)
  const runId = newRunId()
  mkdirSync(CONTAINERS_DIR, { recursive: true })
  removeDeadLifelines() // of owners killed earlier: their containers went with them, the files did not
  const fifo = join(CONTAINERS_DIR, `${runId}.lifeline`)
  execFileSync('mkfifo', ['-m', '600', fifo])
  // O_RDWR: opening does not wait for a reader, and the container sees EOF only when this process's copy closes.
  const fd = openSync(fifo, constants.O_RDWR)
  const release = () => {
    try {
      closeSync(fd)
    } catch {
      // already closed
    }
    rmSync(fifo, { force: true })
  }

  let id: string | undefined
  try {
    id = (await dockerChecked(createArgv(image, runId, fifo, options), `could not create a runner container from ${image}`)).trim()
    await dockerChecked(['start', id], `could not start runner container ${id.slice(0, 12)}`)
    const ready = [new RegExp(`^${READY_LINE}$`, 'm'), ...(options.ready === undefined ? [] : [options.ready])]
    await waitForLog(id, ready, options.startupTimeoutMs ?? 30_000)
  } catch (e) {
    release()
    if (id !== undefined) await docker(['rm', '-f', '-v', id])
    await removeRun(runId) // a failed start leaves a container in state Created that auto-remove never touches
    throw startFailed(e, image, options.privileged === true)
  }
  const pid = Number((await docker(['inspect', '-f', '{{.State.Pid}}', id])).stdout.trim())
  const runnerId = id
  return {
    id: runnerId,
    name: `netspec-${runId}`,
    runId,
    pid,
    async stop() {
      release()
      await waitGone(runnerId)
    },
  }
}

function startFailed(e: unknown, image: string, privileged: boolean): NetspecError {
  const text = isNetspecError(e) ? [e.message, e.stderr].filter(Boolean).join(': ') : e instanceof Error ? e.message : String(e)
  const hint = dockerHint(text) ?? (privileged ? dockerHint('privileged') : undefined)
  return new NetspecError('container', `could not start a runner container from ${image}${privileged ? ' (--privileged)' : ''}`, {
    stderr: text,
    hint: hint ?? `check \`docker info\`; ${START_ENGINE_HINT}`,
    cause: e,
  })
}

/** Removes every container of one run (e.g. one left in state Created by a failed start). */
export async function removeRun(runId: string): Promise<string[]> {
  const ids = (await docker(['ps', '-aq', '--filter', `label=${LABEL_RUN}=${runId}`])).stdout.split('\n').filter(Boolean)
  if (ids.length > 0) await docker(['rm', '-f', '-v', ...ids])
  return ids
}

/** Waits (bounded) until auto-remove has deleted the container; forces it after the deadline. */
export async function waitGone(id: string, deadlineMs = 5000): Promise<void> {
  const until = Date.now() + deadlineMs
  while (Date.now() < until) {
    if ((await docker(['inspect', '-f', '{{.State.Status}}', id])).exitCode !== 0) return
    await new Promise((r) => setTimeout(r, 50))
  }
  await docker(['rm', '-f', '-v', id])
}

/** Removes runner containers whose owner process is dead (by netspec's own labels only). */
export async function sweepContainers(): Promise<string[]> {
  const r = await docker(['ps', '-a', '--filter', `label=${LABEL_OWNER}`, '--format', `{{.ID}} {{.Label "${LABEL_OWNER}"}} {{.Label "${LABEL_OWNER_START}"}}`])
  if (r.exitCode !== 0) return []
  const dead: string[] = []
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const [id, pid, start] = line.split(' ')
    const now = processStartTime(Number(pid))
    if (now === undefined || (start !== undefined && start !== '' && String(now) !== start)) dead.push(id!)
  }
  if (dead.length > 0) await docker(['rm', '-f', '-v', ...dead])
  removeDeadLifelines()
  return dead
}

/** Lifeline FIFOs of owners that died (named `<pid>-…`): the container went with them, the file did not. */
export function removeDeadLifelines(): void {
  let files: string[] = []
  try {
    files = readdirSync(CONTAINERS_DIR)
  } catch {
    return
  }
  for (const f of files) {
    const pid = Number(/^(\d+)-.*\.lifeline$/.exec(f)?.[1])
    if (pid > 0 && processStartTime(pid) === undefined) rmSync(join(CONTAINERS_DIR, f), { force: true })
  }
}
