import { test as base, type TestContext } from 'vitest'
import { Lab } from '../lab/lab.js'
import { attachDiagnostics } from './diagnostics.js'

export interface NetspecFixtures {
  /** A sealed, empty lab for this test, torn down after it, pass or fail. */
  lab: Lab
}

/** Vitest's `test` with the `lab` fixture. */
export const test = base.extend<NetspecFixtures>({
  lab: async ({ task, signal }: TestContext, use: (lab: Lab) => Promise<void>) => {
    const lab = await Lab.create({ label: task.fullName ?? task.name, signal })
    try {
      await use(lab)
    } finally {
      // Fixture cleanup runs before onTestFailed hooks, so the state is captured here, while it exists.
      if (task.result?.state === 'fail' && lab.namespaces.length > 0) await attachDiagnostics(task, lab)
      await lab.destroy()
    }
  },
})

export const it = test
