// The diagnostics' section on what a failed test spawned (each process's state and last output) and on its
// files (the lab temp directory, copied beside the diagnostics, or left in place with a kept lab).
import { cpSync, lstatSync } from 'node:fs'
import { join } from 'node:path'
import type { Lab } from '../lab/lab.js'
import { describeProcess, spawnedOf } from '../lab/processes.js'
import { existingTempDir } from '../lab/tempdir.js'

/** '' when the test spawned nothing and wrote no files. `base` names the copy: `<base>.files/`. */
export function processDiagnostics(lab: Lab, dir: string, base: string): string {
  const parts: string[] = []
  const procs = spawnedOf(lab)
  if (procs.length > 0) parts.push(`── processes spawned by the test (${procs.length})\n${procs.map((r) => describeProcess(r)).join('\n')}`)
  const temp = existingTempDir(lab)
  if (temp !== undefined && lab.executor.kind === 'local') {
    const copy = join(dir, `${base}.files`)
    try {
      // Regular files and directories only: a daemon's control socket or a FIFO cannot be copied.
      cpSync(temp, copy, { recursive: true, force: true, filter: (src) => ((s) => s.isFile() || s.isDirectory())(lstatSync(src)) })
      parts.push(`── lab files (${temp}) copied to ${copy}`)
    } catch (e) {
      parts.push(`── lab files: ${temp} (could not copy: ${e instanceof Error ? e.message : String(e)})`)
    }
  } else if (temp !== undefined) parts.push(`── lab files: ${temp} (where the lab's processes run)`)
  return parts.join('\n\n')
}
