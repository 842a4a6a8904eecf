// Starting a runner container through testcontainers: explicit capabilities (privileged only when asked),
// --network none, our own labels, and a lifeline so that the container dies with its owner, even by SIGKILL.
//
// The lifeline is a FIFO on this machine, bind-mounted into the container. The owner holds it open
// read-write; PID 1 in the container blocks reading it. When the owner's last descriptor closes (exit,
// crash, SIGKILL), PID 1 reads EOF and exits, and Docker's auto-remove deletes the container (~0.2 s).
// No Ryuk reaper: its image needs a registry.
import { execFileSync } from 'node:child_process'
import { closeSync, constants, mkdirSync, openSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { GenericContainer, StartedTestContainer } from 'testcontainers'
import { NetspecError } from '../errors.js'
import { processStartTime, STATE_DIR } from '../lab/owner.js'
import { docker, dockerHint } from './docker.js'
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
  readonly container: StartedTestContainer
  /** Host PID of the container's PID 1 (its network namespace is the container's). */
  readonly pid: number
  /** Closes the lifeline and waits (bounded) until Docker has removed the container. */
  stop(): Promise<void>
}

let counter = 0

/** GenericContainer with Docker's own auto-remove (testcontainers' `withAutoRemove` acts only in stop()) and the created id recorded. */
async function runnerContainerClass() {
  // Loaded on first use: importing testcontainers costs time that host-only runs should not pay.
  const { GenericContainer, Wait } = await import('testcontainers')
  class RunnerContainer extends GenericContainer {
    createdId: string | undefined
    protected override async beforeContainerCreated(): Promise<void> {
      this.hostConfig.AutoRemove = true
    }
    protected override async containerCreated(containerId: string): Promise<void> {
      this.createdId = containerId
    }
  }
  return { RunnerContainer, Wait }
}

/** A run id: owner PID, a counter and a random part. */
export function newRunId(): string {
  counter += 1
  return `${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`
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

  const { RunnerContainer, Wait } = await runnerContainerClass()
  const rc = new RunnerContainer(image)
  let gc: GenericContainer = rc
    .withAutoCleanup(false) // no Ryuk reaper (it needs a registry): lifeline + labels + sweep instead
    .withNetworkMode('none')
    .withName(`netspec-${runId}`)
    .withLabels({ [LABEL_RUN]: runId, [LABEL_OWNER]: String(process.pid), [LABEL_OWNER_START]: String(processStartTime(process.pid) ?? ''), ...options.labels })
    .withBindMounts([
      { source: fifo, target: LIFELINE_IN_CONTAINER, mode: 'ro' },
      { source: process.execPath, target: NODE_IN_IMAGE, mode: 'ro' },
      ...(options.mounts ?? []).map((m) => ({ source: m.source, target: m.target ?? m.source, mode: m.mode ?? ('rw' as const) })),
    ])
    .withEntrypoint(['/bin/sh', '-c'])
    .withCommand([pid1Script(options.service)])
    .withWaitStrategy(options.ready === undefined ? Wait.forLogMessage(READY_LINE) : Wait.forAll([Wait.forLogMessage(READY_LINE), Wait.forLogMessage(options.ready)]))
    .withStartupTimeout(options.startupTimeoutMs ?? 30_000)
  if (options.env !== undefined) gc = gc.withEnvironment(options.env)
  if (options.workingDir !== undefined) gc = gc.withWorkingDir(options.workingDir)
  gc =
    options.privileged === true
      ? gc.withPrivilegedMode()
      : gc.withAddedCapabilities('NET_ADMIN', 'SYS_ADMIN', 'NET_RAW').withSecurityOpt('apparmor=unconfined', 'seccomp=unconfined')

  // dockerd --bridge=none has no 'bridge' network, where testcontainers looks for the host's address;
  // runners use --network none and map no ports, so localhost is right. No Ryuk (it needs a registry).
  process.env.TESTCONTAINERS_HOST_OVERRIDE ??= 'localhost'
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true'
  let container: StartedTestContainer
  try {
    container = await gc.start()
  } catch (e) {
    release()
    if (rc.createdId !== undefined) await docker(['rm', '-f', '-v', rc.createdId])
    await removeRun(runId) // a failed start leaves a container in state Created that auto-remove never touches
    throw startFailed(e, image, options.privileged === true)
  }
  const pid = Number((await docker(['inspect', '-f', '{{.State.Pid}}', container.getId()])).stdout.trim())
  return {
    id: container.getId(),
    name: container.getName().replace(/^\//, ''),
    runId,
    container,
    pid,
    async stop() {
      release()
      await waitGone(container.getId())
    },
  }
}

function startFailed(e: unknown, image: string, privileged: boolean): NetspecError {
  const text = e instanceof Error ? e.message : String(e)
  const hint = dockerHint(text) ?? (privileged ? dockerHint('privileged') : undefined)
  return new NetspecError('container', `could not start a runner container from ${image}${privileged ? ' (--privileged)' : ''}`, {
    stderr: text,
    hint: hint ?? 'check `docker info`; start an engine with: sh scripts/dockerd.sh start',
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
