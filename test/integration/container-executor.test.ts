// The container executor: a lab whose every kernel command runs inside one runner container, through
// a long-lived agent. Proves where the commands ran (the host never sees the lab's namespaces),
// that /etc/netns files and spawned processes work there, and runs specs 02 and 04 in that mode.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
import { Lab } from 'netspec'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { leaseEngine } from '../../src/container/engine.js'
import { buildImage } from '../../src/container/image.js'
import { createContainerExecutor, type ContainerExecutor } from '../../src/exec/container.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const lease = await leaseEngine()
const docker = (args: string[]) => execa('docker', args, { reject: false })
// Only this file's own containers: other files (spec 07, the other container tests) may run at the same time.
const containers = async (owner = process.pid) =>
  (await docker(['ps', '-aq', '--no-trunc', '--filter', `label=netspec.owner-pid=${owner}`])).stdout.split('\n').filter(Boolean).sort()
const hostNetns = async () => ((JSON.parse((await execa('ip', ['-j', 'netns', 'list'])).stdout || '[]')) as { name: string }[]).map((n) => n.name)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

describe.skipIf(!lease.ok)(`container executor${lease.ok ? '' : ` (skipped: ${lease.reason})`}`, { timeout: 60_000 }, () => {
  let before: string[]
  let executor: ContainerExecutor
  beforeAll(async () => {
    before = await containers()
    await buildImage()
    executor = createContainerExecutor()
  }, 120_000)
  afterAll(async () => {
    await executor?.close()
    expect(await containers()).toEqual(before)
    if (lease.ok) await lease.release()
  })

  test('a lab built through it lives inside the runner: pings work there, the host sees none of its namespaces', async () => {
    await using lab = await Lab.create({ label: 'container executor', executor })
    const ns1 = await lab.namespace('ns1')
    const ns2 = await lab.namespace('ns2', { files: { hosts: '10.0.12.1 one\n' } })
    await lab.veth([ns1, 'veth1', '10.0.12.1/24'], [ns2, 'veth2', '10.0.12.2/24'])
    expect((await ns1.exec(['ping', '-c1', '-W2', '10.0.12.2'])).exitCode).toBe(0)
    expect((await ns2.exec(['ping', '-c1', '-W2', 'one'])).exitCode).toBe(0) // the name from /etc/netns/NAME/hosts
    expect((await ns2.link('veth2'))?.peer?.namespace).toBe('ns1')
    const inside = (await executor.run(['ip', 'netns', 'list'])).stdout
    expect(inside).toContain(ns1.name)
    const host = await hostNetns()
    expect(host).not.toContain(ns1.name)
    expect(host).not.toContain(ns2.name)
    const server = await ns2.spawn(['sh', '-c', 'echo serving; exec sleep 30'], { ready: /serving/ })
    expect(server.running).toBe(true)
    await lab.destroy()
    expect(server.running).toBe(false)
    expect((await executor.run(['ip', 'netns', 'list'])).stdout).not.toContain(ns1.name)
    expect((await executor.run(['ls', '/etc/netns'])).stdout).not.toContain(ns2.name)
  })

  test('errors keep their meaning: exit codes, a missing tool, a timeout', async () => {
    const r = await executor.run(['sh', '-c', 'echo out; echo err >&2; exit 3'])
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([3, 'out\n', 'err\n'])
    await expect(executor.run(['no-such-tool-here'])).rejects.toMatchObject({ kind: 'missing-tool' })
    const slow = await executor.run(['sleep', '5'], { timeoutMs: 200 })
    expect(slow.timedOut).toBe(true)
  })

  test('measure: a command through the agent vs a docker exec per command (printed, not asserted)', async () => {
    await executor.run(['true'])
    const agent: number[] = []
    for (let i = 0; i < 30; i++) agent.push((await executor.run(['ip', '-V'])).durationMs)
    const perExec: number[] = []
    for (let i = 0; i < 8; i++) {
      const t = performance.now()
      await docker(['exec', executor.runner!.id, 'ip', '-V'])
      perExec.push(performance.now() - t)
    }
    console.log(`container executor: ip -V through the agent ${median(agent).toFixed(1)} ms (median of 30); docker exec per call ${median(perExec).toFixed(1)} ms (median of 8)`)
    expect(agent.length).toBe(30)
  })

  test('specs 02 and 04 pass unchanged with NETSPEC_EXECUTOR=container', async () => {
    mkdirSync(join(root, '.netspec'), { recursive: true }) // absent in a fresh clone
    const dir = mkdtempSync(join(root, '.netspec', 'cexec-'))
    try {
      const config = join(dir, 'vitest.config.mjs')
      const src = (p: string) => JSON.stringify(`${root}src/${p}`)
      writeFileSync(
        config,
        `export default {
  root: ${JSON.stringify(root)},
  resolve: { alias: [{ find: /^netspec\\/vitest$/, replacement: ${src('vitest/index.ts')} }, { find: /^netspec$/, replacement: ${src('index.ts')} }] },
  test: { include: ['specs/02-veth-pair.spec.ts', 'specs/04-bridge.spec.ts'], setupFiles: [${src('container/vitest-setup.ts')}], pool: 'forks', testTimeout: 30000, hookTimeout: 60000 },
}\n`,
      )
      const env: NodeJS.ProcessEnv = { ...process.env, NETSPEC_EXECUTOR: 'container', NO_COLOR: '1' }
      for (const k of ['VITEST', 'VITEST_WORKER_ID', 'VITEST_POOL_ID']) delete env[k]
      const r = await execa(process.execPath, [`${root}node_modules/vitest/vitest.mjs`, 'run', '--config', config], { cwd: root, env, reject: false, all: true, timeout: 90_000 })
      expect(r.all).toMatch(/Tests\s+8 passed \(8\)/)
      expect(r.exitCode).toBe(0)
      // The child's workers are gone: no runner container may outlive its owner.
      const owners = (await docker(['ps', '-a', '--filter', 'label=netspec.owner-pid', '--format', '{{.Label "netspec.owner-pid"}}'])).stdout.split('\n').filter(Boolean)
      expect(owners.filter((pid) => !existsSync(`/proc/${pid}`))).toEqual([])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 100_000)
})
