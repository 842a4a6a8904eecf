/*
 * Two namespaces joined by a veth pair: a virtual cable, one end in each.
 *
 *     ┌──────── ns1 ────────┐                ┌──────── ns2 ────────┐
 *     │ veth1  10.0.12.1/24 │◄──────────────►│ veth2  10.0.12.2/24 │
 *     │ ee:ee:ee:ee:ee:ee   │   veth pair    │                     │
 *     └─────────────────────┘                └─────────────────────┘
 *
 * The tutorials: `ip link add veth1 netns ns1 type veth peer name veth2 netns ns2`, addresses, `ping`.
 */
import { test, expect, describe } from 'netspec/vitest'
import type { Namespace } from 'netspec'

describe('two namespaces over a veth pair', () => {
  let ns1: Namespace
  let ns2: Namespace

  test.beforeEach(async ({ lab }) => {
    ns1 = await lab.namespace('ns1')
    ns2 = await lab.namespace('ns2')
    await lab.veth([ns1, 'veth1', '10.0.12.1/24', { mac: 'ee:ee:ee:ee:ee:ee' }], [ns2, 'veth2', '10.0.12.2/24'])
  })

  test('ns1 reaches ns2, and ns2 reaches ns1', async () => {
    await expect(ns1).toReach('10.0.12.2')
    await expect(ns2).toReach('10.0.12.1')
  })

  test("ns2 learns veth1's MAC address, ee:ee:ee:ee:ee:ee, in its neighbour table", async () => {
    await expect(ns2).toReach('10.0.12.1')

    expect(await ns2.neighbors()).toContainEqual(expect.objectContaining({ dst: '10.0.12.1', dev: 'veth2', mac: 'ee:ee:ee:ee:ee:ee' }))
  })

  test('veth1 knows that its other end is veth2, in ns2', async () => {
    const veth1 = await ns1.link('veth1')

    expect(veth1?.peer).toMatchObject({ namespace: 'ns2', netns: ns2.name, name: 'veth2' })
  })

  test('deleting one end of the pair removes the other end too', async () => {
    await ns1.linkDel('veth1')

    expect(await ns1.link('veth1')).toBeUndefined()
    expect(await ns2.link('veth2')).toBeUndefined()
  })
})
