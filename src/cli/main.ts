#!/usr/bin/env node
// The `netspec` command: a table of subcommands, each in its own module.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from '../package-root.js'
import { dispatch, type Command } from './command.js'
import { doctorCommand } from './doctor.js'
import { graphCommand } from './graph.js'
import { imageCommand } from '../container/image-command.js'
import { engineCommand } from '../container/engine-command.js'
import { runCommand } from './run.js'
import { sweepCommand } from './sweep.js'

/** Subcommands, in the order `netspec help` lists them. Add new ones here (e.g. `image`). */
export const COMMANDS: Command[] = [
  runCommand,
  doctorCommand,
  sweepCommand,
  graphCommand,
  imageCommand,
  engineCommand,
]

const argv = process.argv.slice(2)
if (argv[0] === '--version' || argv[0] === '-v') {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }
  console.log(pkg.version)
  process.exit(0)
}

dispatch(COMMANDS, argv).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e)
    process.exit(1)
  },
)
