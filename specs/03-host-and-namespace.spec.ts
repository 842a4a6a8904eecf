/*
 * The tutorials' first real setup: the "host" talks to a namespace over a veth pair.
 * Here the host is itself a lab namespace, so the machine running the test is never touched.
 *
 *     ┌──────── host ────────┐               ┌─────── netns1 ───────┐
 *     │ veth0  172.16.0.1/24 │◄─────────────►│ veth1  172.16.0.2/24 │
 *     └──────────────────────┘   veth pair   └──────────────────────┘
 */
import { test, expect, describe } from 'netspec/vitest'
import { reachable, type Namespace } from 'netspec'

describe('the host and netns1 over a veth pair', () => {
  let host: Namespace
  let netns1: Namespace

  test.beforeEach(async ({ lab }) => {
    host = await lab.namespace('host')
    netns1 = await lab.namespace('netns1')
    await lab.veth([host, 'veth0', '172.16.0.1/24'], [netns1, 'veth1', '172.16.0.2/24'])
  })

  test('the host reaches netns1, and netns1 reaches the host', async () => {
    await expect(host).toReach('172.16.0.2')
    await expect(netns1).toReach('172.16.0.1')
  })

  test("netns1's only way out is the connected subnet: it has no default route", async () => {
    const routes = (await netns1.routes()).filter((r) => r.table === 'main' && r.family === 4)

    expect(routes).toEqual([expect.objectContaining({ dst: '172.16.0.0/24', dev: 'veth1', src: '172.16.0.2' })])
  })

  test('an address outside the subnet is unreachable from netns1', async () => {
    const r = await reachable(netns1, '10.0.0.1', { expectFailure: true })

    expect(r.verdict).toBe('no-route')
    expect(r.detail).toContain('Network is unreachable')
  })
})
