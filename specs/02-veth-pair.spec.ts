import { test, expect } from 'netspec/vitest'

test('two namespaces talk over a veth pair', async ({ lab }) => {
  const ns1 = await lab.namespace('ns1')
  const ns2 = await lab.namespace('ns2')
  await lab.veth([ns1, 'veth1', '10.0.12.1/24', { mac: 'ee:ee:ee:ee:ee:ee' }], [ns2, 'veth2', '10.0.12.2/24'])
  const r = await ns1.exec(['ping', '-c1', '-W1', '10.0.12.2'])
  expect(r.exitCode).toBe(0)
  const links = await ns1.links()
  console.log(links.find(l => l.name === 'veth1'))
  console.log(await ns2.neighbors())
})
