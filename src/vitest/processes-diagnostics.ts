// The diagnostics' section on what a failed test spawned (each process's state and last output) and on its
// files (the lab temp directory, copied beside the diagnostics, or left in place with a kept lab).
import { join } from 'node:path'
import { CAPTURES_SUBDIR } from '../capture/capture.js'
import { isNetspecError } from '../errors.js'
import type { Lab } from '../lab/lab.js'
import { describeProcess, spawnedOf } from '../lab/processes.js'
import { copyTreeAt } from '../lab/safe-files.js'
import { existingTempDir } from '../lab/tempdir.js'

/**
 * '' when the test spawned nothing and wrote no files. The copy is `<base>.files/` in the diagnostics directory
 * open as `dir` (shown as `shown`), written without following anything there (src/lab/safe-files.ts); undefined
 * `dir`: the directory was refused, and so is the copy.
 */
export function processDiagnostics(lab: Lab, dir: number | undefined, shown: string, base: string): string {
  const parts: string[] = []
  const procs = spawnedOf(lab)
  if (procs.length > 0) parts.push(`── processes spawned by the test (${procs.length})\n${procs.map((r) => describeProcess(r)).join('\n')}`)
  const temp = existingTempDir(lab)
  if (temp !== undefined && lab.executor.kind === 'local') {
    const copy = join(shown, `${base}.files`)
    try {
      if (dir === undefined) throw new Error('the diagnostics directory was refused')
      // Regular files and directories only: a daemon's control socket or a FIFO cannot be copied. Captures are
      // kept on their own (`<test>--<capture>.pcap`).
      copyTreeAt(dir, `${base}.files`, temp, copy, [CAPTURES_SUBDIR])
      parts.push(`── lab files (${temp}) copied to ${copy}`)
    } catch (e) {
      parts.push(`── lab files: ${temp} (could not copy: ${isNetspecError(e) ? e.shortMessage : e instanceof Error ? e.message : String(e)})`)
    }
  } else if (temp !== undefined) parts.push(`── lab files: ${temp} (where the lab's processes run)`)
  return parts.join('\n\n')
}
