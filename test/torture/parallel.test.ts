// Parallel: 2 × cores Vitest workers (forks), each building labs with the very same labels, interface
// names and addresses, 200 labs in all. Every test passes, no kernel name is used twice, every peer
// sees its own lab's partner (by MAC) and nothing else, and nothing of any worker remains.
import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { promisify } from 'node:util'
import { expect, test } from 'vitest'
import { ROOT } from '../fixtures/dist.js'
import { leftoversOf } from './leftovers.js'

const run = promisify(execFile)
const LABS = Number(process.env.NETSPEC_TORTURE_PARALLEL_LABS ?? 200)
const WORKERS = 2 * availableParallelism()
const TAG = `netspec-parallel-${process.pid}`
const GEN = `gen-${process.pid}`

// One spec file per worker, all alike: the same labels and addresses in every lab.
const SPEC = (count: number) => `
import { appendFileSync } from 'node:fs'
import { test, expect } from 'netspec/vitest'

for (let i = 0; i < ${count}; i++) {
  test('identical lab ' + i, async ({ lab }) => {
    const a = await lab.namespace('a')
    const b = await lab.namespace('b')
    await lab.veth([a, 'veth1', '10.0.12.1/24', { mac: 'ee:ee:ee:00:00:01' }], [b, 'veth2', '10.0.12.2/24'])
    await b.spawn(['sh', '-c', 'sleep 1000; : ${TAG}'])
    const ping = await a.exec(['ping', '-c1', '-W2', '10.0.12.2'])
    expect(ping.exitCode).toBe(0)
    const seen = (await b.neighbors()).filter((n) => n.dst === '10.0.12.1')
    expect(seen.map((n) => n.mac)).toEqual(['ee:ee:ee:00:00:01'])
    const links = (await b.links()).map((l) => l.name).sort()
    expect(links).toEqual(['lo', 'veth2'])
    appendFileSync(process.env.NETSPEC_CHILD_REPORT, JSON.stringify({ pid: process.pid, names: lab.marker.namespaces }) + '\\n')
  })
}
`

test(`${WORKERS} workers build ${LABS} identical labs at once: all pass, no collisions, nothing left`, async () => {
  const dir = `${ROOT}test/torture/child/${GEN}`
  const report = `/run/netspec/parallel-${process.pid}.jsonl`
  mkdirSync(dir, { recursive: true })
  rmSync(report, { force: true })
  try {
    for (let w = 0; w < WORKERS; w++) {
      const count = Math.floor(LABS / WORKERS) + (w < LABS % WORKERS ? 1 : 0)
      writeFileSync(`${dir}/w${w}.spec.ts`, SPEC(count))
    }
    const started = performance.now()
    const r = await run('npx', ['vitest', 'run', '--config', 'test/torture/child/vitest.config.ts'], {
      cwd: ROOT,
      env: { ...process.env, NETSPEC_CHILD_INCLUDE: `${GEN}/*.spec.ts`, NETSPEC_CHILD_WORKERS: String(WORKERS), NETSPEC_CHILD_REPORT: report, CI: '' },
      timeout: 600_000,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((e: { stdout: string; stderr: string; code: number }) => ({ ...e, failed: true }))
    const seconds = Math.round((performance.now() - started) / 100) / 10

    expect('failed' in r ? `${r.stdout}\n${r.stderr}` : '').toBe('')
    const labs = readFileSync(report, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { pid: number; names: string[] })
    const names = labs.flatMap((l) => l.names)
    const workers = new Set(labs.map((l) => l.pid))
    console.log(`netspec parallel: ${labs.length} labs in ${workers.size} workers, ${seconds} s`)

    expect(labs).toHaveLength(LABS)
    expect(new Set(names).size).toBe(names.length) // 0 collisions
    expect(workers.size).toBeGreaterThan(1)
    expect(leftoversOf(workers, TAG)).toEqual({ namespaces: [], etcNetns: [], markers: [], mounts: [], processes: [], rootLinks: [] })
  } finally {
    rmSync(dir, { recursive: true, force: true })
    rmSync(report, { force: true })
  }
}, 900_000)
