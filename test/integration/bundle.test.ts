// The built package is a bundle (scripts/build.mjs): netspec's code runs from dist/index.js and dist/chunks/*.
// What depends on where that code sits must still be right: the line a user's script declared something on
// (errors' "declared:"), and the files the package ships beside its code.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { buildDist, ROOT } from '../fixtures/dist.js'

const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'netspec-bundle-'))

beforeAll(buildDist, 180_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test("an error's declared: line is the user's script, skipping every frame in the bundle's chunks", async () => {
  const script = join(dir, 'user-script.mjs')
  writeFileSync(
    script,
    [
      `import { Lab } from ${JSON.stringify(join(ROOT, 'dist/index.js'))}`,
      `const lab = await Lab.create({ label: 'bundle call site' })`,
      `try {`,
      `  await lab.namespace('ns1', { nonsense: true })`, // line 4: rejected before anything is created
      `} catch (e) { console.log(JSON.stringify({ message: e.message })) } finally { await lab.destroy() }`,
    ].join('\n'),
  )
  const { stdout } = await run(process.execPath, [script], { timeout: 30_000 })
  const { message } = JSON.parse(stdout) as { message: string }
  expect(message).toMatch(/unknown|nonsense/)
  expect(message).toContain(`declared:  ${script}:4:`)
  expect(message).not.toMatch(/dist\/(chunks|index)/)
})

test('`netspec --version` and the engine script resolve from the package root, whatever the module depth', async () => {
  const { stdout } = await run(process.execPath, [join(ROOT, 'dist/cli/main.js'), '--version'])
  expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
  const { stdout: where } = await run(process.execPath, ['--input-type=module', '-e', `import { DOCKERD_SCRIPT } from ${JSON.stringify(join(ROOT, 'dist/internal.js'))}; console.log(DOCKERD_SCRIPT)`])
  expect(where.trim()).toBe(join(ROOT, 'scripts/dockerd.sh'))
})
