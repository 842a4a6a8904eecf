#!/usr/bin/env node
// The `netspec` command.
import { formatSweepReport, sweep } from '../lab/sweep.js'

const HELP = `netspec — integration tests for Linux network setups

Usage:
  netspec sweep [--force] [--kept]   list leftovers of dead runs; --force removes them; --kept also kept labs
  netspec help                       this text
`

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv
  switch (cmd) {
    case 'sweep': {
      const dryRun = !rest.includes('--force')
      const report = await sweep({ dryRun, kept: rest.includes('--kept') })
      console.log(formatSweepReport(report, dryRun))
      if (dryRun && report.removed.length > 0) console.log('(dry run: nothing removed; add --force to remove)')
      return report.failed.length > 0 ? 1 : 0
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP)
      return cmd === undefined ? 2 : 0
    default:
      process.stderr.write(`netspec: unknown command '${cmd}'\n\n${HELP}`)
      return 2
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e)
    process.exit(1)
  },
)
