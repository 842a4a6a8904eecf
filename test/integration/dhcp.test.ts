// ns.dhcp(): a lease from a real DHCP server in the lab (dnsmasq), applied inside the namespace by netspec's own
// dhclient script; the machine's /etc/resolv.conf is never written; a missing server fails with dhclient's words.
//
//   client (no address) eth0 ── veth ── eth0 10.90.0.1/24 srv (dnsmasq: DHCP 10.90.0.100–150, router and DNS 10.90.0.1)
import { existsSync, readFileSync, statSync } from 'node:fs'
import { describe } from 'vitest'
import { expect, test } from 'netspec/vitest'
import { isNetspecError, type Lab } from 'netspec'

const DNSMASQ = '/usr/sbin/dnsmasq'
const missing = [DNSMASQ, '/sbin/dhclient'].filter((p) => !existsSync(p))
const skip = missing.length === 0 ? false : `${missing.join(', ')} not installed (apt-get install dnsmasq isc-dhcp-client)`

async function dhcpLab(lab: Lab, clientFiles: Record<string, string> | undefined = { 'resolv.conf': '' }) {
  const client = await lab.namespace('client', clientFiles === undefined ? {} : { files: clientFiles })
  const srv = await lab.namespace('srv')
  await lab.veth([client, 'eth0'], [srv, 'eth0', '10.90.0.1/24'])
  const dir = await lab.tempDir()
  const dnsmasq = await srv.spawn(
    [DNSMASQ, '--no-daemon', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--log-facility=-', '--log-dhcp',
      '--interface=eth0', '--bind-interfaces', '--listen-address=10.90.0.1', '--no-ping', '--address=/web.lab/10.90.0.80',
      '--dhcp-range=10.90.0.100,10.90.0.150,255.255.255.0,1h', '--dhcp-option=option:router,10.90.0.1',
      '--dhcp-option=option:dns-server,10.90.0.1', '--domain=lab', `--dhcp-leasefile=${dir}/leases`, `--pid-file=${dir}/dnsmasq.pid`],
    { ready: /started, version/ },
  )
  return { client, srv, dnsmasq, dir }
}

describe.skipIf(skip !== false)(`DHCP from dnsmasq${skip === false ? '' : ` (skipped: ${skip})`}`, () => {
  test('a client with no address gets one, a default route and a resolver; the machine’s /etc/resolv.conf is untouched', async ({ lab }) => {
    const before = existsSync('/etc/resolv.conf') ? { text: readFileSync('/etc/resolv.conf', 'utf8'), mtime: statSync('/etc/resolv.conf').mtimeMs } : undefined
    const { client, dir } = await dhcpLab(lab)
    expect((await client.addresses()).filter((a) => a.dev === 'eth0' && a.family === 4)).toEqual([])

    const lease = await client.dhcp('eth0')

    expect(lease).toMatchObject({ interface: 'eth0', prefixLength: 24, router: '10.90.0.1', dns: ['10.90.0.1'], server: '10.90.0.1', leaseTime: 3600, domain: 'lab' })
    expect(lease.address).toMatch(/^10\.90\.0\.(1[0-4]\d|150)$/)
    // What the kernel holds now, and what the server recorded.
    expect((await client.addresses()).find((a) => a.dev === 'eth0' && a.family === 4)).toMatchObject({ cidr: `${lease.address}/24` })
    await expect(client).toHaveRoute('default', { via: '10.90.0.1', dev: 'eth0' })
    await expect(client).toReach('10.90.0.1')
    expect(readFileSync(`${dir}/leases`, 'utf8')).toContain(` ${lease.address} `)
    // The resolver went to the namespace's own file, and works.
    expect(lease.resolvConf).toBe(`/etc/netns/${client.name}/resolv.conf`)
    expect(readFileSync(lease.resolvConf!, 'utf8')).toBe('# written by netspec from the DHCP lease\nsearch lab\nnameserver 10.90.0.1\n')
    expect((await client.exec(['cat', '/etc/resolv.conf'])).stdout).toContain('nameserver 10.90.0.1')
    await expect(client).toResolve('web.lab', '10.90.0.80')
    expect(lease.process.running).toBe(true)

    const after = existsSync('/etc/resolv.conf') ? { text: readFileSync('/etc/resolv.conf', 'utf8'), mtime: statSync('/etc/resolv.conf').mtimeMs } : undefined
    expect(after).toEqual(before)
    expect(existsSync('/etc/resolv.conf.dhclient-new')).toBe(false)
  })

  test('a namespace without its own resolv.conf gets the lease, and the machine’s file is left alone', async ({ lab }) => {
    const before = readFileSync('/etc/resolv.conf', 'utf8')
    const mtime = statSync('/etc/resolv.conf').mtimeMs
    const { client } = await dhcpLab(lab, undefined)
    const lease = await client.dhcp('eth0')
    const own = existsSync(`/etc/netns/${client.name}/resolv.conf`)
    expect(lease.resolvConf).toBe(own ? `/etc/netns/${client.name}/resolv.conf` : undefined)
    expect(readFileSync('/etc/resolv.conf', 'utf8')).toBe(before)
    expect(statSync('/etc/resolv.conf').mtimeMs).toBe(mtime)
  })

  test('no server on the segment: the failure says "No DHCPOFFERS received." with the namespace and the call site', async ({ lab }) => {
    const client = await lab.namespace('client')
    await lab.veth([client, 'eth0'], [await lab.namespace('silent'), 'eth0', '10.91.0.1/24'])
    const t0 = performance.now()
    const e = await client.dhcp('eth0', { timeoutMs: 3000 }).catch((err: unknown) => err)
    expect(performance.now() - t0).toBeLessThan(10_000)
    expect(isNetspecError(e)).toBe(true)
    const m = (e as Error).message
    expect(m).toMatch(/^no DHCP lease for eth0 in client: /)
    expect(m).toContain(`namespace: client (kernel name ${client.name})`)
    expect(m).toMatch(/called at: \S+dhcp\.test\.ts:\d+:\d+/)
    expect(m).toMatch(/\| No DHCPOFFERS received\./)
    expect(m).not.toContain('kernel said')
  })

  test('bad input is refused before dhclient starts', async ({ lab }) => {
    const client = await lab.namespace('client')
    await expect(client.dhcp('eth0;reboot')).rejects.toSatisfy((e: unknown) => isNetspecError(e, 'invalid-input'))
    await expect(client.dhcp('a'.repeat(16))).rejects.toSatisfy((e: unknown) => isNetspecError(e, 'invalid-input'))
    await expect(client.dhcp('eth0', { timeoutMs: 5 })).rejects.toThrow(/'timeoutMs' must be from 1000/)
    await expect(client.dhcp('eth0', { bogus: true } as never)).rejects.toThrow(/unknown option 'bogus'/)
    expect(await client.pids()).toEqual([])
  })
})
