/*
 * Communication with the external network, as the tutorials tell it, entirely inside the lab:
 * the "host" bridges two namespaces on 172.16.0.0/24 and has an uplink to an "external" host.
 *
 *   ┌─ netns2 ──────────┐                ┌──────────────── host ─────────────────┐          ┌─ external ───────┐
 *   │ veth2             ├──┐             │ br0 172.16.0.100/24     uplink        │          │ eth0             │
 *   │ 172.16.0.102/24   │  ├── br0 ports ┤                         10.0.1.48/24  ├──────────┤ 10.0.1.26/24     │
 *   └───────────────────┘  │             └───────────────────────────────────────┘          └──────────────────┘
 *   ┌─ netns3 ──────────┐  │
 *   │ 172.16.0.103/24   ├──┘
 *   └───────────────────┘
 */
import { describe, expect, test } from 'netspec/vitest'
import { masquerade, portForward, reachable } from 'netspec'
import type { Lab, Namespace } from 'netspec'

async function tutorialNetwork(lab: Lab) {
  const host = await lab.namespace('host')
  const netns2 = await lab.namespace('netns2')
  const netns3 = await lab.namespace('netns3')
  const external = await lab.namespace('external')
  const br0 = await lab.bridge(host, 'br0', { addresses: ['172.16.0.100/24'] })
  await br0.plug([netns2, 'veth2', '172.16.0.102/24'], { port: 'br-veth2' })
  await br0.plug([netns3, 'veth3', '172.16.0.103/24'], { port: 'br-veth3' })
  await lab.veth([host, 'uplink', '10.0.1.48/24'], [external, 'eth0', '10.0.1.26/24'])
  return { host, netns2, netns3, external }
}

describe('netns2 talks to the external host through the host', () => {
  let host: Namespace, netns2: Namespace, external: Namespace

  test.beforeEach(async ({ lab }) => {
    ;({ host, netns2, external } = await tutorialNetwork(lab))
  })

  test('without a default route, netns2 has no route to 10.0.1.26', async () => {
    expect(await reachable(netns2, '10.0.1.26', { expectFailure: true })).toMatchObject({ verdict: 'no-route' })
  })

  test('with a default route but no forwarding, the host swallows the packets', async () => {
    await netns2.routeAdd('default', { via: '172.16.0.100' })

    const r = await reachable(netns2, '10.0.1.26', { expectFailure: true })
    // Where drop reasons are on (docs/drops.md), the kernel says it at once: "dropped in host by the kernel: it does not forward (…)".
    expect(r.detail).toMatch(/the next hop 172\.16\.0\.100 is host, which does not forward|^dropped in host by the kernel: it does not forward/)
  })

  test('with forwarding but no NAT, the external host cannot answer 172.16.0.102', async () => {
    await netns2.routeAdd('default', { via: '172.16.0.100' })
    await host.forwarding(true)

    const r = await reachable(netns2, '10.0.1.26', { expectFailure: true })
    expect(r.verdict).toBe('timed-out')
    expect(r.detail).toContain('is the way back routed?')
  })

  test('with forwarding and MASQUERADE, 10.0.1.26 sees the host address 10.0.1.48', async () => {
    await netns2.routeAdd('default', { via: '172.16.0.100' })
    await masquerade(host, { source: '172.16.0.0/24', outInterface: 'uplink' })

    await expect(netns2).toReach('10.0.1.26')
    await expect(host).toMapNat({ from: netns2, to: 'tcp://10.0.1.26:80', as: '10.0.1.48' })
  })

  test('a DNAT port forward lands 10.0.1.48:8088 on port 80 of netns2', async () => {
    await netns2.routeAdd('default', { via: '172.16.0.100' })
    await portForward(host, { proto: 'tcp', port: 8088, to: '172.16.0.102:80', inInterface: 'uplink' })

    await expect(host).toForward({ from: external, to: 'tcp://10.0.1.48:8088', landsOn: [netns2, 80] })
  })
})
