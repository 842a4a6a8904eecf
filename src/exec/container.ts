// The container back end of the exec layer: every command of a lab runs inside one long-lived runner
// container (started on first use, once per process), so Vitest can run unprivileged on the host.
// Commands go to an agent inside over one `docker exec -i` stream (src/container/agent.ts): a
// `docker exec` per command would cost 50–85 ms, a round trip through the agent costs a few ms.
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import type { Socket } from 'node:net'
import type { Readable, Writable } from 'node:stream'
import { createInterface } from 'node:readline'
import { NetspecError } from '../errors.js'
import { AGENT_SCRIPT, type AgentEvent, type AgentRequest } from '../container/agent.js'
import { NODE_IN_IMAGE } from '../container/image.js'
import { startRunner, type Runner, type RunnerOptions } from '../container/runner.js'
import { ProcessOutput, spawnedHandle } from './output.js'
import { displayCommand } from './quote.js'
import { toolHint } from './tools.js'
import type { Executor, RunOptions, RunResult, SpawnOptions, SpawnedProcess } from './types.js'

const DEFAULT_TIMEOUT_MS = 30_000

export interface ContainerExecutor extends Executor {
  readonly kind: 'container'
  /** The runner container, once started. */
  readonly runner: Runner | undefined
  /** Starts the runner now (otherwise: on the first command). */
  start(): Promise<Runner>
  /** Ends the agent and the container (it also dies with this process, by its lifeline). */
  close(): Promise<void>
}

type Listener = (e: AgentEvent) => void

class Agent {
  readonly #child: ChildProcessByStdio<Writable, Readable, Readable>
  readonly #listeners = new Map<number, Listener>()
  #next = 1
  #dead: string | undefined
  #stderr = ''

  constructor(readonly runner: Runner) {
    this.#child = spawn('docker', ['exec', '-i', runner.id, NODE_IN_IMAGE, '-e', AGENT_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] })
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      let e: AgentEvent
      try {
        e = JSON.parse(line) as AgentEvent
      } catch {
        return
      }
      this.#listeners.get(e.id)?.(e)
    })
    this.#child.stderr.on('data', (c: Buffer) => (this.#stderr = (this.#stderr + c.toString()).slice(-4096)))
    this.#child.on('exit', () => {
      this.#dead = `the agent in runner container ${runner.name} ended${this.#stderr === '' ? '' : `: ${this.#stderr.trim()}`}`
      for (const l of this.#listeners.values()) l({ id: -1, ev: 'exit', exitCode: -1, error: this.#dead })
      this.#listeners.clear()
    })
    this.#idle()
  }

  /** Waits until the agent inside answers. */
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#busy()
      this.#listeners.set(0, (e) => {
        this.#listeners.delete(0)
        this.#idle()
        if (e.ev === 'started') resolve()
        else reject(new NetspecError('container', e.error ?? 'the agent did not start', { hint: 'check `docker logs` of the runner; is Node bind-mounted?' }))
      })
    })
  }

  request(req: Omit<AgentRequest, 'id'>, listener: Listener): number {
    if (this.#dead !== undefined) throw new NetspecError('container', this.#dead, { hint: 'the runner container is gone; a new process starts a new one' })
    const id = this.#next++
    this.#busy()
    this.#listeners.set(id, (e) => {
      if (e.ev === 'exit') {
        this.#listeners.delete(id)
        this.#idle()
      }
      listener(e)
    })
    this.#child.stdin.write(`${JSON.stringify({ ...req, id })}\n`)
    return id
  }

  kill(target: number, signal: string): void {
    if (this.#dead === undefined) this.#child.stdin.write(`${JSON.stringify({ id: 0, op: 'kill', target, signal })}\n`)
  }

  async close(): Promise<void> {
    this.#child.stdin.end()
    if (this.#child.exitCode === null) await new Promise((r) => this.#child.once('exit', r))
  }

  // Pending requests keep Node alive; an idle agent must not (a script's last `await` would hang for ever).
  #busy(): void {
    this.#child.ref()
    for (const s of this.#streams()) s.ref()
  }
  #idle(): void {
    if (this.#listeners.size > 0) return
    this.#child.unref()
    for (const s of this.#streams()) s.unref()
  }
  #streams(): Socket[] {
    return [this.#child.stdin, this.#child.stdout, this.#child.stderr] as unknown as Socket[]
  }
}

function missingTool(argv: readonly string[], netns: string | undefined): NetspecError {
  const tool = argv[0] ?? '?'
  return new NetspecError('missing-tool', `'${tool}' is not installed in the runner image`, {
    netns,
    command: displayCommand(argv, netns),
    hint: `${toolHint(tool)}, then rebuild the image: npx netspec image build`,
  })
}

/** An Executor that runs everything inside one runner container of this process. */
export function createContainerExecutor(options: RunnerOptions = {}): ContainerExecutor {
  let agent: Promise<Agent> | undefined
  let runner: Runner | undefined
  const get = (): Promise<Agent> => {
    agent ??= (async () => {
      runner = await startRunner(options)
      const a = new Agent(runner)
      await a.ready()
      return a
    })()
    agent.catch(() => (agent = undefined)) // a failed start is not remembered: the user may start an engine and retry
    return agent
  }

  return {
    kind: 'container',
    get runner() {
      return runner
    },
    async start() {
      return (await get()).runner
    },

    async run(argv: readonly string[], o: RunOptions = {}): Promise<RunResult> {
      const a = await get()
      const started = performance.now()
      const command = displayCommand(argv, o.netns)
      return new Promise<RunResult>((resolve, reject) => {
        let canceled = false
        const id = a.request({ op: 'run', argv, netns: o.netns, input: o.input, env: o.env, timeoutMs: o.timeoutMs ?? DEFAULT_TIMEOUT_MS }, (e) => {
          if (e.ev !== 'exit') return
          o.signal?.removeEventListener('abort', onAbort)
          if (e.error === 'ENOENT') return reject(missingTool(argv, o.netns))
          if (e.error !== undefined && e.id === -1) return reject(new NetspecError('container', e.error, { command }))
          const stderr = e.stderr ?? ''
          if (o.netns !== undefined && e.exitCode !== 0 && /^exec of "[^"]+" failed: No such file or directory\n?$/.test(stderr)) return reject(missingTool(argv, o.netns))
          resolve({
            argv,
            command,
            netns: o.netns,
            exitCode: e.exitCode ?? -1,
            stdout: e.stdout ?? '',
            stderr,
            timedOut: e.timedOut === true,
            canceled,
            durationMs: performance.now() - started,
          })
        })
        const onAbort = () => {
          canceled = true
          a.kill(id, 'SIGKILL')
        }
        if (o.signal?.aborted === true) onAbort()
        else o.signal?.addEventListener('abort', onAbort, { once: true })
      })
    },

    spawn(argv: readonly string[], o: SpawnOptions = {}): SpawnedProcess {
      return spawnIn(get(), argv, o)
    },

    async close() {
      const a = agent
      agent = undefined
      if (a !== undefined) await (await a.catch(() => undefined))?.close()
      await runner?.stop()
      runner = undefined
    },
  }
}

function spawnIn(agent: Promise<Agent>, argv: readonly string[], o: SpawnOptions): SpawnedProcess {
  const started = performance.now()
  const command = displayCommand(argv, o.netns)
  const output = new ProcessOutput(o.maxBuffer ?? 64 * 1024, command, o.netns)
  let pid = -1
  let id: number | undefined
  let resolveExit!: (r: RunResult) => void
  const exited = new Promise<RunResult>((r) => (resolveExit = r))
  const end = (exitCode: number, timedOut = false, canceled = false) => {
    output.ended(exitCode)
    const { stdout, stderr } = output.text
    resolveExit({ argv, command, netns: o.netns, exitCode, stdout, stderr, timedOut, canceled, durationMs: performance.now() - started })
  }
  const ready = agent.then(
    (a) => {
      id = a.request({ op: 'spawn', argv, netns: o.netns, env: o.env }, (e) => {
        if (e.ev === 'started') pid = e.pid ?? -1
        else if (e.ev === 'out' && e.stream !== undefined) output.append(e.stream, e.data ?? '')
        else if (e.ev === 'exit') {
          if (e.error !== undefined) output.append('stderr', `\n${e.error === 'ENOENT' ? `${argv[0]}: not found` : e.error}\n`)
          end(e.exitCode ?? -1)
        }
      })
      o.signal?.addEventListener('abort', () => a.kill(id!, 'SIGKILL'), { once: true })
      return a
    },
    (e: unknown) => {
      output.append('stderr', `${e instanceof Error ? e.message : String(e)}\n`)
      end(-1)
      return undefined
    },
  )

  return spawnedHandle({
    pid: () => pid,
    argv,
    command,
    netns: o.netns,
    output,
    exited,
    kill: async (sig) => {
      const a = await ready
      if (!output.running || a === undefined || id === undefined) return false
      a.kill(id, sig)
      return true
    },
  })
}
