// Checks made once per process before the first lab: privileges and the `ip` tool.
import { readFileSync } from 'node:fs'
import { NetspecError } from '../errors.js'
import type { Executor } from '../exec/index.js'
import { isBuiltinLocal, onPath } from '../exec/local.js'
import { toolHint } from '../exec/tools.js'

const CAP_NET_ADMIN = 12n
const CAP_SYS_ADMIN = 21n

/** Effective capabilities of this process, from /proc/self/status. */
export function effectiveCaps(status = readFileSync('/proc/self/status', 'utf8')): bigint {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1]
  return hex === undefined ? 0n : BigInt(`0x${hex}`)
}

export function missingPrivileges(caps: bigint): string[] {
  const missing: string[] = []
  if (((caps >> CAP_NET_ADMIN) & 1n) === 0n) missing.push('CAP_NET_ADMIN')
  if (((caps >> CAP_SYS_ADMIN) & 1n) === 0n) missing.push('CAP_SYS_ADMIN')
  return missing
}

export function notPermitted(missing: string[]): NetspecError {
  return new NetspecError('not-permitted', `netspec needs root: this process lacks ${missing.join(' and ')}`, {
    hint:
      'network namespaces need CAP_NET_ADMIN and CAP_SYS_ADMIN. Run as root (sudo -E env "PATH=$PATH" npx vitest run), ' +
      'or in a container with --cap-add NET_ADMIN --cap-add SYS_ADMIN --cap-add NET_RAW, or run `npx netspec doctor`',
  })
}

const checked = new WeakMap<Executor, Promise<void>>()

export function preflight(exec: Executor): Promise<void> {
  let p = checked.get(exec)
  if (p === undefined) {
    p = run(exec)
    checked.set(exec, p)
    p.catch(() => checked.delete(exec)) // a failed check is not remembered: the user may fix it and retry
  }
  return p
}

async function run(exec: Executor): Promise<void> {
  if (exec.kind === 'local') {
    const missing = missingPrivileges(effectiveCaps())
    if (missing.length > 0) throw notPermitted(missing)
  }
  // The built-in local executor runs commands with this PATH: looking `ip` up costs ~0.1 ms, a process ~3 ms
  // (the first lab of a process pays it). Other executors (containers, wrappers) are asked.
  if (isBuiltinLocal(exec)) {
    if (onPath('ip')) return
    throw missingIp()
  }
  const r = await exec.run(['ip', '-V']) // throws missing-tool with the package to install
  if (r.exitCode !== 0) {
    throw new NetspecError('missing-tool', "'ip' did not run", {
      command: r.command,
      stderr: r.stderr,
      hint: 'install iproute2: apt-get install -y iproute2',
    })
  }
}

function missingIp(): NetspecError {
  return new NetspecError('missing-tool', "'ip' is not installed (or not on PATH)", { command: 'ip', hint: toolHint('ip') })
}
