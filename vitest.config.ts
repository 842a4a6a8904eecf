import { fileURLToPath } from 'node:url'
import { defineConfig, type ViteUserConfig } from 'vitest/config'
import { generateDocTests } from './test/fixtures/doc-tests.js'

const src = (p: string) => fileURLToPath(new URL(`./src/${p}`, import.meta.url))

// Specs import 'netspec' and 'netspec/vitest' exactly as users do; here they resolve to the sources.
const alias = [
  { find: /^netspec\/vitest$/, replacement: src('vitest/index.ts') },
  { find: /^netspec$/, replacement: src('index.ts') },
]

// CI also keeps a machine-readable report (scripts/ci-summary.mjs prints the closing line from it).
const reporters: NonNullable<NonNullable<ViteUserConfig['test']>['reporters']> = [
  'tree',
  ...(process.env.GITHUB_ACTIONS === 'true' ? ['github-actions' as const] : []),
  ...(process.env.CI === 'true' ? [['json', { outputFile: '.netspec/vitest-report.json' }] as ['json', { outputFile: string }]] : []),
]

// Doc tests (issue 16): the runnable ```ts blocks of README.md and docs/*.md, written as spec files under
// test/doc-tests/ (git-ignored) at every run, for the `docs` project. Unclassified blocks fail test/unit/doc-blocks.test.ts.
// The docs project shares one module graph per worker (isolate: false): ~40 small files that all import netspec,
// 86 s → 27–36 s on this loaded 2-core machine; each test still gets its own lab.
await generateDocTests()

export default defineConfig({
  resolve: { alias },
  test: {
    pool: 'forks',
    // The sweep of crashed runs, and the sealed-lab check around the whole run (scripts/sealed-check.mjs:
    // the root namespace must look the same after the run, and no lab address may appear on its interfaces).
    globalSetup: [src('vitest/setup.ts'), fileURLToPath(new URL('./scripts/sealed-check.mjs', import.meta.url))],
    reporters,
    projects: [
      { resolve: { alias }, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        resolve: { alias },
        test: { name: 'integration', include: ['test/integration/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 30_000 },
      },
      { resolve: { alias }, test: { name: 'specs', include: ['specs/**/*.spec.ts'], testTimeout: 30_000 } },
      { resolve: { alias }, test: { name: 'docs', include: ['test/doc-tests/**/*.spec.ts'], testTimeout: 30_000, isolate: false } },
      // Torture (issue 7): bounded in `npm test`; `npm run torture` runs the full size.
      { resolve: { alias }, test: { name: 'torture', include: ['test/torture/**/*.test.ts'], testTimeout: 900_000, hookTimeout: 300_000 } },
    ],
  },
})
