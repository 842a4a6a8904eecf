// N lab lifecycles (pair, bridge and NAT topologies), each in its own Node process built on the
// published package, a fraction SIGKILLed at a random point (mid-build, mid-check, mid-teardown).
// Afterwards nothing of any of them remains: namespaces, /etc/netns entries, markers, /run/netns
// mounts, processes, links, and their reapers themselves.
//
// Size: NETSPEC_TORTURE_N (default 100, as CI runs it inside `npm test`); `npm run torture` runs 1,000.
import { spawn } from 'node:child_process'
import { cpSync, rmSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { buildDist, ROOT } from '../fixtures/dist.js'
import { alive, leftoversOf, nothingLeft, waitUntilClean } from './leftovers.js'

const N = Number(process.env.NETSPEC_TORTURE_N ?? 100)
const PARALLEL = Number(process.env.NETSPEC_TORTURE_PARALLEL ?? 4)
const KILL_FRACTION = Number(process.env.NETSPEC_TORTURE_KILL ?? 0.3)
const SEED = Number(process.env.NETSPEC_TORTURE_SEED ?? Date.now() % 100_000)
const RUN = `netspec-torture-${process.pid}-`
const TOPOLOGIES = ['pair', 'bridge', 'nat'] as const
const PHASES = ['build', 'check', 'teardown'] as const

// A small seeded generator (mulberry32), so a failing run can be replayed with NETSPEC_TORTURE_SEED.
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Plan {
  i: number
  topology: (typeof TOPOLOGIES)[number]
  kill?: { phase: (typeof PHASES)[number]; delayMs: number }
}

interface Outcome extends Plan {
  pid: number
  reaper: number
  killed: boolean
  killedIn?: string
  exitCode: number | null
  phases: string[]
  cleanMs: number
  left: ReturnType<typeof leftoversOf>
  output: string
}

function lifecycle(plan: Plan): Promise<Outcome> {
  return new Promise((resolve) => {
    const tag = `${RUN}${plan.i}`
    const child = spawn(process.execPath, ['test/torture/fixtures/worker.mjs', plan.topology, tag], {
      cwd: ROOT,
      env: { ...process.env, NETSPEC_TORTURE_DIST: DIST },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const phases: string[] = []
    let reaper = 0
    let output = ''
    let killedIn: string | undefined
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    createInterface({ input: child.stdout }).on('line', (line) => {
      output += `${line}\n`
      const r = /^reaper (\d+)$/.exec(line)
      if (r !== null) reaper = Number(r[1])
      const m = /^phase (\w+)$/.exec(line)
      if (m === null) return
      phases.push(m[1]!)
      const kill = plan.kill
      if (kill !== undefined && kill.phase === m[1])
        setTimeout(() => {
          killedIn = `${m[1]} +${kill.delayMs} ms`
          child.kill('SIGKILL')
        }, kill.delayMs)
    })
    child.once('exit', async (code, signal) => {
      const killed = signal === 'SIGKILL'
      // A run that was not killed cleans up itself; a killed one is its reaper's job.
      const { left, ms } = await waitUntilClean([child.pid!], tag, killed ? 10_000 : 2_000)
      resolve({ ...plan, pid: child.pid!, reaper, killed, killedIn, exitCode: code, phases, cleanMs: ms, left, output })
    })
  })
}

// A private copy of dist/ inside the tree (so its imports resolve from node_modules): other test files
// may rebuild dist/ while a thousand processes import it.
const DIST = `${ROOT}test/torture/.dist-${process.pid}`
beforeAll(async () => {
  await buildDist()
  cpSync(`${ROOT}dist`, DIST, { recursive: true })
}, 180_000)
afterAll(() => rmSync(DIST, { recursive: true, force: true }))

test(`${N} lab lifecycles, ${Math.round(KILL_FRACTION * 100)}% SIGKILLed at random points, leave nothing behind (seed ${SEED})`, async () => {
  const random = rng(SEED)
  const plans: Plan[] = Array.from({ length: N }, (_, i) => ({
    i,
    topology: TOPOLOGIES[i % TOPOLOGIES.length]!,
    // Delays up to 40 ms land anywhere from the first `netns add` to the last `netns del`.
    kill: random() < KILL_FRACTION ? { phase: PHASES[Math.floor(random() * 3)]!, delayMs: Math.floor(random() * 40) } : undefined,
  }))
  const outcomes: Outcome[] = []
  const queue = [...plans]
  const started = performance.now()
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      for (let p = queue.shift(); p !== undefined; p = queue.shift()) outcomes.push(await lifecycle(p))
    }),
  )
  const wallMs = performance.now() - started

  const killed = outcomes.filter((o) => o.killed)
  const dirty = outcomes.filter((o) => !nothingLeft(o.left))
  const failed = outcomes.filter((o) => !o.killed && o.exitCode !== 0)
  const cleanMs = killed.map((o) => o.cleanMs).sort((a, b) => a - b)
  const byPhase = Object.fromEntries(PHASES.map((ph) => [ph, killed.filter((o) => o.killedIn?.startsWith(ph)).length]))
  const summary = {
    lifecycles: N,
    seed: SEED,
    killed: killed.length,
    killedByPhase: byPhase,
    killedAfterFinishing: outcomes.filter((o) => o.kill !== undefined && !o.killed).length,
    completed: outcomes.filter((o) => !o.killed && o.exitCode === 0).length,
    failed: failed.length,
    dirty: dirty.length,
    reaperCleanMsMedian: cleanMs[Math.floor(cleanMs.length / 2)] === undefined ? null : Math.round(cleanMs[Math.floor(cleanMs.length / 2)]!),
    reaperCleanMsMax: cleanMs.length === 0 ? null : Math.round(cleanMs.at(-1)!),
    wallSeconds: Math.round(wallMs / 100) / 10,
  }
  console.log(`netspec torture: ${JSON.stringify(summary)}`)

  expect(failed.map((o) => `#${o.i} ${o.topology} exit ${o.exitCode}\n${o.output}`)).toEqual([])
  expect(dirty.map((o) => ({ i: o.i, topology: o.topology, killedIn: o.killedIn, left: o.left }))).toEqual([])
  // Across all of them once more (a late `ip` of a dead owner would show up here), and the reapers are gone too.
  const all = outcomes.map((o) => o.pid)
  expect(leftoversOf(all, RUN)).toEqual({ namespaces: [], etcNetns: [], markers: [], mounts: [], processes: [], rootLinks: [] })
  await expect.poll(() => alive(outcomes.map((o) => o.reaper).filter((p) => p > 0)), { timeout: 10_000 }).toEqual([])
  // The kill points really were reached: killed runs stopped before finishing their lifecycle.
  if (N >= 50) expect(Object.values(byPhase).every((n) => n > 0)).toBe(true)
})
