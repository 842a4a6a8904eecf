// Doc tests (issue 16): every ```ts block of README.md and docs/*.md is a spec that runs as written, a fragment
// that runs with a named setup, a Vitest config, or a fragment: test/fixtures/doc-tests.ts. The `docs` Vitest
// project runs the generated specs; this file checks the classification and the generated files.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { classifyDocs, docFiles, generateDocTests } from '../fixtures/doc-tests.js'
import { docSetups } from '../fixtures/doc-setups.js'

test('every TypeScript block of README.md and docs/*.md is classified: spec, with a setup, config or fragment', () => {
  const { blocks, problems } = classifyDocs(docFiles(), Object.keys(docSetups))
  expect(problems).toEqual([])
  // What runs: the complete specs, and the fragments run with a setup.
  const runs = blocks.filter((b) => b.kind === 'spec' || b.kind === 'with')
  expect(runs.filter((b) => b.file === 'README.md').map((b) => b.section)).toContain('A first spec')
  // Every marked fragment says why it does not run.
  for (const b of blocks.filter((b) => b.marker?.kind === 'fragment')) expect(b.why, `${b.file}:${b.line}`).toMatch(/\w{3}/)
})

test('every named setup is used by some block', () => {
  const { blocks } = classifyDocs(docFiles(), Object.keys(docSetups))
  const used = new Set(blocks.filter((b) => b.kind === 'with').map((b) => b.setup))
  expect(Object.keys(docSetups).filter((n) => !used.has(n))).toEqual([])
})

describe('the rule is checked, not a convention: a runnable-looking block cannot escape running', () => {
  const root = mkdtempSync(join(tmpdir(), 'netspec-doctests-'))
  mkdirSync(join(root, 'docs'))
  afterAll(() => rmSync(root, { recursive: true, force: true }))
  const doc = (md: string) => {
    writeFileSync(join(root, 'README.md'), md)
    return classifyDocs(['README.md'], Object.keys(docSetups), root)
  }

  test('a block that imports but is no spec, unmarked, is reported with its file and line', () => {
    const r = doc("# x\n\ntext\n```ts\nimport { reachable } from 'netspec'\nawait reachable(ns1, '10.0.0.1')\n```\n")
    expect(r.problems).toEqual([expect.stringMatching(/^README\.md:4: looks runnable \(it imports\)/)])
  })

  test('a block that calls test() without importing netspec/vitest is reported', () => {
    const r = doc("# x\n\n```ts\ntest('a', async ({ lab }) => {})\n```\n")
    expect(r.problems).toEqual([expect.stringMatching(/^README\.md:3: looks runnable \(it calls test\/it\/describe\)/)])
  })

  test('a complete spec cannot be marked a fragment; a fragment marker needs a reason; a setup must exist', () => {
    const spec = "```ts\nimport { test } from 'netspec/vitest'\ntest('a', () => {})\n```\n"
    expect(doc(`# x\n<!-- doctest: fragment — slow -->\n${spec}`).problems).toEqual([expect.stringMatching(/^README\.md:3: a complete spec runs as written/)])
    expect(doc("# x\n<!-- doctest: fragment -->\n```ts\nawait ns1.links()\n```\n").problems).toEqual([expect.stringMatching(/say why/)])
    expect(doc("# x\n<!-- doctest: with nowhere -->\n```ts\nawait ns1.links()\n```\n").problems).toEqual([expect.stringMatching(/no doc setup named 'nowhere'/)])
    expect(doc("# x\n<!-- doctest: with none loose -->\n```ts\nawait ns1.links()\n```\n").problems).toEqual([expect.stringMatching(/unknown flag/)])
    expect(doc("# x\n<!-- doctest: skip -->\n```ts\nawait ns1.links()\n```\n").problems).toEqual([expect.stringMatching(/unknown marker/)])
  })

  test('a fragment without a marker is reported: every block says how it is tested', () => {
    const r = doc("# x\n\n```ts\nawait ns1.links()\n```\n")
    expect(r.problems).toEqual([expect.stringMatching(/^README\.md:3: a fragment must say how it is tested/)])
  })

  test('kinds: a spec, a fragment with a setup, a config, imports only, a marked fragment', () => {
    const r = doc(
      [
        '# Specs',
        '```ts',
        "import { test, expect } from 'netspec/vitest'",
        "test('a', () => { expect(1).toBe(1) })",
        '```',
        '## Routes',
        '<!-- doctest: with readme-routes -->',
        '```ts',
        "await hasRoute(netns2, 'default', { via: '172.16.0.100' })",
        '```',
        '```ts',
        "import { defineConfig } from 'vitest/config'",
        'export default defineConfig({})',
        '```',
        '```ts',
        "import { Lab } from 'netspec'",
        '```',
        '<!-- doctest: fragment — needs BIRD -->',
        '```ts',
        "import { test } from 'vitest'",
        "await r1.spawn(['bird'])",
        '```',
      ].join('\n'),
    )
    expect(r.problems).toEqual([])
    expect(r.blocks.map((b) => [b.line, b.kind, b.why])).toEqual([
      [2, 'spec', 'a complete spec'],
      [8, 'with', "runs with setup 'readme-routes'"],
      [11, 'config', 'a Vitest config'],
      [15, 'fragment', 'imports only'],
      [19, 'fragment', 'needs BIRD'],
    ])
  })

  test('the generated spec keeps each line of the block at its line in the Markdown file', async () => {
    const md = [
      '# A',
      '',
      '```ts',
      "import { test, expect } from 'netspec/vitest'",
      "test('one', () => { expect(1).toBe(1) })",
      '```',
      '### hasRoute',
      '<!-- doctest: with readme-routes strict -->',
      '```ts',
      "await hasRoute(netns2, 'default', { via: '172.16.0.100' })",
      "const r = await routeGet(ns1, '10.9.1.1')",
      '```',
    ].join('\n')
    writeFileSync(join(root, 'README.md'), md)
    const out = join(root, 'out')
    const g = await generateDocTests({ root, outDir: out, files: ['README.md'] })
    expect(g.written.sort()).toEqual(['out/README.md/line-3.spec.ts', 'out/README.md/line-9.spec.ts'])
    const mdLines = md.split('\n')
    const spec = readFileSync(join(out, 'README.md', 'line-3.spec.ts'), 'utf8').split('\n')
    expect(spec[0]).toMatch(/^\/\* Generated from README\.md:3 \(A\)/)
    for (const n of [4, 5]) expect(spec[n - 1]).toBe(mdLines[n - 1])
    const withSetup = readFileSync(join(out, 'README.md', 'line-9.spec.ts'), 'utf8').split('\n')
    // strict: the verdict-returning checks come from doc-strict.ts, which throws on ok: false.
    expect(withSetup[0]).toMatch(/import \{ hasRoute, routeGet \} from ".*\/test\/fixtures\/doc-strict\.ts"/)
    // The test opens on the fence's line, takes from the setup only the names the block uses, closes on the closing fence's.
    expect(withSetup[8]).toBe('test("README.md:9 (hasRoute)", async ({ lab, skip }) => { const { ns1, netns2 } = await docSetups["readme-routes"]!.build(lab, skip);')
    for (const n of [10, 11]) expect(withSetup[n - 1]).toBe(mdLines[n - 1])
    expect(withSetup[11]).toBe('})')
    // Unchanged docs write nothing; a block that went away takes its spec file with it.
    expect((await generateDocTests({ root, outDir: out, files: ['README.md'] })).written).toEqual([])
    writeFileSync(join(root, 'README.md'), mdLines.slice(0, 6).join('\n'))
    await generateDocTests({ root, outDir: out, files: ['README.md'] })
    expect(() => readFileSync(join(out, 'README.md', 'line-9.spec.ts'))).toThrow(/ENOENT/)
  })
})
