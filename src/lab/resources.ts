// Running out of descriptors or memory while a lab is built, named as what it is. Measured per namespace
// (test/integration/trust-descriptors.test.ts): the in-process path holds 2 descriptors per namespace (the
// namespace's fd and its netlink socket; +1 per address family probed with reachable(), the ICMP socket);
// the process path (NETSPEC_NO_NETLINK=1, containers) holds none per namespace in the test process.
import { readFileSync, readdirSync } from 'node:fs'
import { NetspecError, type NetspecErrorContext } from '../errors.js'

export const DESCRIPTORS_PER_NAMESPACE = 2

let known: { soft: number | undefined; hard: number | undefined } | undefined

/**
 * The soft and hard RLIMIT_NOFILE of this process, from /proc. Read once, at the first lab (reading needs a
 * descriptor, which is just what is missing when the limit is hit).
 */
export function descriptorLimits(): { soft: number | undefined; hard: number | undefined } {
  if (known?.soft !== undefined) return known
  known = readLimits()
  return known
}

function readLimits(): { soft: number | undefined; hard: number | undefined } {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))
    const [soft, hard] = (line ?? '').split(/\s{2,}/).slice(1, 3).map(Number)
    return { soft: Number.isFinite(soft) ? soft : undefined, hard: Number.isFinite(hard) ? hard : undefined }
  } catch {
    return { soft: undefined, hard: undefined }
  }
}

function openDescriptors(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length - 1
  } catch {
    return undefined
  }
}

/** The error for EMFILE/ENFILE/ENOMEM hit while building `namespaces` namespaces (the count the lab had). */
export function resourceExhausted(cause: unknown, namespaces: number, inProcess: boolean, ctx: NetspecErrorContext): NetspecError {
  const text = cause instanceof Error ? `${cause.message}\n${(cause as { stderr?: string }).stderr ?? ''}` : String(cause)
  const memory = /ENOMEM|Cannot allocate memory/.test(text) && !/EMFILE|ENFILE|Too many open files/.test(text)
  const system = /ENFILE/.test(text)
  const { soft, hard } = descriptorLimits()
  const open = openDescriptors()
  const per = inProcess ? `${DESCRIPTORS_PER_NAMESPACE} descriptors per namespace (its fd and netlink socket; +1 per address family probed)` : 'no descriptor per namespace in this process (each command is a process)'
  const what = memory
    ? `out of memory (ENOMEM) while building namespace ${namespaces}`
    : system
      ? `the machine ran out of file descriptors (ENFILE, fs.file-max) while building namespace ${namespaces}`
      : `this process ran out of file descriptors (EMFILE) while building namespace ${namespaces}: ulimit -n is ${soft ?? '?'} (hard ${hard ?? '?'})${open === undefined ? '' : `, ${open} open`}`
  const need = namespaces * DESCRIPTORS_PER_NAMESPACE + 64
  return new NetspecError('resource-exhausted', what, {
    ...ctx,
    stderr: text.split('\n').find((l) => /EMFILE|ENFILE|ENOMEM|Too many open files|Cannot allocate memory/.test(l))?.trim(),
    hint: memory
      ? 'free memory or build fewer namespaces at a time'
      : `a lab costs ${per}; raise the limit before the run (e.g. \`ulimit -n ${Math.max(need, 4096)}\`, or LimitNOFILE= in a systemd unit) or build fewer namespaces per lab`,
    cause,
  })
}
