// The output of a long-lived process, whichever back end runs it: a bounded tail of each stream, and
// waiting until a line matches (readiness) or the process exits first.
import { NetspecError } from '../errors.js'
import { LineRing } from './ring.js'
import type { RunResult, SpawnedProcess } from './types.js'

/** Lines of a process's output shown in an error or the diagnostics. */
export const FAILURE_LINES = 20

export class ProcessOutput {
  readonly text = { stdout: '', stderr: '' }
  /** The last lines of both streams, in arrival order (what failures show). */
  readonly ring = new LineRing()
  readonly #listeners = new Set<() => void>()
  #running = true
  #exitCode: number | undefined

  constructor(
    private readonly maxBuffer: number,
    private readonly command: string,
    private readonly netns: string | undefined,
  ) {}

  get running(): boolean {
    return this.#running
  }

  /** The exit code once the process has exited (128 + n for a signal, -1 when it never started). */
  get exitCode(): number | undefined {
    return this.#exitCode
  }

  append(stream: 'stdout' | 'stderr', chunk: string): void {
    this.text[stream] = (this.text[stream] + chunk).slice(-this.maxBuffer)
    this.ring.append(stream, chunk)
    this.#notify()
  }

  /** The process is gone: waiters that have not matched yet fail now. */
  ended(exitCode?: number): void {
    this.#running = false
    this.#exitCode = exitCode
    this.#notify()
  }

  waitFor(pattern: RegExp, { timeoutMs = 10_000, stream = 'both' }: { timeoutMs?: number; stream?: 'stdout' | 'stderr' | 'both' } = {}) {
    const current = () => (stream === 'both' ? `${this.text.stdout}\n${this.text.stderr}` : this.text[stream])
    return this.#until(`printing ${pattern}`, timeoutMs, () => current().match(pattern) ?? undefined)
  }

  /**
   * Polls `check` (e.g. "does the daemon answer on its socket?") until it returns true, the process exits, or
   * the deadline passes; a check that throws counts as not ready yet (its last error is said on timeout).
   */
  async waitUntil(check: () => boolean | Promise<boolean>, { timeoutMs = 10_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {}): Promise<void> {
    const deadline = performance.now() + timeoutMs
    let lastError: unknown
    let delay = Math.max(1, intervalMs)
    for (;;) {
      try {
        if ((await check()) === true) return
        lastError = undefined
      } catch (e) {
        lastError = e
      }
      const said = lastError === undefined ? '' : ` (the check last threw: ${lastError instanceof Error ? lastError.message : String(lastError)})`
      if (!this.#running) throw this.#exitedError(`its ready check passed${said}`)
      const left = deadline - performance.now()
      if (left <= 0) throw this.#timeoutError(`ready check did not pass within ${timeoutMs} ms${said}`)
      await new Promise<void>((resolve) => {
        // Woken early when the process exits, so a dead daemon fails at once instead of at the deadline.
        const wake = () => {
          clearTimeout(timer)
          this.#listeners.delete(onExit)
          resolve()
        }
        const onExit = () => {
          if (!this.#running) wake()
        }
        const timer = setTimeout(wake, Math.min(delay, left))
        this.#listeners.add(onExit)
      })
      delay = Math.min(delay * 2, 500)
    }
  }

  #until<T>(what: string, timeoutMs: number, test: () => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer)
        this.#listeners.delete(check)
      }
      const timer = setTimeout(() => {
        done()
        reject(this.#timeoutError(`no output ${what.replace(/^printing /, 'matching ')} within ${timeoutMs} ms`))
      }, timeoutMs)
      const check = () => {
        const m = test()
        if (m !== undefined) {
          done()
          resolve(m)
        } else if (!this.#running) {
          done()
          reject(this.#exitedError(what))
        }
      }
      this.#listeners.add(check)
      check()
    })
  }

  #exitedError(before: string): NetspecError {
    const code = this.#exitCode === undefined ? '' : ` with code ${this.#exitCode}`
    return new NetspecError('command-failed', `process exited${code} before ${before}`, {
      netns: this.netns,
      command: this.command,
      exitCode: this.#exitCode,
      output: this.ring.lines(FAILURE_LINES),
      hint: 'the process stopped on its own: its last output above usually says why',
    })
  }

  #timeoutError(message: string): NetspecError {
    return new NetspecError('timed-out', message, {
      netns: this.netns,
      command: this.command,
      output: this.ring.lines(FAILURE_LINES),
      hint: 'the process is still running but did not become ready; check its last output above',
    })
  }

  #notify(): void {
    for (const l of this.#listeners) l()
  }
}

/**
 * The SpawnedProcess handle both back ends return: output, readiness and a stop that sends SIGTERM, then
 * SIGKILL after the grace period. `kill` says whether the signal could be sent (an agent may never have started).
 */
export function spawnedHandle(h: {
  pid: () => number
  argv: readonly string[]
  command: string
  netns: string | undefined
  output: ProcessOutput
  exited: Promise<RunResult>
  kill: (signal: 'SIGTERM' | 'SIGKILL') => boolean | Promise<boolean>
}): SpawnedProcess {
  const { output, exited, kill } = h
  return {
    get pid() {
      return h.pid()
    },
    argv: h.argv,
    command: h.command,
    netns: h.netns,
    stdout: () => output.text.stdout,
    stderr: () => output.text.stderr,
    lastLines: (n?: number) => output.ring.lines(n),
    get exitCode() {
      return output.exitCode
    },
    get running() {
      return output.running
    },
    exited,
    waitForOutput: (pattern, opts) => output.waitFor(pattern, opts),
    waitUntil: (check, opts) => output.waitUntil(check, opts),
    async stop({ graceMs = 1000 } = {}) {
      if (output.running && (await kill('SIGTERM'))) {
        const timer = setTimeout(() => void kill('SIGKILL'), graceMs)
        await exited
        clearTimeout(timer)
      }
      return exited
    },
  }
}
