/*
 * The tutorials' bridge network, written as one object instead of a sequence of commands:
 * validated as a whole, built in one go, and drawn back from what the kernel reports.
 *
 *   netns2 (172.16.0.102) ─┐
 *                          ├─ br0 (172.16.0.100) ── host ── uplink (10.0.1.48) ── external (10.0.1.26)
 *   netns3 (172.16.0.103) ─┘
 */
import { describe, expect, test } from 'netspec/vitest'
import type { Topology } from 'netspec'

const tutorial: Topology = {
  namespaces: { host: { forwarding: true }, netns2: {}, netns3: {}, external: {} },
  bridges: { br0: { in: 'host', addresses: ['172.16.0.100/24'] } },
  links: [
    [{ ns: 'host', name: 'br-veth2', bridge: 'br0' }, { ns: 'netns2', name: 'veth2', addresses: ['172.16.0.102/24'] }],
    [{ ns: 'host', name: 'br-veth3', bridge: 'br0' }, { ns: 'netns3', name: 'veth3', addresses: ['172.16.0.103/24'] }],
    [{ ns: 'host', name: 'uplink', addresses: ['10.0.1.48/24'] }, { ns: 'external', name: 'eth0', addresses: ['10.0.1.26/24'] }],
  ],
  routes: {
    netns2: [{ to: 'default', via: '172.16.0.100' }],
    netns3: [{ to: 'default', via: '172.16.0.100' }],
    external: [{ to: '172.16.0.0/24', via: '10.0.1.48' }],
  },
}

describe('a topology declared as one object', () => {
  test('is built, and every host reaches the external host through the forwarding host', async ({ lab }) => {
    const { namespaces } = await lab.build(tutorial)

    await expect(namespaces.netns2!).toReach('10.0.1.26')
    await expect(namespaces.netns3!).toReach('10.0.1.26')
    await expect(namespaces.external!).toReach('172.16.0.102')
  })

  test("is drawn from the kernel's own view: both ports on br0, the uplink to external", async ({ lab }) => {
    await lab.build(tutorial)

    const { mermaid, text } = await lab.diagram()
    expect(mermaid).toMatch(/^flowchart/m)
    expect(text).toContain('br-veth2')
    expect(text).toContain('br-veth3')
    expect(text).toMatch(/host:uplink <──veth──> external:eth0/)
  })
})
