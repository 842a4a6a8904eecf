// Processes a test spawned in its lab's namespaces (daemons, servers, captures): started with a readiness
// wait (a pattern in their output or a check), remembered with their name, namespace and the spec line that
// started them, so a failure can show each one's state and last output (diagnostics, `within` timeouts).
import { accessSync, constants, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { NetspecError, invalidInput, isNetspecError } from '../errors.js'
import type { SpawnedProcess } from '../exec/index.js'
import { FAILURE_LINES } from '../exec/output.js'
import type { Namespace } from './namespace.js'
import type { SpawnOptions } from './types.js'
import { checkKeys } from './validate.js'

const isNamespace = (x: object): x is Namespace => 'lab' in x && 'name' in x && typeof (x as Namespace).name === 'string'

export interface SpawnRecord {
  /** `options.name`, else the program's file name (`bird`, `dnsmasq`; `node` for process.execPath). */
  readonly name: string
  /** The namespace's label and kernel name. */
  readonly namespace: string
  readonly netns: string
  /** The spec line that called `spawn`. */
  readonly calledAt: string | undefined
  readonly proc: SpawnedProcess
}

const spawned = new WeakMap<object, SpawnRecord[]>()

/** The processes spawned in a lab (by its internals object), oldest first. */
export function spawnedOf(lab: object): readonly SpawnRecord[] {
  return spawned.get(lab) ?? []
}

/** A process's name for people: the program's file name, or the first word of an `sh -c` script. */
export function processName(argv: readonly string[]): string {
  const first = argv[0] === 'sh' && argv[1] === '-c' ? (argv[2] ?? '').trim().split(/\s+/)[0] ?? 'sh' : argv[0] ?? '?'
  if (first === process.execPath) return 'node'
  return basename(first) || '?'
}

export async function spawnProcess(ns: Namespace, command: string | readonly string[], options: SpawnOptions, calledAt: string | undefined): Promise<SpawnedProcess> {
  const ctx = { lab: ns.lab.label, namespace: ns.label, netns: ns.name, calledAt }
  checkKeys(options, ['env', 'ready', 'readyTimeoutMs', 'name'], 'spawn', ctx)
  const { ready, readyTimeoutMs } = options
  if (ready !== undefined && !(ready instanceof RegExp) && typeof ready !== 'function')
    throw invalidInput(`spawn: 'ready' must be a RegExp or a function returning a boolean, got ${typeof ready}`, ctx)
  if (readyTimeoutMs !== undefined && (!Number.isFinite(readyTimeoutMs) || readyTimeoutMs <= 0))
    throw invalidInput(`spawn: 'readyTimeoutMs' must be a positive number of milliseconds, got ${readyTimeoutMs}`, ctx)
  const argv = typeof command === 'string' ? ['sh', '-c', command] : command
  if (argv.length === 0) throw invalidInput('spawn: the command is empty', ctx)
  const name = options.name ?? processName(argv)
  if (typeof name !== 'string' || name === '' || name.length > 64 || /[\0\n]/.test(name))
    throw invalidInput(`spawn: 'name' must be 1–64 characters on one line`, ctx)

  ns.lab.assertAlive(ns)
  // A program that cannot be run is an error now, as exec() says, not a handle that is 'running' until the
  // exec inside the namespace fails (lab namespaces share this machine's file system on the local executor).
  if (ns.lab.executor.kind === 'local' && findProgram(argv[0]!, options.env?.PATH ?? process.env.PATH) === undefined)
    throw new NetspecError('missing-tool', `'${argv[0]}' is not installed (or not on PATH), so it cannot be spawned in ${ns.label}`, {
      ...ctx,
      command: argv.join(' '),
      hint: argv[0]!.includes('/') ? `${argv[0]} is not an executable file` : `install it, or give its full path (PATH is ${options.env?.PATH ?? process.env.PATH ?? '(unset)'})`,
    })
  await ns.lab.settle()
  const proc = ns.lab.executor.spawn(argv, { netns: ns.name, env: options.env, signal: ns.lab.signal })
  ns.lab.track(proc)
  let list = spawned.get(ns.lab)
  if (list === undefined) spawned.set(ns.lab, (list = []))
  list.push({ name, namespace: ns.label, netns: ns.name, calledAt, proc })
  if (ready === undefined) return proc
  try {
    if (ready instanceof RegExp) await proc.waitForOutput(ready, { timeoutMs: readyTimeoutMs })
    else await proc.waitUntil(ready, { timeoutMs: readyTimeoutMs })
  } catch (e) {
    if (!isNetspecError(e)) throw e
    // The exec layer knows only the kernel name: say which namespace, which process and which spec line.
    throw new NetspecError(e.kind, `${name} in ${ns.label} did not become ready: ${e.shortMessage}`, {
      ...ctx,
      command: e.command,
      exitCode: e.exitCode,
      output: e.output ?? proc.lastLines(FAILURE_LINES),
      hint: e.hint,
      cause: e,
    })
  }
  return proc
}

/** One process's state for a failure: name, namespace, pid, running or exit code, and its last lines. */
export function describeProcess(r: SpawnRecord, lines = FAILURE_LINES): string {
  const state = r.proc.running ? 'still running' : `exited with code ${r.proc.exitCode ?? '?'}`
  const out = r.proc.lastLines(lines)
  const head = `${r.name} in ${r.namespace} (pid ${r.proc.pid}): ${state}${r.calledAt === undefined ? '' : `; spawned at ${r.calledAt}`}`
  const body = out.length === 0 ? ['   (no output)'] : [`   last ${out.length} line${out.length === 1 ? '' : 's'} of output:`, ...out.map((l) => `   | ${l}`)]
  return [head, ...body].join('\n')
}

/** The processes spawned in `ns` (or in the whole lab, given its internals), described; '' when there are none. */
export function describeProcessesIn(where: Namespace | object, lines = 10): string {
  const ns = isNamespace(where) ? where : undefined
  return spawnedOf(ns?.lab ?? where)
    .filter((r) => ns === undefined || r.netns === ns.name)
    .map((r) => describeProcess(r, lines))
    .join('\n')
}

/** Where execvp would find `program` (a path with '/' as it is; else the first executable file on PATH). */
export function findProgram(program: string, path = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'): string | undefined {
  const runnable = (f: string) => {
    try {
      accessSync(f, constants.X_OK)
      return statSync(f).isFile()
    } catch {
      return false
    }
  }
  if (program.includes('/')) return runnable(program) ? program : undefined
  for (const dir of path.split(':')) if (runnable(join(dir === '' ? '.' : dir, program))) return join(dir === '' ? '.' : dir, program)
  return undefined
}
