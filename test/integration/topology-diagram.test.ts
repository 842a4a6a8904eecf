// lab.diagram() draws what the kernel reports: a link deleted behind the lab's back disappears from the drawing.
import { test, expect } from 'netspec/vitest'

test('diagram shows namespaces, the bridge with its ports, veth cables and addresses, from read-back state', async ({ lab }) => {
  const sw = await lab.namespace('sw')
  const br = await lab.bridge(sw, 'br0', { addresses: ['10.0.0.254/24'] })
  const h1 = await lab.namespace('h1')
  const h2 = await lab.namespace('h2')
  await br.plug([h1, 'eth0', '10.0.0.1/24'], { port: 'p1' })
  await br.plug([h2, 'eth0', '10.0.0.2/24'], { port: 'p2' })

  const { text, mermaid } = await lab.diagram()
  expect(text).toContain('br0 10.0.0.254/24 (bridge)')
  expect(text).toContain('p1 (veth, port of br0)')
  expect(text).toMatch(/sw:p1 <──veth──> h1:eth0|h1:eth0 <──veth──> sw:p1/)
  expect(text).toContain('eth0 10.0.0.2/24 (veth)')
  expect(mermaid).toMatch(/^flowchart LR\n/)
  expect(mermaid).toContain('sw__p2 --- sw__br0')
  expect(mermaid).toContain('sw__br0[["br0 10.0.0.254/24"]]')

  await h2.exec(['ip', 'link', 'del', 'eth0'], { check: true }) // behind the lab's back
  const after = await lab.diagram()
  expect(after.text).not.toContain('h2:eth0')
  expect(after.text).not.toContain('10.0.0.2/24')
})
