// netspec/vitest: the `lab` fixture for Vitest, and the netspec matchers on `expect`.
import './matchers.js'
export { test, it, labFixtures, type NetspecFixtures, type NetspecFixtureScopes } from './fixture.js'
export { ForgottenAwaitError } from './pending.js'
export type { NetspecMatchers, RouteViaExpectation } from './matchers.js'
export { DIAGNOSTICS_DIR } from './diagnostics.js'
export type { WithinOptions } from './within.js'
export { keepPolicy, type KeepMode, type KeepPolicy } from './keep.js'
export { expect, describe, beforeAll, afterAll, beforeEach, afterEach, vi } from 'vitest'
