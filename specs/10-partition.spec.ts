/*
 * Partitions: every path between two groups cut, then healed; and a one-way cut.
 *
 *     ┌── a ──┐        ┌──────── sw ────────┐        ┌── b ──┐
 *     │ eth0 ─┼────────┼─ pa   br0    pb  ──┼────────┼─ eth0 │
 *     └───────┘        │        pc          │        └───────┘
 *                      └────────┼───────────┘
 *                           ┌── c ──┐   10.0.0.0/24: a .1, b .2, c .3
 *                           │ eth0  │
 *                           └───────┘
 */
import { test, expect } from 'netspec/vitest'
import type { Lab, Namespace } from 'netspec'

const pings = async (from: Namespace, to: string) => (await from.exec(['ping', '-c1', '-W1', '-n', to])).exitCode === 0

async function star(lab: Lab) {
  const sw = await lab.namespace('sw')
  const br = await lab.bridge(sw, 'br0')
  const hosts: Namespace[] = []
  for (const [i, name] of ['a', 'b', 'c'].entries()) {
    const h = await lab.namespace(name)
    await br.plug([h, 'eth0', `10.0.0.${i + 1}/24`], { port: `p${name}` })
    hosts.push(h)
  }
  return hosts as [Namespace, Namespace, Namespace]
}

test('partition({a}, {b, c}) cuts a off from both; heal() restores it; b and c still talk meanwhile', async ({ lab }) => {
  const [a, b, c] = await star(lab)
  expect(await pings(a, '10.0.0.2')).toBe(true)

  const cut = await lab.partition([a], [b, c])
  expect(await pings(a, '10.0.0.2')).toBe(false)
  expect(await pings(c, '10.0.0.1')).toBe(false)
  expect(await pings(b, '10.0.0.3')).toBe(true)

  await cut.heal()
  expect(await pings(a, '10.0.0.2')).toBe(true)
  expect(await pings(c, '10.0.0.1')).toBe(true)
})

test('a one-way partition a → b: a cannot reach b, while b still reaches a', async ({ lab }) => {
  const [a, b] = await star(lab)

  await lab.partition(a, b, { oneWay: true })
  expect(await pings(a, '10.0.0.2')).toBe(false)
  expect(await pings(b, '10.0.0.1')).toBe(true)
})
