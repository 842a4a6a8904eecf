// netspec/reporter: a Vitest reporter that writes the GitHub Actions job summary — the tally, every failed test with
// its verdict (the first lines of its failure) and its labs' topology as Mermaid, and where its diagnostics files
// are. It appends to $GITHUB_STEP_SUMMARY (never truncates: other steps write there too); without that variable
// (not on GitHub Actions) and without `outputFile`, it writes nothing.
//
//   // vitest.config.ts
//   reporters: ['default', 'github-actions', 'netspec/reporter']
//   // or with options: ['netspec/reporter', { outputFile: 'summary.md', maxLines: 20 }]
import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs'
import { basename, dirname, relative } from 'node:path'
import { at, openWritableDir } from '../lab/safe-files.js'
import type { Reporter, TestCase, TestModule } from 'vitest/node'

export interface NetspecReporterOptions {
  /** Where to append the Markdown; default: $GITHUB_STEP_SUMMARY. */
  outputFile?: string
  /** Lines of each failure message shown (default 12). */
  maxLines?: number
  /** The summary's heading (default "netspec"). */
  title?: string
}

interface NetspecMeta {
  diagnostics?: string
  file?: string
  files?: string[]
}

/** A code fence longer than any run of backticks in `text`, so a failure message never closes it early. */
function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length))
  return '`'.repeat(longest + 1)
}

/** The Mermaid blocks of a diagnostics text (one per lab). */
export function mermaidBlocks(diagnostics: string): string[] {
  return [...diagnostics.matchAll(/```mermaid\n[\s\S]*?\n```/g)].map((m) => m[0])
}

/** The job summary's Markdown for a finished run. */
export function summaryMarkdown(modules: ReadonlyArray<TestModule>, options: NetspecReporterOptions = {}, root = process.cwd()): string {
  const tests: TestCase[] = []
  for (const m of modules) for (const t of m.children.allTests()) tests.push(t)
  const count = (s: string) => tests.filter((t) => t.result().state === s).length
  const failed = tests.filter((t) => t.result().state === 'failed')
  const failedModules = modules.filter((m) => m.state() === 'failed' && m.errors().length > 0)
  const lines = [
    `## ${options.title ?? 'netspec'}: ${count('passed')} passed, ${failed.length} failed, ${count('skipped')} skipped`,
    '',
  ]
  if (failed.length === 0 && failedModules.length === 0) return `${lines.join('\n')}\n`
  if (failed.length > 0) lines.push('### Failed tests', '')
  const maxLines = options.maxLines ?? 12
  for (const t of failed) {
    const result = t.result()
    const message = (result.state === 'failed' ? (result.errors ?? []) : [])
      .map((e) => e.message ?? String(e))
      .join('\n\n')
      .split('\n')
      .slice(0, maxLines)
      .join('\n')
    const f = fence(message)
    lines.push(`#### ❌ ${t.fullName}`, '', `\`${relative(root, t.module.moduleId)}\``, '', `${f}text`, message, f, '')
    const meta = (t.meta() as { netspec?: NetspecMeta }).netspec
    if (meta?.diagnostics !== undefined) {
      for (const block of mermaidBlocks(meta.diagnostics)) lines.push('<details open><summary>the lab’s topology</summary>', '', block, '', '</details>', '')
      const files = meta.files ?? (meta.file === undefined ? [] : [meta.file])
      if (files.length > 0) lines.push(`Diagnostics: ${files.map((x) => `\`${relative(root, x)}\``).join(', ')}`, '')
    }
  }
  for (const m of failedModules) {
    const message = m
      .errors()
      .map((e) => e.message)
      .join('\n')
    const f = fence(message)
    lines.push(`#### ❌ ${relative(root, m.moduleId)} (the file itself failed)`, '', `${f}text`, message, f, '')
  }
  return `${lines.join('\n')}\n`
}

/**
 * Appends to `file` without following a symlink at its name (the run may be root, the file in a checkout that a
 * less trusted user can change): its directory is opened as src/lab/safe-files.ts does (a relative path: no
 * symlink in it), the file opened O_APPEND | O_CREAT | O_NOFOLLOW and refused unless it is a regular file.
 */
function appendSummary(file: string, text: string): void {
  const dir = openWritableDir(dirname(file))
  let fd: number
  try {
    fd = openSync(at(dir, basename(file)), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644)
  } catch (e) {
    throw new Error((e as NodeJS.ErrnoException).code === 'ELOOP' ? 'it is a symbolic link (never followed)' : (e as Error).message)
  } finally {
    closeSync(dir)
  }
  try {
    if (!fstatSync(fd).isFile()) throw new Error('it is not a regular file')
    writeSync(fd, text)
  } finally {
    closeSync(fd)
  }
}

/** Writes the job summary at the end of the run (appends; see the top of this file). */
export class NetspecReporter implements Reporter {
  readonly #options: NetspecReporterOptions
  #root = process.cwd()

  constructor(options: NetspecReporterOptions = {}) {
    this.#options = options
  }

  onInit(vitest: { config: { root: string } }): void {
    this.#root = vitest.config.root
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const file = this.#options.outputFile ?? process.env.GITHUB_STEP_SUMMARY
    if (file === undefined || file === '') return
    try {
      appendSummary(file, summaryMarkdown(modules, this.#options, this.#root))
    } catch (e) {
      console.warn(`netspec/reporter: could not append the summary to ${file}: ${e instanceof Error ? e.message : String(e)}`)
    }
  }
}

export default NetspecReporter
