// Every ```ts block of README.md and docs/*.md type-checks against the package (fragments get a prelude with
// the README's one-time imports, a `lab` and namespaces named as in the prose): test/fixtures/doc-types.ts.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { typeCheckBlocks } from '../fixtures/doc-types.js'
import { README } from '../fixtures/readme.js'
import { ROOT } from '../fixtures/dist.js'

test('the TypeScript blocks of README.md and docs/*.md type-check against the package', { timeout: 180_000 }, async () => {
  const files = [README, ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f))]
  expect(await typeCheckBlocks(files, join(ROOT, '.netspec', 'doc-types'))).toEqual([])
})

test('the check is not a rubber stamp: a block with a wrong option is reported, with its file and line', { timeout: 180_000 }, async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const dir = mkdtempSync(join(tmpdir(), 'netspec-doc-'))
  const md = join(dir, 'bad.md')
  writeFileSync(md, "# bad\n\n```ts\nawait hasRoute(ns1, 'default', { gatway: '10.0.0.1' })\n```\n")
  const r = await typeCheckBlocks([md], join(ROOT, '.netspec', 'doc-types-bad')).finally(() => rmSync(dir, { recursive: true, force: true }))
  expect(r).toHaveLength(1)
  expect(r[0]!.line).toBe(3)
  expect(r[0]!.errors.join('\n')).toMatch(/line 4: error TS2353: .*'gatway'/)
})
