// `netspec run --container`: the whole suite inside a runner container. The project and Node are
// bind-mounted at their own paths, Vitest runs inside with `docker exec`, output streams through
// live, and the exit code is Vitest's. The container dies with this process (lifeline).
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { RunPlan } from '../cli/run.js'
import { isNetspecError } from '../errors.js'
import { NODE_IN_IMAGE } from './image.js'
import { startRunner, type Runner } from './runner.js'

/** The project root: the nearest folder from `cwd` upwards with node_modules/vitest. */
export function findProject(cwd: string): { root: string; vitest: string } | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const vitest = join(dir, 'node_modules', 'vitest', 'vitest.mjs')
    if (existsSync(vitest)) return { root: dir, vitest }
    if (dirname(dir) === dir) return undefined
  }
}

/** Variables passed into the container: the plan's, plus CI and netspec's own switches from this environment. */
export function forwardedEnv(plan: Pick<RunPlan, 'env'>, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = { HOME: '/root' }
  for (const [k, v] of Object.entries(env)) if (v !== undefined && /^(CI|GITHUB_[A-Z_]+|RUNNER_[A-Z_]+|NETSPEC_[A-Z_]+|NO_COLOR|FORCE_COLOR)$/.test(k)) out[k] = v
  delete out.NETSPEC_EXECUTOR // inside, the kernel commands run locally
  // Inside the runner (network none) the sealed-lab check has nothing to guard: the host's run covers the machine.
  return { ...out, NETSPEC_SEALED: 'off', ...plan.env }
}

/** The `docker exec` argv that runs Vitest inside the runner. */
export function execArgv(runner: Pick<Runner, 'id'>, cwd: string, vitest: string, args: readonly string[], env: Record<string, string>): string[] {
  return ['exec', '-i', '-w', cwd, ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), runner.id, NODE_IN_IMAGE, vitest, ...args]
}

export interface RunIo {
  /** netspec's own messages (default: stderr). */
  log?: (line: string) => void
  /** Vitest's output; default: straight through to this process's stdout and stderr. */
  output?: (chunk: string) => void
}

/** Runs Vitest inside a runner container; resolves with Vitest's exit code. */
export async function runInContainer(plan: RunPlan & { cwd: string }, io: RunIo = {}): Promise<number> {
  const log = io.log ?? ((l: string) => void process.stderr.write(`${l}\n`))
  const project = findProject(plan.cwd)
  if (project === undefined) {
    log(`netspec run --container: no node_modules/vitest in ${plan.cwd} or above. Install it in your project: npm install -D vitest`)
    return 127
  }
  let runner: Runner
  try {
    runner = await startRunner({ mounts: [{ source: project.root }] })
  } catch (e) {
    log(`netspec run --container: ${isNetspecError(e) ? e.message : String(e)}`)
    return 1
  }
  log(`netspec: running Vitest in container ${runner.name} (${runner.id.slice(0, 12)})`)
  const argv = execArgv(runner, resolve(plan.cwd), project.vitest, plan.args, forwardedEnv(plan))
  try {
    return await new Promise<number>((done) => {
      const child = spawn('docker', argv, { stdio: ['ignore', io.output === undefined ? 'inherit' : 'pipe', io.output === undefined ? 'inherit' : 'pipe'] })
      child.stdout?.on('data', (c: Buffer) => io.output?.(c.toString()))
      child.stderr?.on('data', (c: Buffer) => io.output?.(c.toString()))
      // Ctrl-C or SIGTERM: closing the lifeline ends everything inside; then the exec ends too.
      const stop = () => void runner.stop()
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      const finish = (code: number) => {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
        done(code)
      }
      child.on('error', () => finish(127))
      child.on('exit', (code, signal) => finish(code ?? (signal === null ? 1 : 129)))
    })
  } finally {
    await runner.stop()
  }
}
