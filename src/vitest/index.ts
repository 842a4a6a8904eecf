// netspec/vitest: the `lab` fixture for Vitest, and the netspec matchers on `expect`.
import './matchers.js'
export { test, it, type NetspecFixtures } from './fixture.js'
export { DIAGNOSTICS_DIR } from './diagnostics.js'
export type { WithinOptions } from './within.js'
export { keepPolicy, type KeepMode, type KeepPolicy } from './keep.js'
export { expect, describe, beforeAll, afterAll, beforeEach, afterEach, vi } from 'vitest'
