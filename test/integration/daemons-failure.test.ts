// From the outside (a real Vitest in a child process): a spec whose daemon never converges fails with the
// daemon's last words in the failure and in the diagnostics, keeps its files beside them, and leaves nothing.
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { leftovers, running } from '../fixtures/kernel.js'

const run = promisify(execFile)

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS' && !k.startsWith('NETSPEC_KEEP')))
  return { ...env, ...extra, FORCE_COLOR: '0', NO_COLOR: '1' }
}

describe('a spec whose daemon never converges, run by a real Vitest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netspec-child-daemons-'))
  const reportFile = join(dir, 'report.jsonl')
  const diagnostics = join(dir, 'diagnostics')
  let output = ''
  let exitCode = 0
  let report: { namespaces: string[]; pid: number; conf: string; dir: string }

  beforeAll(async () => {
    const child = await run('npx', ['vitest', 'run', '--config', 'test/fixtures/child-daemons/vitest.config.ts'], {
      env: childEnv({ NETSPEC_CHILD_REPORT: reportFile, NETSPEC_DIAGNOSTICS_DIR: diagnostics }),
      timeout: 60_000,
    }).catch((e: { stdout: string; stderr: string; code: number }) => ({ ...e, exitCode: e.code }))
    output = `${child.stdout}\n${child.stderr}`
    exitCode = 'exitCode' in child ? child.exitCode : 0
    report = JSON.parse(readFileSync(reportFile, 'utf8').trim()) as typeof report
  }, 90_000)

  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  test('the failure says what was last seen and what the daemon last printed, not its banner', () => {
    expect(exitCode).not.toBe(0)
    expect(output).toMatch(/Tests\s+1 failed/)
    expect(output).toContain('expected a route: r1 has no route to 10.2.0.0/24 at all')
    expect(output).toMatch(/still so after 500 ms: checked \d+ times/)
    expect(output).toMatch(/routed in r1 \(pid \d+\): still running; spawned at \S+never-converges\.spec\.ts:9:\d+/)
    expect(output).toContain('| peer: Error: Bad peer AS: 65002')
    expect(output).not.toContain('routed banner line 1\n')
  })

  test('the diagnostics list the process with its last 20 lines, and keep the lab files', () => {
    const [file] = readdirSync(diagnostics).filter((f) => f.endsWith('.txt'))
    const text = readFileSync(join(diagnostics, file!), 'utf8')
    expect(text).toContain('── processes spawned by the test (1)')
    expect(text).toMatch(/routed in r1 \(pid \d+\): still running; spawned at \S+never-converges\.spec\.ts:9:\d+\n {3}last 20 lines of output:\n {3}\| routed banner line 22\n/)
    expect(text).toContain('   | peer: Error: Bad peer AS: 65002\n')
    const copied = /── lab files \(\S+\) copied to (\S+)/.exec(text)![1]!
    expect(readFileSync(join(copied, report.namespaces[0]!, 'routed.conf'), 'utf8')).toBe('neighbor 10.0.12.2 as 65003;\n')
  })

  test('nothing is left: the daemon, the namespace and the temp directory are gone', () => {
    expect(running(report.pid)).toBe(false)
    expect(leftovers(report.namespaces)).toEqual([])
    expect(existsSync(report.dir)).toBe(false)
  })
})
