// A build that fails half-way — the test throws, or the kernel refuses a command — still tears down
// everything it built, and a kernel refusal says where, what, why and what to do.
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Lab, isNetspecError } from 'netspec'
import { markerPath } from '../../src/lab/owner.js'
import { labIsGone, leftovers, running } from '../fixtures/kernel.js'

const run = promisify(execFile)

/** The environment of a fresh Vitest, not of the worker this test runs in. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'))
  return { ...env, ...extra, FORCE_COLOR: '0', NO_COLOR: '1' }
}

describe('a spec that fails half-way through building, run by a real Vitest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netspec-child-'))
  const reportFile = join(dir, 'report.jsonl')
  const diagnostics = join(dir, 'diagnostics')
  let output = ''
  let exitCode = 0
  let reports: { labId: string; namespaces: string[]; pid?: number }[] = []

  beforeAll(async () => {
    const child = await run('npx', ['vitest', 'run', '--config', 'test/fixtures/child-vitest/vitest.config.ts'], {
      env: childEnv({ NETSPEC_CHILD_REPORT: reportFile, NETSPEC_DIAGNOSTICS_DIR: diagnostics }),
      timeout: 60_000,
    }).catch((e: { stdout: string; stderr: string; code: number }) => ({ ...e, exitCode: e.code }))
    output = `${child.stdout}\n${child.stderr}`
    exitCode = 'exitCode' in child ? child.exitCode : 0
    reports = readFileSync(reportFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as (typeof reports)[number])
  }, 90_000)

  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  test('both tests fail, and Vitest says why', () => {
    expect(exitCode).not.toBe(0)
    expect(output).toMatch(/Tests\s+2 failed/)
    expect(output).toContain('Error: boom, half-way through')
  })

  test("the kernel's refusal names the namespace, the command, the kernel's message and a hint", () => {
    const { namespaces } = reports[1]!
    const ns1 = namespaces[0]!
    expect(output).toContain('NetspecError: ip route add failed')
    expect(output).toContain(`  namespace: ns1 (kernel name ${ns1})`)
    expect(output).toMatch(/ {2}declared: {2}\S+fails-mid-build\.spec\.ts:25:\d+/)
    expect(output).toContain(`  command:   ip -n ${ns1} route add 10.9.0.0/16 via 192.168.77.1`)
    expect(output).toContain('  kernel said: Error: Nexthop has invalid gateway.')
    expect(output).toContain('  hint:      the gateway is not on a directly connected subnet of that namespace')
  })

  test('nothing either lab built remains: namespaces, /etc/netns files, markers, processes', () => {
    expect(reports).toHaveLength(2)
    for (const r of reports) {
      expect(r.namespaces).toHaveLength(2)
      expect(leftovers(r.namespaces)).toEqual([])
      expect(existsSync(markerPath(r.labId))).toBe(false)
    }
    expect(running(reports[0]!.pid!)).toBe(false)
  })

  test("each failure left the lab's state as diagnostics, read while it still existed", () => {
    const files = readdirSync(diagnostics)
    expect(files).toHaveLength(2)
    const text = readFileSync(join(diagnostics, files.find((f) => f.includes('throws'))!), 'utf8')
    expect(text).toContain(`── ns1 (ip netns exec ${reports[0]!.namespaces[0]} …)`)
    expect(text).toMatch(/veth1 \(veth\) UP\/UP .* ⇄ ns2\/veth2 {2}10\.0\.12\.1\/24/)
  })
})

describe('a kernel refusal while a namespace is created', () => {
  test('names the namespace and the command, and the half-built namespace is still torn down', async () => {
    const lab = await Lab.create({ label: 'bad sysctl' })
    await lab.namespace('ok')

    const e = await lab.namespace('ns1', { sysctls: { 'net.ipv4.tcp_no_such_setting': 1 } }).catch((err: unknown) => err)

    expect(isNetspecError(e, 'command-failed')).toBe(true)
    const err = e as Error
    expect(err.message).toContain(`namespace: ns1 (kernel name ${lab.marker.namespaces[1]})`)
    expect(err.message).toContain('no_such_setting')
    expect(err.message).toContain('lab:       bad sysctl')
    expect(err.message).toContain('hint:      net.ipv4.tcp_no_such_setting does not exist in a network namespace')
    await lab.destroy()
    expect(labIsGone(lab)).toEqual([])
  })
})
