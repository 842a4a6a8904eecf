import { NetspecError, type NetspecErrorContext } from '../errors.js'
import { createLocalExecutor } from './local.js'
import type { Executor, RunOptions, RunResult } from './types.js'

export type { Executor, RunOptions, RunResult, SpawnOptions, SpawnedProcess } from './types.js'
export { createLocalExecutor } from './local.js'
export { shellQuote, displayCommand } from './quote.js'
export { TOOL_PACKAGES, toolHint } from './tools.js'

let current: Executor | undefined

/**
 * The executor labs use unless they are given one: local, unless a container back end was installed.
 * For a lab (`purpose: 'lab'`), NETSPEC_EXECUTOR must agree with what was installed: a run that asked for
 * the container back end never silently builds its labs on the host.
 */
export function defaultExecutor(purpose: 'lab' | 'tool' = 'tool'): Executor {
  if (purpose === 'lab') checkRequestedExecutor(process.env.NETSPEC_EXECUTOR, current?.kind)
  current ??= createLocalExecutor()
  return current
}

/** Throws unless NETSPEC_EXECUTOR (unset, 'local' or 'container') matches the installed back end. */
export function checkRequestedExecutor(requested: string | undefined, installed: string | undefined): void {
  if (requested === undefined || requested === '' || requested === 'local') return
  if (requested !== 'container')
    throw new NetspecError('invalid-input', `NETSPEC_EXECUTOR=${JSON.stringify(requested)} is not a known executor`, {
      hint: "use NETSPEC_EXECUTOR=container (kernel commands inside a runner container) or leave it unset (on this machine)",
    })
  if (installed === 'container') return
  throw new NetspecError('invalid-input', 'NETSPEC_EXECUTOR=container is set, but the container back end is not installed in this process, so this lab would run on the host', {
    hint:
      "add netspec's setup file to your Vitest config: test: { setupFiles: ['netspec/container-setup'] } " +
      "(outside Vitest: Lab.create({ executor: createContainerExecutor() })); or unset NETSPEC_EXECUTOR to run on this machine",
  })
}

export function setDefaultExecutor(executor: Executor | undefined): void {
  current = executor
}

/** Runs a command and throws a NetspecError with full context when it fails (non-zero exit, timeout). */
export async function runChecked(
  executor: Executor,
  argv: readonly string[],
  options: RunOptions = {},
  context: NetspecErrorContext & { what?: string } = {},
): Promise<RunResult> {
  const result = await executor.run(argv, options)
  if (result.exitCode !== 0 || result.timedOut || result.canceled) throw commandFailed(result, context)
  return result
}

export function commandFailed(result: RunResult, context: NetspecErrorContext & { what?: string } = {}): NetspecError {
  const what = context.what ?? `'${result.argv[0]}' failed`
  const kind = result.timedOut ? 'timed-out' : 'command-failed'
  const message = result.timedOut
    ? `${what}: timed out after ${Math.round(result.durationMs)} ms`
    : result.canceled
      ? `${what}: canceled (the test was aborted)`
      : what
  return new NetspecError(kind, message, {
    netns: result.netns,
    command: result.command,
    stderr: result.stderr,
    exitCode: result.exitCode,
    hint: context.hint ?? hintFor(result.stderr),
    ...context,
  })
}

// What the kernel's usual complaints mean, and what to do.
export function hintFor(stderr: string): string | undefined {
  if (/Operation not permitted|Permission denied/i.test(stderr))
    return 'netspec needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN): run the tests as root, e.g. sudo -E env "PATH=$PATH" npx vitest run'
  if (/cannot create \/proc\/sys\/\S+: (Directory nonexistent|No such file)/.test(stderr))
    return 'this sysctl does not exist in a network namespace on this kernel: check its name (ls /proc/sys/net/…)'
  if (/cat: \/proc\/sys\/\S+: No such file or directory/.test(stderr))
    return 'this sysctl does not exist in a network namespace on this kernel (or its interface is not there): check its name (ls /proc/sys/net/…)'
  if (/Address already assigned/i.test(stderr))
    return 'the interface has this address already (ip -j addr show tells what it has): add it once, or remove it first'
  if (/File exists/i.test(stderr)) return 'an object with this name or address already exists in that namespace'
  if (/Cannot find device/i.test(stderr)) return 'the interface does not exist in that namespace (was it created in another one?)'
  if (/Nexthop has invalid gateway|Network is unreachable|No route to host/i.test(stderr))
    return 'the gateway is not on a directly connected subnet of that namespace: add an address in its subnet first'
  if (/Invalid argument/i.test(stderr)) return 'the kernel rejected a value: check addresses, prefix lengths and names'
  if (/not supported|Unknown device type|No such file or directory.*module/i.test(stderr))
    return 'this kernel lacks the feature: check `npx netspec doctor`'
  return undefined
}
