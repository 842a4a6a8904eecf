// A Vitest setup file: with NETSPEC_EXECUTOR=container, every lab of this worker runs its kernel
// commands inside one runner container (src/exec/container.ts); Vitest itself needs no root.
//   vitest.config.ts: test: { setupFiles: ['netspec/container-setup'] }   (or this file's path)
import { afterAll } from 'vitest'
import { setDefaultExecutor } from '../exec/index.js'
import { createContainerExecutor } from '../exec/container.js'

if (process.env.NETSPEC_EXECUTOR === 'container') {
  const executor = createContainerExecutor()
  setDefaultExecutor(executor)
  afterAll(async () => {
    setDefaultExecutor(undefined)
    await executor.close()
  })
}
