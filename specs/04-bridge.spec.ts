/*
 * A bridge is a switch: netns2 and netns3 plug into br0 in the host, and all three share one subnet.
 *
 *                      ┌────────────── host ──────────────┐
 *                      │        br0  172.16.0.100/24      │
 *                      │      ┌───────┴────────┐          │
 *                      │  br-veth2         br-veth3       │
 *                      └──────┼────────────────┼──────────┘
 *                             │                │
 *     ┌────── netns2 ─────────┴──┐   ┌─────────┴──── netns3 ──────┐
 *     │ veth2  172.16.0.102/24   │   │ veth3  172.16.0.103/24     │
 *     └──────────────────────────┘   └────────────────────────────┘
 */
import { test, expect, describe } from 'netspec/vitest'
import type { Namespace } from 'netspec'

describe('netns2 and netns3 on bridge br0 in the host', () => {
  let host: Namespace
  let netns2: Namespace
  let netns3: Namespace

  test.beforeEach(async ({ lab }) => {
    host = await lab.namespace('host')
    netns2 = await lab.namespace('netns2')
    netns3 = await lab.namespace('netns3')
    const br0 = await lab.bridge(host, 'br0', { addresses: ['172.16.0.100/24'] })
    await br0.plug([netns2, 'veth2', '172.16.0.102/24'], { port: 'br-veth2' })
    await br0.plug([netns3, 'veth3', '172.16.0.103/24'], { port: 'br-veth3' })
  })

  test('netns2 and netns3 reach each other', async () => {
    await expect(netns2).toReach('172.16.0.103')
    await expect(netns3).toReach('172.16.0.102')
  })

  test('both reach the bridge, and the bridge reaches both', async () => {
    await expect(netns2).toReach('172.16.0.100')
    await expect(netns3).toReach('172.16.0.100')
    await expect(host).toReach('172.16.0.102')
    await expect(host).toReach('172.16.0.103')
  })

  test('`bridge link` in the host shows both ports, forwarding, with master br0', async () => {
    const ports = JSON.parse((await host.exec(['bridge', '-j', 'link'], { check: true })).stdout) as object[]

    expect(ports).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ifname: 'br-veth2', master: 'br0', state: 'forwarding' }),
        expect.objectContaining({ ifname: 'br-veth3', master: 'br0', state: 'forwarding' }),
      ]),
    )
    expect(ports).toHaveLength(2)
  })

  test("each port's other end is in its namespace", async () => {
    expect((await host.link('br-veth2'))?.peer).toMatchObject({ namespace: 'netns2', name: 'veth2' })
    expect((await host.link('br-veth3'))?.peer).toMatchObject({ namespace: 'netns3', name: 'veth3' })
  })
})
