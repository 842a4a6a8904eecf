// A separate Vitest run started by the torture and reaper tests as a child process (as Playwright tests
// its own runner): NETSPEC_CHILD_INCLUDE picks the spec files, NETSPEC_CHILD_WORKERS the forks,
// NETSPEC_CHILD_SEALED=1 wraps the run in scripts/sealed-check.mjs.
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (p: string) => fileURLToPath(new URL(`../../../src/${p}`, import.meta.url))
const workers = Number(process.env.NETSPEC_CHILD_WORKERS ?? 2)

export default defineConfig({
  resolve: {
    alias: [
      { find: /^netspec\/vitest$/, replacement: src('vitest/index.ts') },
      { find: /^netspec$/, replacement: src('index.ts') },
    ],
  },
  test: {
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: [process.env.NETSPEC_CHILD_INCLUDE ?? 'none'],
    pool: 'forks',
    maxWorkers: workers,
    fileParallelism: true,
    reporters: ['dot'],
    testTimeout: 60_000,
    // The sealed-lab check as the integration suite uses it (tested inside a lab namespace).
    globalSetup: process.env.NETSPEC_CHILD_SEALED === '1' ? [fileURLToPath(new URL('../../../scripts/sealed-check.mjs', import.meta.url))] : [],
  },
})
