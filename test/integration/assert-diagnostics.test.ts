// What a failed test attaches: every namespace's state, the nft ruleset with counters, conntrack, a Mermaid picture.
import { readFileSync, rmSync } from 'node:fs'
import { expect, test } from 'netspec/vitest'
import { masquerade, natMaps } from 'netspec'
import { attachDiagnostics } from '../../src/vitest/diagnostics.js'

test('diagnostics contain links, nft counters, conntrack entries and the topology', async ({ lab }) => {
  const inside = await lab.namespace('inside')
  const gw = await lab.namespace('gw')
  const outside = await lab.namespace('outside')
  await lab.veth([inside, 'eth0', '172.16.0.2/24'], [gw, 'lan', '172.16.0.1/24'])
  await lab.veth([gw, 'wan', '10.0.1.48/24'], [outside, 'eth0', '10.0.1.26/24'])
  await inside.routeAdd('default', { via: '172.16.0.1' })
  await masquerade(gw, { source: '172.16.0.0/24', outInterface: 'wan' })
  expect((await natMaps(gw, { from: inside, to: 'tcp://10.0.1.26:80', as: '10.0.1.48' })).ok).toBe(true)

  const task = { name: `diag-${process.pid}`, fullName: `assert diagnostics ${process.pid}`, meta: {} } as never as Parameters<typeof attachDiagnostics>[0]
  await attachDiagnostics(task, lab)
  const { diagnostics, file } = task.meta.netspec!
  expect(diagnostics).toMatch(/── gw: nft list ruleset\n[\s\S]*masquerade/)
  expect(diagnostics).toMatch(/counter packets [1-9]\d* bytes \d+ masquerade/)
  expect(diagnostics).toMatch(/── gw: conntrack -L\n\s+ipv4 .*tcp .*src=172\.16\.0\.2 dst=10\.0\.1\.26/)
  expect(diagnostics).toContain('```mermaid\nflowchart LR')
  expect(diagnostics).toMatch(/inside ---\|"eth0 172\.16\.0\.2\/24 ⇄ lan 172\.16\.0\.1\/24"\| gw/)
  expect(readFileSync(file, 'utf8')).toBe(`${diagnostics}\n`)
  rmSync(file)
})
