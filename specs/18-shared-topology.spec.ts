/*
 * Topology as a fixture: one topology, built once for this file, checked by many tests.
 *
 *     ┌── client ───────┐    ┌── router (forwarding) ───────┐    ┌── server ───────┐
 *     │ eth0            │    │ lan          wan             │    │ eth0            │
 *     │ 10.18.1.2/24    ├────┤ 10.18.1.1/24 10.18.2.1/24    ├────┤ 10.18.2.2/24    │
 *     │ default via .1  │    └──────────────────────────────┘    │ default via .1  │
 *     └─────────────────┘                                        └─────────────────┘
 *
 * `net` is a file-scoped fixture built on `fileLab` (one lab per file): the first test that asks for it builds it,
 * the rest reuse it, and it is torn down after the last test of the file. Tests here only read it; a test that
 * changes it must undo its change (or use the per-test `lab`). A failed test still gets the shared lab's
 * diagnostics, and NETSPEC_KEEP keeps it, as with `lab`.
 */
import { test as base, expect, describe } from 'netspec/vitest'
import type { Namespace } from 'netspec'

interface Net {
  client: Namespace
  router: Namespace
  server: Namespace
}

const test = base.extend<{ $file: { net: Net } }>({
  net: [
    async ({ fileLab }, use) => {
      const client = await fileLab.namespace('client')
      const router = await fileLab.namespace('router', { forwarding: true })
      const server = await fileLab.namespace('server')
      await fileLab.veth([client, 'eth0', '10.18.1.2/24'], [router, 'lan', '10.18.1.1/24'])
      await fileLab.veth([router, 'wan', '10.18.2.1/24'], [server, 'eth0', '10.18.2.2/24'])
      await client.routeAdd('default', { via: '10.18.1.1' })
      await server.routeAdd('default', { via: '10.18.2.1' })
      await use({ client, router, server })
    },
    { scope: 'file' },
  ],
})

describe('one topology, many checks', () => {
  test('the client reaches the server through the router', async ({ net }) => {
    await expect(net.client).toReach('10.18.2.2')
  })

  test('and the server reaches the client back', async ({ net }) => {
    await expect(net.server).toReach('10.18.1.2')
  })

  test('the client routes the server via the router, out of eth0', async ({ net }) => {
    await expect(net.client).toRouteVia('10.18.2.2', { via: '10.18.1.1', dev: 'eth0' })
    await expect(net.router).toHaveRoute('10.18.2.0/24', { dev: 'wan' })
  })

  test('an address outside both subnets is not reachable', async ({ net }) => {
    await expect(net.client).not.toReach('10.18.3.1')
  })

  test('every test saw the same namespaces: built once for the file', async ({ net, fileLab }) => {
    expect(fileLab.namespaces.map((n) => n.label)).toEqual(['client', 'router', 'server'])
    expect(fileLab.namespaces[0]).toBe(net.client)
  })

  test('the per-test lab is still there, separate and empty', async ({ lab, fileLab }) => {
    expect(lab).not.toBe(fileLab)
    expect(lab.namespaces).toEqual([])
  })
})
