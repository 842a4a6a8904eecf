// The output of a long-lived process, whichever back end runs it: a bounded tail of each stream, and
// waiting until a line matches (readiness) or the process exits first.
import { NetspecError } from '../errors.js'
import type { RunResult, SpawnedProcess } from './types.js'

export class ProcessOutput {
  readonly text = { stdout: '', stderr: '' }
  readonly #listeners = new Set<() => void>()
  #running = true

  constructor(
    private readonly maxBuffer: number,
    private readonly command: string,
    private readonly netns: string | undefined,
  ) {}

  get running(): boolean {
    return this.#running
  }

  append(stream: 'stdout' | 'stderr', chunk: string): void {
    this.text[stream] = (this.text[stream] + chunk).slice(-this.maxBuffer)
    this.#notify()
  }

  /** The process is gone: waiters that have not matched yet fail now. */
  ended(): void {
    this.#running = false
    this.#notify()
  }

  waitFor(pattern: RegExp, { timeoutMs = 10_000, stream = 'both' }: { timeoutMs?: number; stream?: 'stdout' | 'stderr' | 'both' } = {}) {
    return new Promise<RegExpMatchArray>((resolve, reject) => {
      const current = () => (stream === 'both' ? `${this.text.stdout}\n${this.text.stderr}` : this.text[stream])
      const done = () => {
        clearTimeout(timer)
        this.#listeners.delete(check)
      }
      const timer = setTimeout(() => {
        done()
        reject(
          new NetspecError('timed-out', `no output matching ${pattern} within ${timeoutMs} ms`, {
            netns: this.netns,
            command: this.command,
            stderr: this.text.stderr,
            hint: 'the process did not become ready; check its output above',
          }),
        )
      }, timeoutMs)
      const check = () => {
        const m = current().match(pattern)
        if (m) {
          done()
          resolve(m)
        } else if (!this.#running) {
          done()
          reject(
            new NetspecError('command-failed', `process exited before printing ${pattern}`, {
              netns: this.netns,
              command: this.command,
              stderr: this.text.stderr,
            }),
          )
        }
      }
      this.#listeners.add(check)
      check()
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
    get running() {
      return output.running
    },
    exited,
    waitForOutput: (pattern, opts) => output.waitFor(pattern, opts),
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
