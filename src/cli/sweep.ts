// `netspec sweep`: list (default) or remove what dead runs left behind, and labs kept for debugging.
import { parseKernelName } from '../lab/owner.js'
import { planLines, sweep, type SweepReport } from '../lab/sweep.js'
import { parseArgs } from './args.js'
import { EXIT, stdio, type Command, type Io } from './command.js'
import { printable as clean } from '../values/show.js'

const HELP = `Usage: netspec sweep [--force] [--kept] [--json]

Lists what crashed or killed test runs left behind: namespaces of labs whose owner process is dead,
as their marker files in /run/netspec/labs record them. Nothing is removed without --force.
Only namespaces a netspec marker lists are ever touched; look-alikes are reported and left alone.

Labs kept for debugging (NETSPEC_KEEP=on-failure, netspec run --keep-on-failure) are listed with the
commands to enter them, and removed only with --kept --force.

Options:
  --force   remove what is listed (default: dry run)
  --kept    include labs kept for debugging
  --json    print the report as JSON

Exit codes: 0 done (or nothing to do), 1 something could not be removed, 2 usage error.

Examples:
  sudo -E env "PATH=$PATH" npx netspec sweep                  # what would go?
  sudo -E env "PATH=$PATH" npx netspec sweep --force          # remove leftovers of dead runs
  sudo -E env "PATH=$PATH" npx netspec sweep --kept --force   # also remove labs kept for debugging
`

// Labels come from marker files: never let one print control characters to a terminal.

/** The report as text, with ready-to-paste commands for kept labs. */
export function renderSweep(r: SweepReport, opts: { force: boolean; kept: boolean }): string {
  const lines: string[] = []
  const verb = opts.force ? 'removed' : 'would remove'
  for (const lab of r.removed) {
    const what = lab.namespaces.length === 0 ? ' no namespaces left' : ''
    lines.push(`${verb} lab '${clean(lab.label)}' (id ${lab.labId}, owner pid ${lab.ownerPid} gone):${what}`)
    lines.push(...planLines(lab))
  }
  for (const m of r.kept) {
    lines.push(`kept lab '${clean(m.label)}' (id ${m.labId}), kept for debugging:`)
    const width = Math.max(...m.namespaces.map((n) => (parseKernelName(n)?.label ?? n).length))
    for (const n of m.namespaces) lines.push(`    ${(parseKernelName(n)?.label ?? n).padEnd(width)}  ip netns exec ${n} bash`)
  }
  for (const m of r.live) lines.push(`live lab '${clean(m.label)}' (id ${m.labId}, owner pid ${m.ownerPid} running${m.kept === true ? ', kept' : ''}): left alone`)
  for (const b of r.bad) lines.push(`bad marker ${clean(b.file)} in /run/netspec/labs: ${clean(b.reason)}; nothing in it was acted on (look at it, then remove it by hand)`)
  for (const n of r.lookalikes) lines.push(`namespace ${n} looks like netspec's but no marker lists it: left alone (remove by hand if it is yours: ip netns del ${n})`)
  for (const n of r.failed) lines.push(`could not remove ${clean(n)}`)
  if (lines.length === 0) lines.push('nothing to sweep')
  if (!opts.force && r.removed.length > 0) lines.push('', 'dry run: nothing was removed; add --force to remove the labs above')
  if (r.kept.length > 0) lines.push('', `${r.kept.length} kept lab(s) left alone; remove them with: npx netspec sweep --kept --force`)
  return lines.join('\n')
}

export async function sweepCli(args: string[], io: Io = stdio): Promise<number> {
  const a = parseArgs(args, { flags: ['force', 'kept', 'json'] })
  const force = a.flags.has('force')
  const kept = a.flags.has('kept')
  const report = await sweep({ dryRun: !force, kept })
  io.out(a.flags.has('json') ? JSON.stringify(report, null, 2) : renderSweep(report, { force, kept }))
  return report.failed.length > 0 ? EXIT.failed : EXIT.ok
}

export const sweepCommand: Command = {
  name: 'sweep',
  summary: 'list (or with --force remove) leftovers of dead runs; --kept for labs kept for debugging',
  help: HELP,
  run: (args) => sweepCli(args),
}
