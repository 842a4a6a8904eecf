// A small, strict argument parser: known flags and options only, so a typo is an error, not a no-op.

/** A usage mistake: the CLI prints it with the command's usage and exits with 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

export interface ArgSpec {
  /** Boolean switches, e.g. `force` for `--force`. */
  flags?: readonly string[]
  /** Options taking a value, e.g. `project` for `--project X` / `--project=X`. */
  options?: readonly string[]
  /** Short aliases: `{ h: 'help' }`. */
  short?: Readonly<Record<string, string>>
  /** Allow positional arguments (otherwise they are an error). */
  positionals?: boolean
}

export interface ParsedArgs {
  flags: Set<string>
  options: Map<string, string>
  positionals: string[]
  /** Everything after a bare `--`, untouched. */
  rest: string[]
}

export function parseArgs(argv: readonly string[], spec: ArgSpec): ParsedArgs {
  const flags = new Set<string>()
  const options = new Map<string, string>()
  const positionals: string[] = []
  const knownFlags = new Set([...(spec.flags ?? []), 'help'])
  const knownOptions = new Set(spec.options ?? [])
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--') return { flags, options, positionals, rest: argv.slice(i + 1) }
    let name: string | undefined
    let value: string | undefined
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=')
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
      value = eq === -1 ? undefined : arg.slice(eq + 1)
    } else if (/^-[A-Za-z]$/.test(arg)) {
      name = spec.short?.[arg.slice(1)] ?? (arg === '-h' ? 'help' : undefined)
      if (name === undefined) throw new UsageError(`unknown option '${arg}'`)
    } else {
      if (spec.positionals !== true) throw new UsageError(`unexpected argument '${arg}'`)
      positionals.push(arg)
      continue
    }
    if (knownFlags.has(name)) {
      if (value !== undefined) throw new UsageError(`--${name} takes no value`)
      flags.add(name)
    } else if (knownOptions.has(name)) {
      if (value === undefined) {
        value = argv[i + 1]
        if (value === undefined || value.startsWith('-')) throw new UsageError(`--${name} needs a value`)
        i += 1
      }
      options.set(name, value)
    } else {
      throw new UsageError(`unknown option '--${name}'`)
    }
  }
  return { flags, options, positionals, rest: [] }
}
