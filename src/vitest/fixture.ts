import { test as base, type TestContext } from 'vitest'
import { Lab } from '../lab/lab.js'
import { attachDiagnostics } from './diagnostics.js'
import { keepPolicy, onFailedLab } from './keep.js'

export interface NetspecFixtures {
  /** A sealed, empty lab for this test, torn down after it, pass or fail. */
  lab: Lab
}

/** Vitest's `test` with the `lab` fixture. */
export const test = base.extend<NetspecFixtures>({
  lab: async ({ task, signal }: TestContext, use: (lab: Lab) => Promise<void>) => {
    const keep = keepPolicy() // a bad NETSPEC_KEEP fails here, before anything is created
    const lab = await Lab.create({ label: task.fullName ?? task.name, signal })
    try {
      await use(lab)
    } finally {
      // Fixture cleanup runs before onTestFailed hooks, so the state is captured here, while it exists.
      if (task.result?.state === 'fail' && lab.namespaces.length > 0) {
        await attachDiagnostics(task, lab)
        // NETSPEC_KEEP: keep the lab (destroy then spares it) or pause; never at the cost of the teardown.
        await onFailedLab(task, lab, keep).catch((e: unknown) => console.error(`netspec: could not keep the lab: ${String(e)}`))
      }
      await lab.destroy()
    }
  },
})

export const it = test
