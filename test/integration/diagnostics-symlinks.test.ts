// REVIEW-1: a failed test's diagnostics were written through symlinks planted in the project's .netspec/diagnostics
// (a directory the checkout's non-root owner can write while netspec runs as root): the capture copy followed a link
// at its predictable name and root overwrote the file it pointed to. Now every file netspec writes there (the
// diagnostics text, kept captures, the copy of the lab files) goes through a descriptor of a directory opened
// without following links, to an exclusive temp name renamed into place (src/lab/safe-files.ts); a symlinked
// .netspec or diagnostics directory is refused and the refusal is said in the failure. The job summary (netspec/
// reporter) is never appended through a link. Proven from the victims' content and listings, and the kept pcap is
// read back with tcpdump itself.
import { execFileSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { ROOT } from '../fixtures/dist.js'
import { childProject, type ChildProject } from '../fixtures/child-project.js'

// The spec plants the links itself, during the test (after netspec cleared the test's earlier files), as an
// attacker racing the run would: at the names of every file the failure will write.
const SPEC = `
import { test, expect } from 'netspec/vitest'
import { mkdirSync, symlinkSync } from 'node:fs'
test('fails', async ({ lab }) => {
  const a = await lab.namespace('a')
  const b = await lab.namespace('b')
  await lab.veth([a, 'eth0', '10.0.12.1/24'], [b, 'eth0', '10.0.12.2/24'])
  const cap = await a.capture('eth0')
  await a.exec(['ping', '-c1', '-W1', '10.0.12.2'])
  await cap.stop()
  await a.writeFile('planted.conf', 'WRITTEN-BY-ROOT\\n')
  const diag = '.netspec/diagnostics'
  if (process.env.PLANT === '1') {
    mkdirSync(diag, { recursive: true })
    for (const name of ['a-eth0.pcap', 'd.spec.ts_fails--a-eth0.pcap', 'd.spec.ts_fails.txt']) symlinkSync(process.env.VICTIM_FILE, diag + '/' + name)
    symlinkSync(process.env.VICTIM_DIR, diag + '/d.spec.ts_fails.files')
  }
  expect(1).toBe(2)
})
`

const projects: ChildProject[] = []
const victims: string[] = []
afterAll(() => {
  for (const p of projects) p.remove()
  for (const v of victims) rmSync(v, { recursive: true, force: true })
})

function victim(): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'netspec-victim-')) // stands for /etc
  victims.push(dir)
  const file = join(dir, 'shadow')
  writeFileSync(file, 'ORIGINAL\n')
  return { dir, file }
}

describe.each([['netlink', '0'], ['ip', '1']])('diagnostics of a failed test (%s path)', (_path, noNetlink) => {
  test('links planted at every name in .netspec/diagnostics are replaced, never followed; the job summary is not appended through a link', async () => {
    const project = childProject({ 'd.spec.ts': SPEC })
    projects.push(project)
    const v = victim()
    const summary = join(project.dir, 'summary.md')
    symlinkSync(v.file, summary)
    const run = await project.run(['d.spec.ts', `--reporter=${join(ROOT, 'src/vitest/reporter.ts')}`], {
      PLANT: '1',
      VICTIM_FILE: v.file,
      VICTIM_DIR: v.dir,
      NETSPEC_NO_NETLINK: noNetlink,
      GITHUB_STEP_SUMMARY: summary,
    })
    expect(run.exitCode, run.output).toBe(1)
    // The victims: unchanged.
    expect(readFileSync(v.file, 'utf8')).toBe('ORIGINAL\n')
    expect(readdirSync(v.dir)).toEqual(['shadow'])
    expect(run.output).toMatch(/netspec\/reporter: could not append the summary to .*summary\.md: it is a symbolic link/)
    // What was written landed where it was meant, as real files in place of the links.
    const diag = join(project.dir, '.netspec', 'diagnostics')
    const txt = join(diag, 'd.spec.ts_fails.txt')
    expect(lstatSync(txt).isFile()).toBe(true)
    const text = readFileSync(txt, 'utf8')
    const pcap = join(diag, 'd.spec.ts_fails--a-eth0.pcap')
    expect(text).toContain(`capture kept: ${pcap}`)
    expect(lstatSync(pcap).isFile()).toBe(true)
    // tcpdump reads the kept capture back: the echo request the test sent.
    const read = execFileSync('tcpdump', ['-nn', '-r', pcap], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    expect(read).toMatch(/IP 10\.0\.12\.1 > 10\.0\.12\.2: ICMP echo request/)
    const files = join(diag, 'd.spec.ts_fails.files')
    expect(lstatSync(files).isDirectory()).toBe(true)
    const nsDirs = readdirSync(files)
    expect(nsDirs.some((d) => d.startsWith('ns-') && existsSync(join(files, d, 'planted.conf')))).toBe(true)
    expect(nsDirs).not.toContain('captures') // kept on their own, as the pcap above
    expect(lstatSync(join(diag, 'a-eth0.pcap')).isSymbolicLink()).toBe(true) // not a name netspec writes: left alone
    // The failure names the file it wrote.
    expect(run.tests.get('fails')?.failureMessages.join('\n')).toContain(`netspec diagnostics: ${txt}`)
  }, 120_000)
})

test('a symlinked .netspec is refused (nothing written where it leads) and the refusal is in the failure', async () => {
  const project = childProject({ 'd.spec.ts': SPEC })
  projects.push(project)
  const v = victim()
  symlinkSync(v.dir, join(project.dir, '.netspec'))
  const run = await project.run(['d.spec.ts'], {})
  expect(run.exitCode, run.output).toBe(1)
  expect(readdirSync(v.dir)).toEqual(['shadow'])
  expect(readFileSync(v.file, 'utf8')).toBe('ORIGINAL\n')
  const failure = run.tests.get('fails')?.failureMessages.join('\n') ?? ''
  expect(failure).toMatch(/netspec diagnostics were not written to .*d\.spec\.ts_fails\.txt: netspec refused to write \.netspec: it is a symbolic link/)
}, 120_000)

test('a symlinked diagnostics directory is refused too', async () => {
  const project = childProject({ 'd.spec.ts': SPEC })
  projects.push(project)
  const v = victim()
  mkdirSync(join(project.dir, '.netspec'))
  symlinkSync(v.dir, join(project.dir, '.netspec', 'diagnostics'))
  const run = await project.run(['d.spec.ts'], {})
  expect(run.exitCode, run.output).toBe(1)
  expect(readdirSync(v.dir)).toEqual(['shadow'])
  expect(run.tests.get('fails')?.failureMessages.join('\n')).toMatch(/netspec refused to write \.netspec\/diagnostics: it is a symbolic link/)
}, 120_000)
