/*
 * A network namespace is born with one device, its loopback, and even that one is down.
 *
 *     ┌──────── ns1 ────────┐
 *     │  lo   DOWN ──► UP   │
 *     │       127.0.0.1     │
 *     └─────────────────────┘
 *
 * The tutorials: `ip netns add ns1`, `ip netns exec ns1 ip link`, `ip -n ns1 link set lo up`.
 */
import { test, expect } from 'netspec/vitest'
import { reachable } from 'netspec'

test('a new namespace has only a loopback device, and it is down', async ({ lab }) => {
  const ns1 = await lab.namespace('ns1', { loopback: false })

  const links = await ns1.links()
  expect(links.map((l) => l.name)).toEqual(['lo'])
  expect(links[0]).toMatchObject({ up: false, operState: 'DOWN' })
})

test('a command run in the namespace sees the namespace, not the machine', async ({ lab }) => {
  const ns1 = await lab.namespace('ns1', { loopback: false })

  const inside = await ns1.exec('ip -o link show')
  expect(inside.exitCode).toBe(0)
  expect(inside.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^1: lo: <LOOPBACK> /)])
  // The kernel name is what `ip netns exec` takes while the lab lives.
  expect(inside.command).toBe(`ip netns exec ${ns1.name} sh -c 'ip -o link show'`)
})

test('with its loopback down, the namespace cannot reach even 127.0.0.1', async ({ lab }) => {
  const ns1 = await lab.namespace('ns1', { loopback: false })

  const r = await reachable(ns1, '127.0.0.1', { expectFailure: true })
  expect(r.verdict).toBe('no-route')
  expect(r.detail).toContain('Network is unreachable')
})

test('once lo is up, 127.0.0.1 answers', async ({ lab }) => {
  const ns1 = await lab.namespace('ns1', { loopback: false })

  await ns1.linkSet('lo', { up: true })

  expect(await ns1.link('lo')).toMatchObject({ up: true })
  await expect(ns1).toReach('127.0.0.1')
})

test('by default a lab brings lo up for you', async ({ lab }) => {
  const ns1 = await lab.namespace('ns1')

  await expect(ns1).toReach('127.0.0.1')
})
