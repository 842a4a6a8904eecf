// What every `netspec` subcommand provides, and the dispatcher that runs one from a commands table.
import { UsageError } from './args.js'

/** Exit codes: 0 success, 1 the check/run failed, 2 usage error, 127 a needed program is missing. */
export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 127 } as const

export interface Command {
  name: string
  /** One line for `netspec help`. */
  summary: string
  /** `netspec <name> --help`. */
  help: string
  run(args: string[]): Promise<number>
}

export interface Io {
  out(text: string): void
  err(text: string): void
}

export const stdio: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
}

export function mainHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length))
  return [
    'netspec — integration tests for Linux network setups',
    '',
    'Usage: netspec <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    `  ${'help'.padEnd(width)}  this text; \`netspec help <command>\` or \`netspec <command> --help\` for one command`,
    '',
    'Exit codes: 0 success, 1 failed (tests, checks or removals), 2 usage error, 127 a needed program is missing.',
    'Most commands need root (network namespaces need CAP_NET_ADMIN and CAP_SYS_ADMIN).',
    '',
  ].join('\n')
}

/** Runs `netspec <argv…>` against a commands table; never throws. */
export async function dispatch(commands: readonly Command[], argv: readonly string[], io: Io = stdio): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined) {
    io.err(mainHelp(commands))
    return EXIT.usage
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    const topic = rest[0] === undefined ? undefined : commands.find((c) => c.name === rest[0])
    if (rest[0] !== undefined && topic === undefined) {
      io.err(`netspec: no command '${rest[0]}'\n\n${mainHelp(commands)}`)
      return EXIT.usage
    }
    io.out(topic?.help ?? mainHelp(commands))
    return EXIT.ok
  }
  const command = commands.find((c) => c.name === name)
  if (command === undefined) {
    io.err(`netspec: unknown command '${name}'\n\n${mainHelp(commands)}`)
    return EXIT.usage
  }
  const own = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest // after --: the command's pass-through
  if (own.includes('--help') || own.includes('-h')) {
    io.out(command.help)
    return EXIT.ok
  }
  try {
    return await command.run(rest)
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`netspec ${name}: ${e.message}\n\n${command.help}`)
      return EXIT.usage
    }
    io.err(`netspec ${name}: ${e instanceof Error ? e.message : String(e)}`)
    return EXIT.failed
  }
}
