import { spawn as spawnChild, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { constants } from 'node:os'
import { accessSync, constants as fsConstants } from 'node:fs'
import { createRequire } from 'node:module'
import type { ResultPromise } from 'execa'
import { NetspecError } from '../errors.js'
import { ProcessOutput, spawnedHandle } from './output.js'
import { displayCommand } from './quote.js'
import { toolHint } from './tools.js'
import type { Executor, RunOptions, RunResult, SpawnOptions, SpawnedProcess } from './types.js'

// execa is loaded on the first spawn of a long-lived process, not at import: loading it is most of what
// `import('netspec')` used to cost (~80 of ~100 ms), and one-shot commands never need it. Synchronous
// (spawn() returns its handle at once) through require of an ES module, which Node ^20.19 || >=22.12 has.
let execaFn: typeof import('execa').execa | undefined
const loadExeca = () => (execaFn ??= (createRequire(import.meta.url)('execa') as typeof import('execa')).execa)

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

// The built-in local executors: their commands run with this process's PATH (preflight can look `ip` up there).
const builtins = new WeakSet<Executor>()
export const isBuiltinLocal = (executor: Executor): boolean => builtins.has(executor)

/** Is `name` an executable file in one of PATH's directories? (what spawn would find, without spawning) */
export function onPath(name: string, path = process.env.PATH ?? ''): boolean {
  return path.split(':').some((dir) => {
    if (dir === '') return false
    try {
      accessSync(`${dir}/${name}`, fsConstants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

export function createLocalExecutor(): Executor {
  const executor: Executor = {
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
      const child = loadExeca()(full[0]!, full.slice(1), {
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
  builtins.add(executor)
  return executor
}

/**
 * A command that backgrounds a process (`sh -c 'server &'`) exits while that process still holds its
 * stdout and stderr, and execa would wait for them to close: for ever, for a server. Once the command
 * has exited and its output has been quiet for `quietMs`, stop reading (the orphan's later output is lost).
 * Quiet is counted from the exit, and the pipes are given one more turn of the event loop's poll phase
 * before they are dropped: a busy loop runs due timers before it polls, so what the command printed just
 * before exiting may still sit unread in the pipe (seen: `ip -j route show` read back as empty, exit 0).
 */
export function releaseAfterExit(child: ResultPromise | ChildProcess, quietMs = 100): void {
  let last = performance.now()
  const touch = () => {
    last = performance.now()
  }
  child.stdout?.on('data', touch)
  child.stderr?.on('data', touch)
  const open = () => [child.stdout, child.stderr].filter((s) => s !== null && !s.readableEnded && !s.destroyed)
  child.once('exit', () => {
    touch()
    const check = () => {
      if (open().length === 0) return
      const idle = performance.now() - last
      if (idle < quietMs) {
        setTimeout(check, quietMs - idle).unref()
        return
      }
      const seen = last
      setImmediate(() => {
        if (last !== seen) setTimeout(check, quietMs).unref() // output was still coming: not quiet after all
        else for (const s of open()) s!.destroy()
      }) // not unref'd: an unref'd immediate here left the pipes open until the orphan exited (Node 20)
    }
    setTimeout(check, quietMs).unref() // the open pipes keep Node alive while it matters
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
async function runProcess(full: readonly string[], options: RunOptions): Promise<RawResult> {
  await slot()
  try {
    return await runOne(full, options)
  } finally {
    release()
  }
}

// At most this many one-shot processes at a time: each holds ~4 descriptors of ours while it runs (its pipes),
// and a burst (one `ip -batch` per namespace, 300 namespaces settling at once) must not use up RLIMIT_NOFILE.
// With the usual limits (1024 and up) this is 160 or more, far beyond what 2–8 cores run in parallel anyway.
let running = 0
const waiting: (() => void)[] = []
let maxRunning: number | undefined

function limit(): number {
  if (maxRunning !== undefined) return maxRunning
  let soft = 1024
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))
    const n = Number(line?.split(/\s{2,}/)[1])
    if (Number.isFinite(n)) soft = n
  } catch {
    // keep the default
  }
  maxRunning = Math.max(4, Math.floor((soft - 64) / 6))
  return maxRunning
}

function slot(): Promise<void> {
  if (running < limit()) {
    running += 1
    return Promise.resolve()
  }
  return new Promise((r) => waiting.push(r))
}

function release(): void {
  const next = waiting.shift()
  if (next !== undefined) next() // the slot passes on
  else running -= 1
}

function runOne(full: readonly string[], options: RunOptions): Promise<RawResult> {
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
    let enoent: Error | undefined
    let timer: NodeJS.Timeout | undefined
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') enoent = e
      else if (child.stdout === null || child.pid === undefined) {
        // Could not start at all (EMFILE, ENOMEM, EAGAIN): say so as the command's failure.
        clearTimeout(timer)
        resolve({ exitCode: -1, stdout: '', stderr: `${e.message}\n`, timedOut: false, canceled: false })
      }
    })
    if (child.stdout === null || child.stderr === null) return // the 'error' event resolves
    const out: Buffer[] = []
    const err: Buffer[] = []
    let timedOut = false
    let canceled = false
    let killTimer: NodeJS.Timeout | undefined
    const kill = () => {
      child.kill('SIGTERM')
      killTimer = setTimeout(() => child.kill('SIGKILL'), 1000)
    }
    timer = setTimeout(() => {
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
    if (r.failed && (r.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') output.append('stderr', `\n${argv[0]}: not found\n`)
    const exitCode = r.exitCode ?? (r.signal !== undefined ? 128 + (constants.signals[r.signal] ?? 0) : -1)
    output.ended(exitCode)
    return {
      argv,
      command,
      netns: options.netns,
      exitCode,
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
