// Vitest globalSetup: before any worker starts, remove what crashed runs left behind
// (only labs whose marker names a dead owner), and say so.
import { formatSweepReport, sweep, type SweepReport } from '../lab/sweep.js'
import { effectiveCaps, missingPrivileges } from '../lab/preflight.js'

export default async function setup(): Promise<void | (() => Promise<void>)> {
  if (missingPrivileges(effectiveCaps()).length > 0) return // unit-only runs need no root; labs will say so themselves
  try {
    const text = startOfRunReport(await sweep({ force: true }))
    if (text !== undefined) console.log(text)
  } catch (e) {
    console.warn(`netspec: could not sweep leftovers: ${e instanceof Error ? e.message : String(e)}`)
  }
  try {
    const { sweepContainers } = await import('../container/runner.js')
    const gone = await sweepContainers()
    if (gone.length > 0) console.log(`netspec: removed ${gone.length} runner container(s) of dead owners`)
  } catch {
    // no container engine: nothing to sweep
  }
  // One drop watcher for the whole run (docs/drops.md), started only when a worker first needs it.
  const { startDropHub } = await import('../drops/hub.js')
  const hub = await startDropHub().catch(() => undefined)
  if (hub === undefined) return
  process.env.NETSPEC_DROPS_HUB = hub.path
  return async () => {
    delete process.env.NETSPEC_DROPS_HUB
    await hub.close()
  }
}

/**
 * What the start-of-run sweep says: what it removed (and could not), and a one-line reminder of labs kept for
 * debugging. Other runs' live labs and lookalike namespaces are theirs, not this run's news: `netspec sweep` lists them.
 */
export function startOfRunReport(report: SweepReport): string | undefined {
  const lines: string[] = []
  if (report.removed.length > 0 || report.failed.length > 0 || report.bad.length > 0)
    lines.push(`netspec: ${formatSweepReport({ ...report, kept: [], live: [], lookalikes: [] }, false).split('\n').join('\nnetspec: ')}`)
  if (report.kept.length > 0)
    lines.push(`netspec: ${report.kept.length} lab${report.kept.length === 1 ? '' : 's'} kept for debugging (NETSPEC_KEEP): \`npx netspec sweep\` lists, \`npx netspec sweep --kept --force\` removes`)
  return lines.length === 0 ? undefined : lines.join('\n')
}
