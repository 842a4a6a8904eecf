// The netspec fixtures compose into a user's own `test.extend` (docs/vitest.md): `npm run typecheck` proves it.
import { expectTypeOf, test as base } from 'vitest'
import { labFixtures, test, type NetspecFixtureScopes } from 'netspec/vitest'
import type { Lab, Namespace } from 'netspec'

// A project's own test with its own fixture, then netspec's.
const mine = base.extend<{ greeting: string }>({ greeting: 'hello' })
const composed = mine.extend<NetspecFixtureScopes>(labFixtures)

composed('sees both', ({ greeting, lab, fileLab, workerLab }) => {
  expectTypeOf(greeting).toEqualTypeOf<string>()
  expectTypeOf(lab).toEqualTypeOf<Lab>()
  expectTypeOf(fileLab).toEqualTypeOf<Lab>()
  expectTypeOf(workerLab).toEqualTypeOf<Lab>()
})

// Topology as a fixture: file-scoped, built on fileLab.
const withNet = test.extend<{ $file: { net: { a: Namespace } } }>({
  net: [
    async ({ fileLab }, use) => {
      expectTypeOf(fileLab).toEqualTypeOf<Lab>()
      await use({ a: await fileLab.namespace('a') })
    },
    { scope: 'file' },
  ],
})

withNet('uses the topology', ({ net, lab }) => {
  expectTypeOf(net.a).toEqualTypeOf<Namespace>()
  expectTypeOf(lab).toEqualTypeOf<Lab>()
})
