// Doc tests for shell blocks (issue 16): every command line of a ```sh / ```bash block in README.md and
// docs/*.md is listed below, as data: run (the safe, read-only ones, exactly as written, in a project laid out
// as a user's: node_modules/netspec and its bin, from a private build of this checkout) and checked against what
// the doc says it prints, or not run, with the reason. A new command line in the docs that is not listed fails.
// Never run from here: installs, --force sweeps, engine start/stop, image builds, whole-suite runs.
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { docBlocks, docFiles } from '../fixtures/doc-tests.js'
import { ROOT, compileCliInto } from '../fixtures/dist.js'

interface Run {
  /** What the doc says it prints, and how it exits. */
  check(r: { exitCode: number; stdout: string; all: string }): void | Promise<void>
  /** For a synopsis (`[--option]`): the plain forms a user would type, run instead of the line. */
  forms?: string[]
}
type Entry = { run: Run } | { notRun: string }

const WHOLE_SUITE = 'runs a whole test suite: the run this test is part of (CI runs it: .ci/run, .github/workflows/ci.yml)'
const INSTALLS = "installs packages: test/integration/package-install.test.ts runs 'Your own project' in a fresh directory with the packed tarball"
const ENGINE = 'starts or stops a Docker engine: changes the machine (test/integration/container-engine*.test.ts start their own)'
const IMAGE = "builds or removes Docker images or containers: changes Docker's state (.ci/run and CI's container job build the image)"
const CONTAINER_RUN = 'runs the whole suite inside the runner container (.ci/run and the container job of CI run it)'
const FORCE = 'removes leftovers of dead runs: never from a doc test, on a machine shared with live runs (test/integration/cli-commands.test.ts proves it in a private NETSPEC_STATE_DIR)'

const doctor: Run = {
  // "root, each tool (+ its apt package), kernel features, Docker and the runner image; exit 1 if something required is missing"
  check(r) {
    expect(r.exitCode, r.all).toBe(/^\s*✘/m.test(r.stdout) ? 1 : 0)
    expect(r.stdout).toMatch(/^\s*✔ privileges\s+uid 0/m)
    expect(r.stdout).toMatch(/^\s*✔ ip\s+\S+ \(iproute2\)$/m)
    expect(r.stdout).toMatch(/^Kernel features$/m)
    expect(r.stdout).toMatch(/^Container engine$/m)
    expect(r.stdout).toMatch(/^\s*[✔✘!·] image\s/m)
  },
}

export const SHELL_LINES: Record<string, Entry> = {
  'npm ci && npm run specs': { notRun: `reinstalls node_modules and ${WHOLE_SUITE}` },
  'npm ci && npm test': { notRun: `reinstalls node_modules and ${WHOLE_SUITE}` },
  'npm init -y': { notRun: INSTALLS },
  'npm pkg set type=module': { notRun: INSTALLS },
  'npm i -D netspec vitest typescript @types/node': { notRun: INSTALLS },
  'sudo sh node_modules/netspec/scripts/host-deps.sh': { notRun: INSTALLS },
  "printf 'node_modules/\\n.netspec/\\n' >> .gitignore": { notRun: INSTALLS },
  'sudo -E env "PATH=$PATH" npx netspec engine start': { notRun: ENGINE },
  'sudo -E env "PATH=$PATH" npx netspec engine stop': { notRun: ENGINE },
  'npx netspec engine status': {
    run: {
      // docs/cli.md: "Exit codes: 0 done, 1 failed, 2 usage error, 127 docker is not installed".
      async check(r) {
        const answers = (await execa('docker', ['info'], { reject: false })).exitCode === 0
        if (answers) {
          expect(r.exitCode, r.all).toBe(0)
          expect(r.stdout).toMatch(/^engine: answers$/m)
        } else expect([1, 127], r.all).toContain(r.exitCode)
      },
    },
  },
  'sudo -E env "PATH=$PATH" npx netspec image build': { notRun: IMAGE },
  'sudo -E env "PATH=$PATH" npx netspec image build --force': { notRun: IMAGE },
  'sudo -E env "PATH=$PATH" npx netspec image sweep': { notRun: IMAGE },
  'sudo -E env "PATH=$PATH" npx netspec run --container': { notRun: CONTAINER_RUN },
  'sudo -E env "PATH=$PATH" npx netspec run --container --project specs -- -t "bridge"': { notRun: CONTAINER_RUN },
  'NETSPEC_EXECUTOR=container npx vitest run': { notRun: CONTAINER_RUN },
  'sudo -E env "PATH=$PATH" npx netspec run [--keep-on-failure | --pause-on-failure] [--container] [--project specs] [files] [-- vitest args]': {
    notRun: `a synopsis; every form ${WHOLE_SUITE}`,
  },
  'sudo -E env "PATH=$PATH" npx netspec run': { notRun: WHOLE_SUITE },
  'sudo -E env "PATH=$PATH" npx netspec run specs/nat.spec.ts': { notRun: `an example filter (a user's file); ${WHOLE_SUITE}` },
  'sudo -E env "PATH=$PATH" npx netspec run --project specs -- -t "forward"': { notRun: WHOLE_SUITE },
  'sudo -E env "PATH=$PATH" npx netspec run --keep-on-failure': { notRun: WHOLE_SUITE },
  'sudo -E env "PATH=$PATH" npx netspec doctor': { run: doctor },
  'sudo -E env "PATH=$PATH" npx netspec sweep [--force] [--kept]': { notRun: `a synopsis: its dry run is docs/cli.md's 'netspec sweep' line (run below); --force ${FORCE}` },
  'sudo -E env "PATH=$PATH" npx netspec sweep': {
    run: {
      // "dry run: what would go, kept labs, live labs, look-alikes": read-only, whatever other runs have live.
      check(r) {
        expect(r.exitCode, r.all).toBe(0)
        expect(r.stdout).toMatch(/nothing to sweep|would remove lab|kept lab|live lab|looks like netspec's/)
        if (/would remove lab/.test(r.stdout)) expect(r.stdout).toContain('dry run: nothing was removed; add --force')
        expect(r.stdout).not.toMatch(/^removed /m)
      },
    },
  },
  'sudo -E env "PATH=$PATH" npx netspec sweep --force': { notRun: FORCE },
  'sudo -E env "PATH=$PATH" npx netspec sweep --kept --force': { notRun: FORCE },
  'sudo -E env "PATH=$PATH" npx netspec sweep --json': {
    run: {
      check(r) {
        expect(r.exitCode, r.all).toBe(0)
        expect(Object.keys(JSON.parse(r.stdout) as object)).toEqual(expect.arrayContaining(['removed', 'kept', 'live', 'bad', 'lookalikes']))
      },
    },
  },
  'sudo -E env "PATH=$PATH" npx netspec graph [--mermaid]': {
    run: {
      // "a live, read-only drawing of this machine's namespaces (Docker's too) and which holds the other end of each veth"
      forms: ['sudo -E env "PATH=$PATH" npx netspec graph', 'sudo -E env "PATH=$PATH" npx netspec graph --mermaid'],
      check(r) {
        expect(r.exitCode, r.all).toBe(0)
        expect(r.stdout).toMatch(/namespace\(s\), \d+ veth pair\(s\)|```mermaid\n(flowchart|graph) /)
      },
    },
  },
  'npm run torture': { notRun: "the full torture: 1,000 lab lifecycles, minutes long (npm test runs the bounded size: the 'torture' project)" },
  'NETSPEC_TORTURE_N=100 npm run torture': { notRun: "npm test runs this size itself (the 'torture' project)" },
}

/** A command line as the table keys it: without its trailing comment, spaces collapsed. */
export function shellKey(line: string): string {
  return line.replace(/\s+#\s.*$/, '').replace(/\s+/g, ' ').trim()
}

const lines = docFiles().flatMap((file) =>
  docBlocks(file)
    .filter((b) => b.lang === 'sh' || b.lang === 'bash')
    .flatMap((b) => b.lines.map((text, i) => ({ where: `${file}:${b.line + 1 + i}`, key: shellKey(text) })).filter((l) => l.key !== '' && !l.key.startsWith('#'))),
)

test('every command line of the shell blocks is listed: run and checked, or not run with its reason', () => {
  expect(lines.length).toBeGreaterThan(20)
  expect(lines.filter((l) => !(l.key in SHELL_LINES)).map((l) => `${l.where}: ${l.key}`)).toEqual([])
  // And nothing listed that the docs no longer say.
  expect(Object.keys(SHELL_LINES).filter((k) => !lines.some((l) => l.key === k))).toEqual([])
})

describe('the read-only commands, as written, in a project laid out as a user’s', () => {
  let dir: string
  let project: string
  let env: NodeJS.ProcessEnv
  const runs = Object.entries(SHELL_LINES).flatMap(([key, e]) => ('run' in e ? (e.run.forms ?? [key]).map((form) => ({ key, form, run: e.run })) : []))
  const where = (key: string) => lines.filter((l) => l.key === key).map((l) => l.where).join(', ')

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'netspec-doc-shell-'))
    // The package: a private build (parallel test files may rewrite dist/), its package.json and scripts.
    const pkg = join(dir, 'netspec')
    mkdirSync(pkg)
    const cli = await compileCliInto(pkg)
    chmodSync(cli, 0o755) // npm makes a package's bin executable at install
    copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'))
    symlinkSync(join(ROOT, 'scripts'), join(pkg, 'scripts'))
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'))
    // The user's project: node_modules/netspec and node_modules/.bin/netspec, as npm installs them.
    project = join(dir, 'project')
    mkdirSync(join(project, 'node_modules', '.bin'), { recursive: true })
    writeFileSync(join(project, 'package.json'), '{ "name": "doc-shell", "private": true, "type": "module" }\n')
    symlinkSync(pkg, join(project, 'node_modules', 'netspec'))
    symlinkSync('../netspec/dist/cli/main.js', join(project, 'node_modules', '.bin', 'netspec'))
    // This test runs as root; where no sudo is installed, `sudo -E cmd` as root is `cmd`.
    expect(process.getuid?.()).toBe(0)
    const bin = join(dir, 'bin')
    mkdirSync(bin)
    const hasSudo = (await execa('sh', ['-c', 'command -v sudo'], { reject: false })).exitCode === 0
    if (!hasSudo) writeFileSync(join(bin, 'sudo'), '#!/bin/sh\n# root already: drop sudo\'s options\nwhile [ "${1#-}" != "$1" ]; do shift; done\nexec "$@"\n', { mode: 0o755 })
    env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'))
    env = { ...env, PATH: `${bin}:${process.env.PATH}`, NO_COLOR: '1', FORCE_COLOR: '0', npm_config_yes: 'false', npm_config_offline: 'true' }
  }, 180_000)

  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  for (const { key, form, run } of runs) test(`${form}  (${where(key)})`, async () => {
    expect(existsSync(join(project, 'node_modules', '.bin', 'netspec'))).toBe(true)
    const r = await execa('sh', ['-c', form], { cwd: project, env, extendEnv: false, reject: false, all: true, timeout: 120_000 })
    try {
      await run.check({ exitCode: r.exitCode ?? -1, stdout: r.stdout, all: r.all ?? '' })
    } catch (e) {
      ;(e as Error).message = `${where(key)}: \`${form}\`\n${(e as Error).message}`
      throw e
    }
  }, 180_000)
})
