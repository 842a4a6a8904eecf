import { describe, expect, test } from 'vitest'
import { parseArgs, UsageError } from '../../src/cli/args.js'
import { dispatch, EXIT, mainHelp, type Command, type Io } from '../../src/cli/command.js'
import { doctorCommand } from '../../src/cli/doctor.js'
import { graphCommand } from '../../src/cli/graph.js'
import { findVitest, planRun, runCommand } from '../../src/cli/run.js'
import { sweepCommand } from '../../src/cli/sweep.js'

describe('parseArgs', () => {
  const spec = { flags: ['force', 'kept'], options: ['project'], positionals: true }

  test('flags, options in both spellings, positionals and everything after --', () => {
    const a = parseArgs(['--force', '--project', 'specs', 'a.spec.ts', '--', '-t', 'NAT', '--force'], spec)
    expect([...a.flags]).toEqual(['force'])
    expect(a.options.get('project')).toBe('specs')
    expect(a.positionals).toEqual(['a.spec.ts'])
    expect(a.rest).toEqual(['-t', 'NAT', '--force'])
    expect(parseArgs(['--project=unit'], spec).options.get('project')).toBe('unit')
  })

  test.each([
    [['--forse'], "unknown option '--forse'"],
    [['-x'], "unknown option '-x'"],
    [['--project'], '--project needs a value'],
    [['--project', '--force'], '--project needs a value'],
    [['--force=yes'], '--force takes no value'],
  ])('%j is a usage error: %s', (argv, message) => {
    expect(() => parseArgs(argv, spec)).toThrow(new UsageError(message))
  })

  test('positionals are refused where a command takes none', () => {
    expect(() => parseArgs(['extra'], { flags: ['force'] })).toThrow("unexpected argument 'extra'")
  })

  test('-h and --help are always understood', () => {
    expect(parseArgs(['-h'], {}).flags.has('help')).toBe(true)
    expect(parseArgs(['--help'], {}).flags.has('help')).toBe(true)
  })
})

function capture(): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (t: string) => void (io.stdout += `${t}\n`),
    err: (t: string) => void (io.stderr += `${t}\n`),
  }
  return io
}

describe('dispatch', () => {
  const commands = [runCommand, doctorCommand, sweepCommand, graphCommand]

  test('the main help lists every command and the exit codes', () => {
    const help = mainHelp(commands)
    for (const c of ['run', 'doctor', 'sweep', 'graph', 'help']) expect(help).toMatch(new RegExp(`^  ${c}\\s+\\S`, 'm'))
    expect(help).toContain('2 usage error')
  })

  test('no command: help on stderr, exit 2; help: stdout, exit 0', async () => {
    const io = capture()
    expect(await dispatch(commands, [], io)).toBe(EXIT.usage)
    expect(io.stderr).toContain('Usage: netspec <command>')
    const io2 = capture()
    expect(await dispatch(commands, ['help'], io2)).toBe(EXIT.ok)
    expect(io2.stdout).toContain('Commands:')
  })

  test.each(['run', 'doctor', 'sweep', 'graph'])('`netspec %s --help`, `-h` and `netspec help <it>` print its usage and exit 0', async (name) => {
    for (const argv of [[name, '--help'], ['help', name], [name, '-h']]) {
      const io = capture()
      expect(await dispatch(commands, argv, io)).toBe(EXIT.ok)
      expect(io.stdout).toContain(`Usage: netspec ${name}`)
      expect(io.stdout).toContain('Exit codes:')
    }
  })

  test('an unknown command or option: message, usage, exit 2', async () => {
    const io = capture()
    expect(await dispatch(commands, ['swep'], io)).toBe(EXIT.usage)
    expect(io.stderr).toContain("unknown command 'swep'")
    const io2 = capture()
    expect(await dispatch(commands, ['sweep', '--forse'], io2)).toBe(EXIT.usage)
    expect(io2.stderr).toContain("netspec sweep: unknown option '--forse'")
    expect(io2.stderr).toContain('Usage: netspec sweep')
  })

  test('--help after -- belongs to Vitest, not to netspec', async () => {
    const seen: string[][] = []
    const fake: Command = { name: 'run', summary: 's', help: 'Usage: netspec run', run: async (a) => (seen.push(a), 0) }
    const io = capture()
    expect(await dispatch([fake], ['run', '--', '--help'], io)).toBe(0)
    expect(seen).toEqual([['--', '--help']])
    expect(io.stdout).toBe('')
  })

  test('a command that throws: its message, exit 1', async () => {
    const boom: Command = { name: 'boom', summary: 's', help: 'h', run: async () => Promise.reject(new Error('kaputt')) }
    const io = capture()
    expect(await dispatch([boom], ['boom'], io)).toBe(EXIT.failed)
    expect(io.stderr).toContain('netspec boom: kaputt')
  })
})

describe('netspec run', () => {
  test('builds `vitest run` with the project, file filters and pass-through arguments', () => {
    expect(planRun(['--project', 'specs', 'specs/nat.spec.ts', '--', '-t', 'port forward'], {})).toEqual({
      args: ['run', '--project', 'specs', 'specs/nat.spec.ts', '-t', 'port forward'],
      env: {},
      keep: 'off',
      container: false,
    })
  })

  test('--keep-on-failure and --pause-on-failure become NETSPEC_KEEP', () => {
    expect(planRun(['--keep-on-failure'], {}).env).toEqual({ NETSPEC_KEEP: 'on-failure' })
    expect(planRun(['--pause-on-failure'], {}).env).toEqual({ NETSPEC_KEEP: 'pause' })
    expect(() => planRun(['--keep-on-failure', '--pause-on-failure'], {})).toThrow('choose one')
  })

  test('keeping is refused on CI unless forced', () => {
    expect(() => planRun(['--keep-on-failure'], { CI: 'true' })).toThrow(/refused on CI \(CI=true\).*NETSPEC_KEEP_FORCE=1/)
    expect(planRun(['--keep-on-failure'], { CI: 'true', NETSPEC_KEEP_FORCE: '1' }).keep).toBe('on-failure')
    expect(planRun([], { CI: 'true' }).keep).toBe('off')
  })

  test('--container is recorded for the container back end', () => {
    expect(planRun(['--container'], {}).container).toBe(true)
  })

  test('an unknown option before -- is a usage error (Vitest options go after --)', () => {
    expect(() => planRun(['-t', 'x'], {})).toThrow(UsageError)
  })

  test("finds the project's vitest from a subdirectory, and says when there is none", () => {
    const here = new URL('../../', import.meta.url).pathname
    expect(findVitest(`${here}src/cli`)).toBe(`${here}node_modules/.bin/vitest`)
    expect(findVitest('/proc/self')).toBeUndefined()
  })
})
