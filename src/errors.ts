// One error family for everything a user can hit. Checked by a brand, not `instanceof`,
// because Vitest runs test files and setup in different module realms (as execa's isExecaError does).

import { isOwnFrame } from './package-root.js'

const brand = Symbol.for('netspec.error')

export type NetspecErrorKind =
  | 'invalid-input' // rejected before the kernel was touched
  | 'not-permitted' // not root / no CAP_NET_ADMIN
  | 'missing-tool' // ip, ping, nft … not installed
  | 'command-failed' // the kernel (or a tool) said no
  | 'timed-out' // a command or a wait ran past its deadline
  | 'torn-down' // a handle used after its lab was destroyed
  | 'teardown-failed' // something could not be removed: a leak, reported loudly
  | 'container' // container engine or image trouble
  | 'unsupported' // this kernel lacks a feature (e.g. netem); the message names it
  | 'resource-exhausted' // out of file descriptors (EMFILE/ENFILE) or memory: the message names the limit

export interface NetspecErrorContext {
  /** Lab label, e.g. the test name. */
  lab?: string
  /** The user's label of the namespace, e.g. `ns1`. */
  namespace?: string
  /** The kernel's name of the namespace, e.g. `ns-4711-k3x9q-1-ns1`. */
  netns?: string
  /** The command line that failed, as a user could paste it. */
  command?: string
  /** What the kernel or the tool said (stderr). */
  stderr?: string
  exitCode?: number
  /** What to do about it. */
  hint?: string
  /** Where the failing object was declared (a spec line). */
  declaredAt?: string
  /** The spec line that called the failing verb (e.g. `ns.spawn`). */
  calledAt?: string
  /** The last lines a spawned process printed (stdout and stderr interleaved), shown instead of `stderr`. */
  output?: readonly string[]
  cause?: unknown
}

export class NetspecError extends Error {
  readonly [brand] = true
  readonly kind: NetspecErrorKind
  readonly lab?: string
  readonly namespace?: string
  readonly netns?: string
  readonly command?: string
  readonly stderr?: string
  readonly exitCode?: number
  readonly hint?: string
  readonly declaredAt?: string
  readonly calledAt?: string
  readonly output?: readonly string[]
  /** The first line of the message, without the context lines. */
  readonly shortMessage: string

  constructor(kind: NetspecErrorKind, message: string, context: NetspecErrorContext = {}) {
    super(formatMessage(message, context), context.cause === undefined ? undefined : { cause: context.cause })
    this.name = 'NetspecError'
    this.kind = kind
    this.shortMessage = message
    this.lab = context.lab
    this.namespace = context.namespace
    this.netns = context.netns
    this.command = context.command
    this.stderr = context.stderr
    this.exitCode = context.exitCode
    this.hint = context.hint
    this.declaredAt = context.declaredAt
    this.calledAt = context.calledAt
    this.output = context.output
  }
}

export function isNetspecError(value: unknown, kind?: NetspecErrorKind): value is NetspecError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[brand] === true &&
    (kind === undefined || (value as NetspecError).kind === kind)
  )
}

function formatMessage(message: string, c: NetspecErrorContext): string {
  const lines = [message]
  if (c.lab !== undefined) lines.push(`  lab:       ${c.lab}`)
  if (c.namespace !== undefined || c.netns !== undefined) {
    const label = c.namespace ?? '?'
    lines.push(`  namespace: ${label}${c.netns !== undefined ? ` (kernel name ${c.netns})` : ''}`)
  }
  if (c.declaredAt !== undefined) lines.push(`  declared:  ${c.declaredAt}`)
  if (c.calledAt !== undefined) lines.push(`  called at: ${c.calledAt}`)
  if (c.command !== undefined) lines.push(`  command:   ${c.command}`)
  if (c.exitCode !== undefined) lines.push(`  exit code: ${c.exitCode}`)
  if (c.output !== undefined) {
    // A process's own words, the newest last: the line that matters usually comes after its banner.
    lines.push(c.output.length === 0 ? '  output:    (none)' : `  output (last ${c.output.length} line${c.output.length === 1 ? '' : 's'}):`)
    for (const l of c.output) lines.push(`    | ${l}`)
  } else if (c.stderr !== undefined && c.stderr.trim() !== '') {
    const said = c.stderr.trim().split('\n')
    lines.push(`  kernel said: ${said[0]}`, ...said.slice(1, 6).map((l) => `               ${l}`))
  }
  if (c.hint !== undefined) lines.push(`  hint:      ${c.hint}`)
  return lines.join('\n')
}

export function invalidInput(message: string, context: NetspecErrorContext = {}): NetspecError {
  return new NetspecError('invalid-input', message, context)
}

/** The first line of the caller's caller outside netspec's own sources: "which spec line declared it". */
export function callSite(): string | undefined {
  const stack = new Error().stack?.split('\n').slice(1) ?? []
  for (const line of stack) {
    if (isOwnFrame(line)) continue // anywhere in netspec's own src/ or dist/ (bundled chunks included)
    if (line.includes('node:internal') || line.includes('node_modules')) continue
    const m = /\(?((?:file:\/\/)?\/[^()]+:\d+:\d+)\)?\s*$/.exec(line)
    if (m?.[1] !== undefined) return m[1].replace(/^file:\/\//, '')
  }
  return undefined
}
