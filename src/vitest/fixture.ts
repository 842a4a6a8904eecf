import { basename } from 'node:path'
import { expect, test as base, type TestContext } from 'vitest'
import { Lab } from '../lab/lab.js'
import { printable } from '../values/show.js'
import { attachDiagnostics, clearDiagnostics } from './diagnostics.js'
import { keepPolicy, onFailedLab, type KeepPolicy } from './keep.js'

/** The lab fixtures by scope, in Vitest's `test.extend<{ $test, $file, $worker }>` form. */
export interface NetspecFixtureScopes {
  $test: {
    /** A sealed, empty lab for this test, torn down after it, pass or fail. */
    lab: Lab
    /**
     * (auto) Clears an earlier run's diagnostics files of the test; attaches the shared labs' diagnostics to a failed
     * test, and keeps or pauses them (NETSPEC_KEEP).
     */
    netspecSharedLabs: void
  }
  $file: {
    /** One lab for the whole test file: build a topology once, check it in many tests. Torn down after the file. */
    fileLab: Lab
  }
  $worker: {
    /** One lab per Vitest worker (a worker may run several files, one after the other). Torn down with the worker. */
    workerLab: Lab
  }
}

/** Every netspec fixture, as a test sees it. */
export interface NetspecFixtures {
  lab: Lab
  fileLab: Lab
  workerLab: Lab
}

/** A lab shared by several tests (file or worker scope), while it is alive in this worker. */
interface Shared {
  lab: Lab
  keep: KeepPolicy
  /** Kept or paused already, at the first test that failed with it. */
  handled: boolean
}
const shared = new Set<Shared>()

async function sharedLab(scope: 'file' | 'worker', use: (lab: Lab) => Promise<void>): Promise<void> {
  const keep = keepPolicy() // a bad NETSPEC_KEEP fails here, before anything is created
  const path = expect.getState().testPath
  const label = scope === 'file' && path !== undefined ? `${basename(path)} (file lab)` : `worker ${process.env.VITEST_POOL_ID ?? process.pid} (worker lab)`
  const lab = await Lab.create({ label })
  const entry: Shared = { lab, keep, handled: false }
  shared.add(entry)
  try {
    await use(lab)
  } finally {
    shared.delete(entry)
    await lab.destroy() // spares it when a failed test kept it (NETSPEC_KEEP=on-failure)
  }
}

async function onFailure(task: TestContext['task'], lab: Lab, keep: KeepPolicy, shared = false): Promise<void> {
  // Fixture cleanup runs before onTestFailed hooks, so the state is captured here, while it exists.
  await attachDiagnostics(task, lab, { shared })
  // NETSPEC_KEEP: keep the lab (destroy then spares it) or pause; never at the cost of the teardown.
  await onFailedLab(task, lab, keep).catch((e: unknown) => console.error(`netspec: could not keep the lab: ${String(e)}`))
}

/**
 * The netspec fixtures, to compose into your own `test.extend` (`base.extend<NetspecFixtureScopes & …>({ ...labFixtures, … })`)
 * or to use through `test` below. `lab` is per test; `fileLab` and `workerLab` are shared, and a failed test that
 * ran while one was alive gets its diagnostics (and NETSPEC_KEEP keeps or pauses it) just like its own lab.
 */
export const labFixtures = {
  lab: async ({ task, signal }: TestContext, use: (lab: Lab) => Promise<void>) => {
    const keep = keepPolicy() // a bad NETSPEC_KEEP fails here, before anything is created
    const lab = await Lab.create({ label: printable(task.fullName ?? task.name).slice(0, 4096), signal })
    try {
      await use(lab)
    } finally {
      if (task.result?.state === 'fail' && lab.namespaces.length > 0) await onFailure(task, lab, keep)
      await lab.destroy()
    }
  },
  netspecSharedLabs: [
    async ({ task }: TestContext, use: (v: void) => Promise<void>) => {
      clearDiagnostics(task) // an earlier run's files for this test
      await use()
      if (task.result?.state !== 'fail') return
      for (const s of shared) {
        if (s.lab.namespaces.length === 0) continue
        if (s.handled) {
          await attachDiagnostics(task, s.lab, { shared: true })
          continue
        }
        s.handled = true
        await onFailure(task, s.lab, s.keep, true)
      }
    },
    { auto: true },
  ] as [(ctx: TestContext, use: (v: void) => Promise<void>) => Promise<void>, { auto: true }],
  fileLab: [async ({}: object, use: (lab: Lab) => Promise<void>) => sharedLab('file', use), { scope: 'file' }] as [
    (ctx: object, use: (lab: Lab) => Promise<void>) => Promise<void>,
    { scope: 'file' },
  ],
  workerLab: [async ({}: object, use: (lab: Lab) => Promise<void>) => sharedLab('worker', use), { scope: 'worker' }] as [
    (ctx: object, use: (lab: Lab) => Promise<void>) => Promise<void>,
    { scope: 'worker' },
  ],
}

/** Vitest's `test` with the netspec fixtures: `lab` (per test), `fileLab` (per file), `workerLab` (per worker). */
export const test = base.extend<NetspecFixtureScopes>(labFixtures)

export const it = test
