// The exec layer's one interface. Everything in netspec that starts a process goes through an Executor,
// so a second back end (commands run inside a container) slots in without touching the layers above.

export interface RunOptions {
  /** Kernel name of a network namespace to run the command in (`ip netns exec NAME …`). */
  netns?: string
  /** Fed to the command's standard input (e.g. the lines of an `ip -batch -`). */
  input?: string
  /** Kill the command after this long; the result then says `timedOut`. Default 30 s. */
  timeoutMs?: number
  /** Abort (e.g. the Vitest test's signal): the command is killed and the result says `canceled`. */
  signal?: AbortSignal
  env?: Record<string, string>
}

export interface RunResult {
  argv: readonly string[]
  /** The command as a person would paste it into a root shell. */
  command: string
  netns?: string
  exitCode: number
  stdout: string
  stderr: string
  timedOut: boolean
  canceled: boolean
  durationMs: number
}

export interface SpawnOptions extends Omit<RunOptions, 'input' | 'timeoutMs'> {
  /** Keep at most this many characters of each output stream (the tail). Default 64 KiB. */
  maxBuffer?: number
}

export interface SpawnedProcess {
  readonly pid: number
  readonly argv: readonly string[]
  readonly command: string
  readonly netns?: string
  /** Output so far (bounded tail). */
  stdout(): string
  stderr(): string
  /** The last `n` lines of output (default: all kept, up to 200), stdout and stderr interleaved as they came. */
  lastLines(n?: number): string[]
  /** Exit code once exited (128 + n after signal n); undefined while running. */
  readonly exitCode: number | undefined
  /** Resolves once `check` returns true (polled with backoff); rejects if the process exits first or the deadline passes. */
  waitUntil(check: () => boolean | Promise<boolean>, options?: { timeoutMs?: number; intervalMs?: number }): Promise<void>
  /** Resolves once when some output line matches, rejects if the process exits first or the deadline passes. */
  waitForOutput(pattern: RegExp, options?: { timeoutMs?: number; stream?: 'stdout' | 'stderr' | 'both' }): Promise<RegExpMatchArray>
  /** True until the process has exited. */
  readonly running: boolean
  /** Resolves with the final result when the process exits (never rejects). */
  readonly exited: Promise<RunResult>
  /** SIGTERM, then SIGKILL after `graceMs` (default 1 s); resolves when the process is gone. */
  stop(options?: { graceMs?: number }): Promise<RunResult>
}

export interface Executor {
  /** 'local' runs on this machine; 'container' inside a capability-limited container. */
  readonly kind: string
  /** Runs a command to completion. Resolves on any exit code; rejects only when it cannot start (missing tool). */
  run(argv: readonly string[], options?: RunOptions): Promise<RunResult>
  spawn(argv: readonly string[], options?: SpawnOptions): SpawnedProcess
}
