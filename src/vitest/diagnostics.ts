// What a failed test leaves for its reader: the state of every namespace of its lab.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { recordArtifact, type TestContext } from 'vitest'
import { formatSnapshot } from '../lab/format.js'
import type { Lab } from '../lab/lab.js'

export const DIAGNOSTICS_DIR = process.env.NETSPEC_DIAGNOSTICS_DIR ?? join(process.cwd(), '.netspec', 'diagnostics')

export async function attachDiagnostics(task: TestContext['task'], lab: Lab): Promise<void> {
  let text: string
  try {
    text = formatSnapshot(await lab.snapshot())
  } catch (e) {
    text = `(could not read the lab's state: ${e instanceof Error ? e.message : String(e)})`
  }
  const file = join(DIAGNOSTICS_DIR, `${task.fullName ?? task.name}`.replace(/[^\w.-]+/g, '_').slice(0, 120) + '.txt')
  try {
    mkdirSync(DIAGNOSTICS_DIR, { recursive: true })
    writeFileSync(file, `${text}\n`)
  } catch {
    // diagnostics are best effort; the failure itself is reported by Vitest
  }
  task.meta.netspec = { diagnostics: text, file }
  await recordArtifact(task as never, {
    type: 'netspec:diagnostics',
    attachments: [{ contentType: 'text/plain', path: file }],
  } as never).catch(() => {})
}

declare module 'vitest' {
  interface TaskMeta {
    netspec?: { diagnostics: string; file: string }
  }
}
