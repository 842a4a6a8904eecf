/*
 * explain(from, to): where and why a packet stops. It walks each namespace's own `ip route get`, then sends
 * one real probe and traces it with nftables (`nft monitor trace`) wherever a ruleset could drop it.
 *
 *     ┌── h1 ──┐  10.0.1.0/24   ┌──── gw ────┐  10.0.2.0/24   ┌── h2 ──┐
 *     │ eth0 .1├────────────────┤.254  e0 e1 .254├────────────┤.1 eth0 │
 *     └────────┘                └────────────┘                └────────┘
 */
import { test, expect } from 'netspec/vitest'
import { explain } from 'netspec'
import type { Lab } from 'netspec'

async function routed(lab: Lab, forwarding: boolean) {
  const h1 = await lab.namespace('h1')
  const gw = await lab.namespace('gw', { forwarding })
  const h2 = await lab.namespace('h2')
  await lab.veth([h1, 'eth0', '10.0.1.1/24'], [gw, 'e0', '10.0.1.254/24'])
  await lab.veth([h2, 'eth0', '10.0.2.1/24'], [gw, 'e1', '10.0.2.254/24'])
  await h1.routeAdd('default', { via: '10.0.1.254' })
  return { h1, gw, h2 }
}

test('no route: h2 has no way back to 10.0.1.0/24', async ({ lab }) => {
  const { h2 } = await routed(lab, true)
  const why = await explain(h2, '10.0.1.1')
  expect(why.arrived).toBe(false)
  expect(why.verdict).toMatch(/^no route in h2 for 10.0.1.1: Network is unreachable/)
})

test('forwarding off: the packet reaches gw and stops there', async ({ lab }) => {
  const { h1 } = await routed(lab, false)
  const why = await explain(h1, '10.0.2.1')
  expect(why.verdict).toBe('ip_forward is 0 in gw')
  expect(why.hops[0]).toMatchObject({ namespace: 'h1', note: 'out eth0 via 10.0.1.254' })
  expect((await h1.exec(['ping', '-c1', '-W1', '10.0.2.1'])).exitCode).not.toBe(0) // and the kernel agrees
})

test('all set: arrives, and the hops name each decision', async ({ lab }) => {
  const { h1, h2 } = await routed(lab, true)
  await h2.routeAdd('default', { via: '10.0.2.254' })
  const why = await explain(h1, '10.0.2.1')
  expect(why.arrived).toBe(true)
  expect(String(why)).toBe(['1. h1: out eth0 via 10.0.1.254', '2. gw: out e1 (directly connected)', '3. h2: 10.0.2.1 is local', '→ arrives at h2'].join('\n'))
  expect((await h1.exec(['ping', '-c1', '-W1', '10.0.2.1'])).exitCode).toBe(0)
})

test('a forward chain with policy drop: the traced probe names the namespace, the chain and the policy', async ({ lab }) => {
  const { h1, gw, h2 } = await routed(lab, true)
  await h2.routeAdd('default', { via: '10.0.2.254' })
  await gw.exec(['nft', '-f', '-'], { input: 'table inet fw {\n chain guard { type filter hook forward priority 0; policy drop; }\n}\n', check: true })
  const why = await explain(h1, '10.0.2.1')
  expect(why.arrived).toBe(false)
  expect(String(why)).toBe(
    ['1. h1: out eth0 via 10.0.1.254', '2. gw: out e1 (directly connected) — dropped: chain inet fw guard, policy drop', '→ dropped in gw: chain inet fw guard, policy drop'].join('\n'),
  )
})

test('a rule that drops one port is quoted with its handle; the same host still answers ICMP', async ({ lab }) => {
  const { h1, h2 } = await routed(lab, true)
  await h2.routeAdd('default', { via: '10.0.2.254' })
  await h2.exec(['nft', '-f', '-'], { input: 'table inet host {\n chain input { type filter hook input priority 0; tcp dport 80 drop comment "no web"; }\n}\n', check: true })
  const web = await explain(h1, '10.0.2.1', { proto: 'tcp', port: 80 })
  expect(web.verdict).toMatch(/^dropped in h2: chain inet host input, rule 'tcp dport 80 drop comment "no web"' \(handle \d+\)$/)
  expect(await explain(h1, '10.0.2.1')).toMatchObject({ arrived: true, verdict: 'arrives at h2' })
})

test('a failing toReach carries the same verdict', async ({ lab }) => {
  const { h1, gw, h2 } = await routed(lab, true)
  await h2.routeAdd('default', { via: '10.0.2.254' })
  await gw.exec(['nft', '-f', '-'], { input: 'table inet fw {\n chain guard { type filter hook forward priority 0; ip saddr 10.0.1.1 drop; }\n}\n', check: true })
  await expect(expect(h1).toReach('10.0.2.1', { timeoutMs: 500 })).rejects.toThrow(/→ dropped in gw: chain inet fw guard, rule 'ip saddr 10\.0\.1\.1 drop'/)
})
