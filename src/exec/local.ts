import { spawn as spawnChild, type ChildProcess } from 'node:child_process'
import { constants } from 'node:os'
import { execa, type ResultPromise } from 'execa'
import { NetspecError } from '../errors.js'
import { ProcessOutput, spawnedHandle } from './output.js'
import { displayCommand } from './quote.js'
import { toolHint } from './tools.js'
import type { Executor, RunOptions, RunResult, SpawnOptions, SpawnedProcess } from './types.js'

const DEFAULT_TIMEOUT_MS = 30_000
const DEFAULT_MAX_BUFFER = 64 * 1024

// `ip netns exec` (rather than nsenter) so that processes see the namespace's /etc/netns/NAME files.
function withNetns(argv: readonly string[], netns?: string): string[] {
  return netns === undefined ? [...argv] : ['ip', 'netns', 'exec', netns, ...argv]
}

function missingTool(argv: readonly string[], netns: string | undefined, cause: unknown): NetspecError {
  const tool = argv[0] ?? '?'
  return new NetspecError('missing-tool', `'${tool}' is not installed (or not on PATH)`, {
    netns,
    command: displayCommand(argv, netns),
    hint: toolHint(tool),
    cause,
  })
}

// `ip netns exec` reports a missing program itself instead of failing to spawn (exit code 1 in
// iproute2 6.1, 255 in others), and prints nothing else: the program never ran.
function execFailed(stderr: string): boolean {
  return /^exec of "[^"]+" failed: No such file or directory\n?$/.test(stderr)
}

export function createLocalExecutor(): Executor {
  return {
    kind: 'local',

    async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
      const full = withNetns(argv, options.netns)
      const started = performance.now()
      const r = await runProcess(full, options)
      if (r.enoent !== undefined) throw missingTool(full, undefined, r.enoent)
      if (options.netns !== undefined && r.exitCode !== 0 && execFailed(r.stderr)) {
        throw missingTool(argv, options.netns, undefined)
      }
      return {
        argv,
        command: displayCommand(argv, options.netns),
        netns: options.netns,
        exitCode: r.exitCode,
        stdout: r.stdout,
        stderr: r.stderr,
        timedOut: r.timedOut,
        canceled: r.canceled,
        durationMs: performance.now() - started,
      }
    },

    spawn(argv: readonly string[], options: SpawnOptions = {}): SpawnedProcess {
      const full = withNetns(argv, options.netns)
      const child = execa(full[0]!, full.slice(1), {
        cancelSignal: options.signal,
        env: options.env,
        reject: false,
        buffer: false,
        stdin: 'ignore',
        forceKillAfterDelay: 1000,
      })
      releaseAfterExit(child)
      return trackSpawned(child, argv, options)
    },
  }
}

/**
 * A command that backgrounds a process (`sh -c 'server &'`) exits while that process still holds its
 * stdout and stderr, and execa would wait for them to close: for ever, for a server. Once the command
 * has exited and its output has been quiet for `quietMs`, stop reading (the orphan's later output is lost).
 */
function releaseAfterExit(child: ResultPromise | ChildProcess, quietMs = 100): void {
  let last = performance.now()
  const touch = () => {
    last = performance.now()
  }
  child.stdout?.on('data', touch)
  child.stderr?.on('data', touch)
  child.once('exit', () => {
    touch() // quiet from the exit on, not from the spawn: a slow command's output is still on its way
    const check = () => {
      const open = [child.stdout, child.stderr].filter((s) => s !== null && !s.readableEnded && !s.destroyed)
      if (open.length === 0) return
      const idle = performance.now() - last
      if (idle >= quietMs) for (const s of open) s!.destroy()
      else setTimeout(later, quietMs - idle).unref()
    }
    // Timers run before the poll phase reads the pipes: after a blocked event loop, output that already arrived
    // would be destroyed unread (measured: `ip -j route show` exiting 0 with empty stdout). Look after one poll.
    const later = () => setImmediate(check).unref()
    setTimeout(later, quietMs).unref() // the open pipes keep Node alive while it matters
  })
}

interface RawResult {
  exitCode: number
  stdout: string
  stderr: string
  timedOut: boolean
  canceled: boolean
  enoent?: Error
}

/**
 * One-shot commands through node:child_process directly: this is the hot path (every `ip -batch`, every
 * probe), and measured here a plain spawn costs ~3.5 ms against ~6.5 ms through execa. Long-lived processes
 * keep using execa (spawn below) for its cleanup on exit.
 */
function runProcess(full: readonly string[], options: RunOptions): Promise<RawResult> {
  return new Promise((resolve) => {
    const signal = options.signal
    if (signal?.aborted === true) {
      resolve({ exitCode: -1, stdout: '', stderr: '', timedOut: false, canceled: true })
      return
    }
    const child = spawnChild(full[0]!, full.slice(1), {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: options.env === undefined ? undefined : { ...process.env, ...options.env },
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    let timedOut = false
    let canceled = false
    let enoent: Error | undefined
    let killTimer: NodeJS.Timeout | undefined
    const kill = () => {
      child.kill('SIGTERM')
      killTimer = setTimeout(() => child.kill('SIGKILL'), 1000)
    }
    const timer = setTimeout(() => {
      timedOut = true
      kill()
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS)
    const onAbort = () => {
      canceled = true
      kill()
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    child.stdout!.on('data', (b: Buffer) => out.push(b))
    child.stderr!.on('data', (b: Buffer) => err.push(b))
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') enoent = e
    })
    if (options.input !== undefined) {
      child.stdin!.on('error', () => {}) // EPIPE when the command exits without reading: its exit code tells
      child.stdin!.end(options.input)
    }
    releaseAfterExit(child)
    child.on('close', (code, sig) => {
      clearTimeout(timer)
      clearTimeout(killTimer)
      signal?.removeEventListener('abort', onAbort)
      const exitCode = code ?? (sig !== null ? 128 + (constants.signals[sig] ?? 0) : -1)
      resolve({ exitCode, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), timedOut, canceled, enoent })
    })
  })
}

function trackSpawned(child: ResultPromise, argv: readonly string[], options: SpawnOptions): SpawnedProcess {
  const started = performance.now()
  const command = displayCommand(argv, options.netns)
  const output = new ProcessOutput(options.maxBuffer ?? DEFAULT_MAX_BUFFER, command, options.netns)
  child.stdout?.on('data', (chunk: Buffer) => output.append('stdout', chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => output.append('stderr', chunk.toString()))

  const exited: Promise<RunResult> = child.then((r) => {
    if (r.failed && (r.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') output.text.stderr += `\n${argv[0]}: not found`
    output.ended()
    return {
      argv,
      command,
      netns: options.netns,
      exitCode: r.exitCode ?? (r.signal !== undefined ? 128 : -1),
      stdout: output.text.stdout,
      stderr: output.text.stderr,
      timedOut: r.timedOut,
      canceled: r.isCanceled,
      durationMs: performance.now() - started,
    }
  })

  if (child.pid === undefined) output.ended()

  const pid = child.pid ?? -1
  // Signalled whether or not it is still there: stop() then waits for `exited` either way.
  const kill = (sig: 'SIGTERM' | 'SIGKILL') => (child.kill(sig), true)
  return spawnedHandle({ pid: () => pid, argv, command, netns: options.netns, output, exited, kill })
}
