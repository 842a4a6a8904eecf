// README examples that need a kernel, run as written (the hasRoute and routeGet block).
import { test, expect } from 'netspec/vitest'
import { routeGet } from 'netspec'

test("README's routeGet lines: a local decision with from/oif/mark, and a forwarded one with iif on an interface that exists", async ({ lab }) => {
  const ns1 = await lab.namespace('ns1')
  const ns2 = await lab.namespace('ns2', { forwarding: true })
  const ns3 = await lab.namespace('ns3')
  await lab.veth([ns1, 'veth1', '10.0.12.1/24'], [ns2, 'veth2', '10.0.12.2/24'])
  await lab.veth([ns2, 'veth3', '10.9.1.2/24'], [ns3, 'eth0', '10.9.1.1/24'])
  await ns1.routeAdd('10.9.0.0/16', { via: '10.0.12.2', metric: 50 })

  const local = await routeGet(ns1, '10.9.1.1', { from: '10.0.12.1', oif: 'veth1', mark: 7 })
  expect(local.decision).toMatchObject({ dev: 'veth1', gateway: '10.0.12.2', prefsrc: undefined })
  const forwarded = await routeGet(ns2, '10.9.1.1', { from: '10.0.12.1', iif: 'veth2' })
  expect(forwarded.ok).toBe(true)
  expect(forwarded.decision).toMatchObject({ dev: 'veth3' })
})
