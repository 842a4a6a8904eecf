/*
 * DHCP and DNS, as the tutorials' /etc/netns story continues: a client with no address asks dnsmasq for a
 * lease, gets an address, a default route and a resolver (written to its own resolv.conf, never the
 * machine's), then reaches a web server in another subnet by name.
 *
 *     ┌── client ───────────┐       ┌── gw (forwarding) ─────────────────┐       ┌── web ───────────────┐
 *     │ eth0 (no address)   ├───────┤ lan 10.90.0.1/24                   │       │                      │
 *     │  → DHCP lease       │       │   dnsmasq: DHCP .100–.150, router  │       │                      │
 *     │    10.90.0.1xx/24   │       │   and DNS 10.90.0.1, web.lab → .50 │       │                      │
 *     │  default via .1     │       │ srv 10.80.0.1/24                   ├───────┤ eth0 10.80.0.50/24   │
 *     └─────────────────────┘       └────────────────────────────────────┘       │ default via 10.80.0.1│
 *                                                                                 │ listens on tcp/80    │
 *                                                                                 └──────────────────────┘
 */
import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, test } from 'netspec/vitest'
import { resolves } from 'netspec'

const DNSMASQ = '/usr/sbin/dnsmasq'
const missing = [DNSMASQ, '/sbin/dhclient'].filter((p) => !existsSync(p))
const skip = missing.length === 0 ? false : `${missing.join(', ')} not installed (apt-get install dnsmasq isc-dhcp-client)`

describe.skipIf(skip !== false)(`a client configured by DHCP reaches a web server by name${skip === false ? '' : ` (skipped: ${skip})`}`, () => {
  test('no address → lease, default route, resolver → web.lab resolves and answers on port 80', async ({ lab }) => {
    // The client starts with an empty resolv.conf of its own: the lease fills it.
    const client = await lab.namespace('client', { files: { 'resolv.conf': '' } })
    const gw = await lab.namespace('gw', { forwarding: true })
    const web = await lab.namespace('web')
    await lab.veth([client, 'eth0'], [gw, 'lan', '10.90.0.1/24'])
    await lab.veth([gw, 'srv', '10.80.0.1/24'], [web, 'eth0', '10.80.0.50/24'])
    await web.routeAdd('default', { via: '10.80.0.1' })
    const server = await web.listen(80)

    const dir = await lab.tempDir()
    await gw.spawn(
      [DNSMASQ, '--no-daemon', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--log-facility=-', '--log-dhcp', '--no-ping',
        '--interface=lan', '--bind-interfaces', '--listen-address=10.90.0.1', '--address=/web.lab/10.80.0.50', '--local=/lab/',
        '--dhcp-range=10.90.0.100,10.90.0.150,255.255.255.0,1h', '--dhcp-option=option:router,10.90.0.1',
        '--dhcp-option=option:dns-server,10.90.0.1', `--dhcp-leasefile=${dir}/leases`, `--pid-file=${dir}/dnsmasq.pid`],
      { name: 'dnsmasq', ready: /started, version/ },
    )
    await expect(client).not.toReach('10.80.0.50') // no address, no route yet

    const lease = await client.dhcp('eth0')

    expect(lease).toMatchObject({ prefixLength: 24, router: '10.90.0.1', dns: ['10.90.0.1'], server: '10.90.0.1', leaseTime: 3600 })
    await expect(client).toHaveRoute('default', { via: '10.90.0.1', dev: 'eth0' })
    expect(readFileSync(`/etc/netns/${client.name}/resolv.conf`, 'utf8')).toContain('nameserver 10.90.0.1')

    await expect(client).toResolve('web.lab', '10.80.0.50')
    await expect(client).not.toResolve('nope.lab')
    expect(await resolves(client, 'nope.lab')).toMatchObject({ rcode: 'NXDOMAIN', server: '10.90.0.1' })
    // By name: what the resolver answers is where the connection goes, and web sees the leased address.
    const { records: [address] } = await resolves(client, 'web.lab')
    await expect(client).toReach(`tcp://${address}:80`)
    expect((await server.waitForPeers(1)).map((p) => p.address)).toContain(lease.address)
  })
})
