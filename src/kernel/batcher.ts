// Coalesces `ip` lines for the same namespace, asked for in the same tick by independent callers
// (e.g. `Promise.all(hosts.map((h) => lab.namespace(h)))`), into one `ip [-n NS] -force -batch -` process.
// Spawning is what costs (2–4 ms a process, PERF-NOTES), not the kernel work. `-force` lets every caller's
// lines run even when another caller's line fails; ip reports each failure as "…\nCommand failed -:N",
// so each caller gets exactly its own errors.
import { commandFailed, type Executor, type RunResult } from '../exec/index.js'
import type { NetspecError } from '../errors.js'
import type { NetlinkEngine } from './netlink/engine.js'
import { batchLineProblem, checkBatchLine } from '../values/batch.js'

interface Request {
  lines: readonly string[]
  /** Index of this request's first line in the combined batch. */
  offset: number
  resolve: () => void
  reject: (e: NetspecError) => void
}

interface Pending {
  requests: Request[]
  lines: string[]
  signal: AbortSignal | undefined
}

export class IpBatcher {
  readonly #exec: Executor
  readonly #queued = new Map<string, Pending>()
  #scheduled = false

  readonly #beforeSend: (() => void) | undefined
  readonly #engine: NetlinkEngine | undefined

  /**
   * `beforeSend` runs synchronously before each batch goes to the kernel (the lab writes its ownership marker
   * there). With an `engine`, batches it understands run in-process over netlink instead of in an `ip` process.
   */
  constructor(exec: Executor, beforeSend?: () => void, engine?: NetlinkEngine) {
    this.#exec = exec
    this.#beforeSend = beforeSend
    this.#engine = engine
  }

  /** Runs these lines in `netns` (undefined: where ip runs, for `netns add` and friends). Rejects with this caller's first failure. */
  run(netns: string | undefined, lines: readonly string[], signal?: AbortSignal): Promise<void> {
    if (lines.length === 0) return Promise.resolve()
    // A line ip would not read as exactly one command (a comment, a continuation, an unterminated quote) is
    // refused here, alone: it never joins the batch, so it cannot change or break any other caller's lines.
    const bad = lines.find((l) => batchLineProblem(l) !== undefined)
    if (bad !== undefined) {
      try {
        checkBatchLine(bad, { netns })
      } catch (e) {
        return Promise.reject(e as NetspecError)
      }
    }
    const key = netns ?? ''
    let p = this.#queued.get(key)
    if (p === undefined) this.#queued.set(key, (p = { requests: [], lines: [], signal }))
    return new Promise<void>((resolve, reject) => {
      p.requests.push({ lines, offset: p.lines.length, resolve, reject })
      p.lines.push(...lines)
      if (!this.#scheduled) {
        this.#scheduled = true
        // After the current synchronous run and its microtasks: every caller of this tick has queued its lines.
        setImmediate(() => this.#flush())
      }
    })
  }

  #flush(): void {
    this.#scheduled = false
    const work = [...this.#queued]
    this.#queued.clear()
    try {
      this.#beforeSend?.()
    } catch (e) {
      // Nothing may reach the kernel unrecorded (the lab's marker could not be written): every caller fails.
      for (const [, p] of work) for (const r of p.requests) r.reject(e as NetspecError)
      return
    }
    for (const [key, p] of work) void this.#send(key === '' ? undefined : key, p)
  }

  async #send(netns: string | undefined, p: Pending): Promise<void> {
    const argv = netns === undefined ? ['ip', '-force', '-batch', '-'] : ['ip', '-n', netns, '-force', '-batch', '-']
    let result: RunResult
    let failures: { line: number; message: string }[]
    const ops = this.#engine?.plan(netns, p.lines)
    if (ops !== undefined && p.signal?.aborted !== true) {
      // In-process: the same lines as netlink requests, no process (kernel/netlink/engine.ts).
      const started = performance.now()
      try {
        failures = this.#engine!.run(netns, ops)
      } catch (e) {
        for (const r of p.requests) r.reject(e as NetspecError)
        return
      }
      const stderr = failures.map((f) => `${f.message}\nCommand failed -:${f.line + 1}`).join('\n')
      result = { argv, command: argv.join(' '), netns, exitCode: failures.length === 0 ? 0 : 1, stdout: '', stderr, timedOut: false, canceled: false, durationMs: performance.now() - started }
    } else {
      try {
        result = await this.#exec.run(argv, { input: `${p.lines.join('\n')}\n`, signal: p.signal })
      } catch (e) {
        for (const r of p.requests) r.reject(e as NetspecError)
        return
      }
      failures = parseBatchFailures(result.stderr)
    }
    if (result.exitCode === 0 && !result.timedOut && !result.canceled) {
      for (const r of p.requests) r.resolve()
      return
    }
    for (const r of p.requests) {
      const mine = failures.find((f) => f.line >= r.offset && f.line < r.offset + r.lines.length)
      if (mine === undefined && failures.length > 0 && !result.timedOut && !result.canceled) {
        r.resolve()
        continue
      }
      const line = mine === undefined ? undefined : p.lines[mine.line]
      r.reject(
        Object.assign(
          commandFailed(
            {
              ...result,
              command: line === undefined ? result.command : `ip${netns === undefined ? '' : ` -n ${netns}`} ${line}`,
              stderr: mine?.message ?? result.stderr,
            },
            { netns, what: line === undefined ? 'ip batch failed' : `ip ${line.split(' ').slice(0, 2).join(' ')} failed` },
          ),
          {
            failedLine: mine === undefined ? undefined : mine.line - r.offset,
            /** Every failing line of this caller (indexes into its lines): what the kernel did not do. */
            failedLines: failures.filter((f) => f.line >= r.offset && f.line < r.offset + r.lines.length).map((f) => f.line - r.offset),
          },
        ),
      )
    }
  }
}

/** `ip -force -batch` stderr → the failing lines (0-based) with what the kernel said about each. */
export function parseBatchFailures(stderr: string): { line: number; message: string }[] {
  const out: { line: number; message: string }[] = []
  let said: string[] = []
  for (const text of stderr.split('\n')) {
    const m = /^Command failed -:(\d+)$/.exec(text.trim())
    if (m !== null) {
      out.push({ line: Number(m[1]) - 1, message: said.join('\n').trim() })
      said = []
    } else if (text.trim() !== '') said.push(text)
  }
  return out
}
