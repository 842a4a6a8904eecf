// `netspec run`: the user's own Vitest (their node_modules/.bin/vitest), with netspec's switches
// turned into environment variables the fixture reads; output streams through, the exit code passes through.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { effectiveCaps, missingPrivileges } from '../lab/preflight.js'
import { keepPolicy, type KeepMode } from '../vitest/keep.js'
import { parseArgs, UsageError } from './args.js'
import { EXIT, stdio, type Command, type Io } from './command.js'

const HELP = `Usage: netspec run [--keep-on-failure | --pause-on-failure] [--project NAME] [--container] [FILES…] [-- VITEST ARGS…]

Runs your specs with your project's Vitest (node_modules/.bin/vitest, found from the current directory
upwards) as \`vitest run\`. Output streams through; the exit code is Vitest's.

Options:
  --keep-on-failure    keep the lab of each failed test and print how to enter its namespaces
                       (NETSPEC_KEEP=on-failure); remove kept labs later with: netspec sweep --kept --force
  --pause-on-failure   stop at a failure with its lab live, print the commands, continue on Enter
                       (NETSPEC_KEEP=pause); without a terminal it behaves like --keep-on-failure
  --project NAME       run only this Vitest project (passed as --project NAME)
  --container          run the specs inside the netspec runner container instead of on this machine
  FILES…               file filters, passed to Vitest
  -- ARGS…             anything after -- goes to Vitest unchanged (e.g. -- -t "NAT" --reporter verbose)

On CI (CI=true) keeping labs is refused unless NETSPEC_KEEP_FORCE=1, so CI machines never accumulate labs.

Exit codes: Vitest's (0 all passed, 1 failures), 2 usage error, 127 Vitest not found.

Examples:
  sudo -E env "PATH=$PATH" npx netspec run
  sudo -E env "PATH=$PATH" npx netspec run --keep-on-failure specs/nat.spec.ts
  sudo -E env "PATH=$PATH" npx netspec run --project specs -- -t "port forward"
`

export interface RunPlan {
  /** The Vitest arguments after `vitest`. */
  args: string[]
  /** Environment additions for the run. */
  env: Record<string, string>
  keep: KeepMode
  container: boolean
}

/** Turns `netspec run` arguments into what to start; throws UsageError for contradictions and CI refusals. */
export function planRun(argv: readonly string[], env: Record<string, string | undefined> = process.env): RunPlan {
  const a = parseArgs(argv, { flags: ['keep-on-failure', 'pause-on-failure', 'container'], options: ['project'], positionals: true })
  if (a.flags.has('keep-on-failure') && a.flags.has('pause-on-failure'))
    throw new UsageError('choose one of --keep-on-failure and --pause-on-failure')
  const keep: KeepMode = a.flags.has('pause-on-failure') ? 'pause' : a.flags.has('keep-on-failure') ? 'on-failure' : 'off'
  const extra: Record<string, string> = {}
  if (keep !== 'off') {
    const policy = keepPolicy({ ...env, NETSPEC_KEEP: keep })
    if (policy.refused !== undefined)
      throw new UsageError(`--${keep === 'pause' ? 'pause' : 'keep'}-on-failure is refused on CI (CI=${env.CI}): a CI machine must not accumulate labs; set NETSPEC_KEEP_FORCE=1 to keep anyway`)
    extra.NETSPEC_KEEP = keep
  }
  const project = a.options.get('project')
  return {
    args: ['run', ...(project === undefined ? [] : ['--project', project]), ...a.positionals, ...a.rest],
    env: extra,
    keep,
    container: a.flags.has('container'),
  }
}

/** The project's own Vitest binary, looked up from `cwd` upwards. */
export function findVitest(cwd: string): string | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const bin = join(dir, 'node_modules', '.bin', 'vitest')
    if (existsSync(bin)) return bin
    if (dirname(dir) === dir) return undefined
  }
}

/** What the container back end (src/container/cli.ts, when built in) exports for `run --container`. */
export type ContainerRun = (plan: RunPlan & { cwd: string }) => Promise<number>

async function containerRun(): Promise<ContainerRun | undefined> {
  try {
    const mod = (await import('../container/cli.js')) as { runInContainer?: ContainerRun }
    return mod.runInContainer
  } catch {
    return undefined
  }
}

export async function runCli(argv: string[], io: Io = stdio, cwd = process.cwd()): Promise<number> {
  const plan = planRun(argv)
  if (plan.container) {
    const fn = await containerRun()
    if (fn === undefined) {
      io.err('netspec run: container mode is not available in this netspec build (src/container/cli.ts has no runInContainer)')
      return EXIT.failed
    }
    return fn({ ...plan, cwd })
  }
  const vitest = findVitest(cwd)
  if (vitest === undefined) {
    io.err(`netspec run: no node_modules/.bin/vitest in ${cwd} or above. Install it in your project: npm install -D vitest`)
    return EXIT.notFound
  }
  if (missingPrivileges(effectiveCaps()).length > 0)
    io.err('netspec run: warning: not root; labs will fail with "netspec needs root". Try: sudo -E env "PATH=$PATH" npx netspec run')
  return spawnThrough(vitest, plan.args, { ...process.env, ...plan.env }, cwd)
}

// Inherits the terminal (colours, progress, NETSPEC_KEEP=pause prompts) and forwards termination signals.
function spawnThrough(bin: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  return new Promise((resolveExit) => {
    const child = spawn(bin, args, { stdio: 'inherit', env, cwd })
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig)
    const handlers = (['SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const)
    // SIGINT from a terminal reaches the whole process group already; swallow it here so we wait for Vitest.
    const onInt = () => {}
    process.on('SIGINT', onInt)
    for (const [s, h] of handlers) process.on(s, h)
    const done = (code: number) => {
      process.off('SIGINT', onInt)
      for (const [s, h] of handlers) process.off(s, h)
      resolveExit(code)
    }
    child.on('error', () => done(EXIT.notFound))
    child.on('exit', (code, signal) => done(code ?? (signal === null ? EXIT.failed : 128 + signalNumber(signal))))
  })
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 0
}

export const runCommand: Command = {
  name: 'run',
  summary: 'run your specs with your Vitest (--keep-on-failure to debug a failed lab live)',
  help: HELP,
  run: (args) => runCli(args),
}
