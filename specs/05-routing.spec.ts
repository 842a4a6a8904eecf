/*
 * Routing between two subnets: the host forwards from the bridge's subnet to a second one,
 * and netns2 gets there through its default route.
 *
 *     ┌── netns2 ───────┐    ┌──────────── host (forwarding) ───────────┐    ┌── server ───────┐
 *     │ veth2           │    │ br0              │          veth-srv     │    │ eth0            │
 *     │ 172.16.0.102/24 ├────┤ 172.16.0.100/24  │ ─ ─ ─ ─  10.0.1.1/24  ├────┤ 10.0.1.2/24     │
 *     │ default via .100│    └──────────────────────────────────────────┘    │ 172.16.0.0/24   │
 *     └─────────────────┘                                                    │   via 10.0.1.1  │
 *                                                                            └─────────────────┘
 */
import { test, expect, describe } from 'netspec/vitest'
import type { Namespace } from 'netspec'

describe('netns2 reaches a second subnet through the forwarding host', () => {
  let host: Namespace
  let netns2: Namespace

  test.beforeEach(async ({ lab }) => {
    host = await lab.namespace('host', { forwarding: true })
    netns2 = await lab.namespace('netns2')
    const server = await lab.namespace('server')
    const br0 = await lab.bridge(host, 'br0', { addresses: ['172.16.0.100/24'] })
    await br0.plug([netns2, 'veth2', '172.16.0.102/24'])
    await lab.veth([host, 'veth-srv', '10.0.1.1/24'], [server, 'eth0', '10.0.1.2/24'])
    await server.routeAdd('172.16.0.0/24', { via: '10.0.1.1' })
  })

  test('without a default route, the second subnet is unreachable from netns2', async () => {
    const ping = await netns2.exec(['ping', '-c1', '-W1', '10.0.1.2'])

    expect(ping.stderr).toContain('Network is unreachable')
  })

  test('with a default route via 172.16.0.100, netns2 reaches 10.0.1.2', async () => {
    await netns2.routeAdd('default', { via: '172.16.0.100' })

    expect(await netns2.routes()).toContainEqual(expect.objectContaining({ dst: 'default', via: '172.16.0.100', dev: 'veth2' }))
    await expect(netns2).toReach('10.0.1.2')
  })

  test('the host carries the packets only while it forwards', async () => {
    await netns2.routeAdd('default', { via: '172.16.0.100' })
    await host.forwarding(false)

    expect(await host.sysctlGet('net.ipv4.ip_forward')).toBe('0')
    await expect(netns2).not.toReach('10.0.1.2')
  })
})
