/*
 * A packet's fate, as the kernel tells it. Since Linux 5.17 every packet the kernel frees without delivering
 * carries a drop reason (tracepoint skb:kfree_skb). Where bpftrace can watch it (`npx netspec doctor` says),
 * a check that expects failure is decided the moment the kernel drops the probe, in the words of the kernel:
 * which namespace, which reason, which function. Elsewhere these tests are skipped with the reason.
 *
 *     ┌── h1 ──┐  10.0.1.0/24   ┌──── gw ────┐  10.0.2.0/24   ┌── srv ──┐
 *     │ eth0 .1├────────────────┤.254  e0 e1 .254├────────────┤.1 eth0  │
 *     │ eth1 .1├──────────────── 10.0.3.0/24 (srv's way back, for rp_filter) ─────┤.2 eth1  │
 *     └────────┘                └────────────┘                └─────────┘
 */
import { beforeAll, expect, test } from 'netspec/vitest'
import { dropsAvailable, explain, reachable } from 'netspec'
import type { DropsSupport, Lab } from 'netspec'

let drops: DropsSupport
beforeAll(async () => {
  drops = await dropsAvailable() // starts the watcher once for this file (~1 s)
})

async function routed(lab: Lab, forwarding = true) {
  const h1 = await lab.namespace('h1')
  const gw = await lab.namespace('gw', { forwarding })
  const srv = await lab.namespace('srv')
  await lab.veth([h1, 'eth0', '10.0.1.1/24'], [gw, 'e0', '10.0.1.254/24'])
  await lab.veth([srv, 'eth0', '10.0.2.1/24'], [gw, 'e1', '10.0.2.254/24'])
  await h1.routeAdd('default', { via: '10.0.1.254' })
  await srv.routeAdd('default', { via: '10.0.2.254' })
  return { h1, gw, srv }
}

test('a router that does not forward: dropped in gw (IP_INADDRERRORS in ip_error)', async ({ lab, skip }) => {
  if (!drops.on) skip(`drop reasons are off: ${drops.why}`)
  const { h1, gw } = await routed(lab, false)
  await expect(h1).not.toReach('10.0.2.1', { droppedIn: gw, reason: 'IP_INADDRERRORS' })
  const r = await reachable(h1, '10.0.2.1', { expectFailure: true })
  expect(r.detail).toBe('dropped in gw by the kernel: it does not forward (IP_INADDRERRORS in ip_error)')
})

test('strict reverse-path filter on an asymmetric path: dropped in srv (IP_RPFILTER)', async ({ lab, skip }) => {
  if (!drops.on) skip(`drop reasons are off: ${drops.why}`)
  const { h1, srv } = await routed(lab)
  await lab.veth([h1, 'eth1', '10.0.3.1/24'], [srv, 'eth1', '10.0.3.2/24'])
  await srv.routeAdd('10.0.1.0/24', { via: '10.0.3.1' }) // the way back is not the way in
  await srv.sysctlSet('net.ipv4.conf.all.rp_filter', 1)
  await srv.sysctlSet('net.ipv4.conf.eth0.rp_filter', 1)
  await expect(h1).not.toReach('10.0.2.1', { droppedIn: srv, reason: 'IP_RPFILTER' })
  // explain() walks the routes (they say it arrives) and shows where the kernel dropped it instead.
  const why = await explain(h1, '10.0.2.1')
  expect(why.verdict).toMatch(/^dropped in srv by the kernel: reverse-path filter \(IP_RPFILTER in \w+\)$/)
})

test('a firewall rule: dropped in gw by nftables, the rule named', async ({ lab, skip }) => {
  if (!drops.on) skip(`drop reasons are off: ${drops.why}`)
  const { h1, gw, srv } = await routed(lab)
  await srv.listen(22)
  await gw.exec(['nft', '-f', '-'], { check: true, input: 'table inet filter { chain forward { type filter hook forward priority 0; tcp dport 22 counter drop; }; }\n' })
  const r = await reachable(h1, 'tcp://10.0.2.1:22', { expectFailure: true })
  expect(r.verdict).toBe('filtered')
  expect(r.detail).toMatch(/^dropped in gw by nftables: inet filter forward, rule 'tcp dport 22 counter drop' \(handle \d+\)$/)
  await expect(h1).toReach('10.0.2.1') // ICMP passes: it is that rule
})

test('a neighbour that never answers: decided when the kernel gives up on it (NEIGH_FAILED)', async ({ lab, skip }) => {
  if (!drops.on) skip(`drop reasons are off: ${drops.why}`)
  const { h1 } = await routed(lab)
  // The kernel sends 3 ARP requests 1 s apart, then drops what it queued: the check waits for that, not longer.
  const r = await reachable(h1, '10.0.1.99', { expectFailure: true, timeoutMs: 8000 })
  expect(r.verdict).toBe('unresolved')
  expect(r.evidence.drop).toMatchObject({ namespace: 'h1', reason: 'NEIGH_FAILED', function: 'neigh_invalidate' })
  expect(r.durationMs).toBeLessThan(7000)
})
