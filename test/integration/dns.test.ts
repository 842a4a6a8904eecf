// toResolve() and resolves() against a real DNS server in the lab (dnsmasq), with their evidence: the
// resolv.conf the namespace sees, the server that answered, the rcode and the records.
//
//   client 10.80.0.10/24 ── veth ── 10.80.0.53/24 dns (dnsmasq: web.lab → 10.80.0.50, www.lab → CNAME db.lab,
//                                                       other *.lab names NXDOMAIN)
import { existsSync } from 'node:fs'
import { describe } from 'vitest'
import { expect, test } from 'netspec/vitest'
import { isNetspecError, resolves, type Lab } from 'netspec'

const DNSMASQ = '/usr/sbin/dnsmasq'
const skip = existsSync(DNSMASQ) ? false : 'dnsmasq is not installed (apt-get install dnsmasq)'

async function dnsLab(lab: Lab, resolvConf = 'nameserver 10.80.0.53\n') {
  const client = await lab.namespace('client', { files: { 'resolv.conf': resolvConf } })
  const dns = await lab.namespace('dns')
  await lab.veth([client, 'eth0', '10.80.0.10/24', 'fd00:80::10/64'], [dns, 'eth0', '10.80.0.53/24', 'fd00:80::53/64'])
  const pid = `${await lab.tempDir()}/dnsmasq.pid`
  const dnsmasq = await dns.spawn(
    [DNSMASQ, '--no-daemon', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--log-facility=-', '--log-queries',
      '--address=/web.lab/10.80.0.50', '--address=/web.lab/fd00:80::50', '--local=/lab/', '--host-record=db.lab,10.80.0.51', '--cname=www.lab,db.lab',
      '--listen-address=10.80.0.53', '--bind-interfaces', `--pid-file=${pid}`],
    { ready: /started, version/ },
  )
  return { client, dns, dnsmasq }
}

describe.skipIf(skip !== false)(`DNS against dnsmasq${skip === false ? '' : ` (skipped: ${skip})`}`, () => {
  test('toResolve: the name resolves to the address, through the namespace’s own resolv.conf', async ({ lab }) => {
    const { client } = await dnsLab(lab)
    await expect(client).toResolve('web.lab', '10.80.0.50')
    await expect(client).toResolve('web.lab.', ['10.80.0.50'])
    await expect(client).toResolve('www.lab', '10.80.0.51') // through the CNAME
    await expect(client).toResolve('web.lab', 'fd00:80:0::50', { type: 'AAAA' })
    await expect(client).not.toResolve('web.lab', '10.80.0.99')
    await expect(client).not.toResolve('nope.lab')

    const r = await resolves(client, 'web.lab')
    expect(r).toMatchObject({
      ok: true,
      server: '10.80.0.53',
      rcode: 'NOERROR',
      records: ['10.80.0.50'],
      resolvConf: { path: `/etc/netns/${client.name}/resolv.conf`, own: true, nameservers: ['10.80.0.53'] },
    })
    expect(r.detail).toBe(`client asked 10.80.0.53 for web.lab A: 10.80.0.50 (/etc/netns/${client.name}/resolv.conf; servers 10.80.0.53)`)
    const www = await resolves(client, 'www.lab')
    expect(www.answers.map((a) => `${a.type} ${a.data}`)).toEqual(['CNAME db.lab', 'A 10.80.0.51'])
    expect(www.detail).toContain('www.lab A: 10.80.0.51 via CNAME db.lab')
  })

  test('NXDOMAIN is an answer with its rcode; the failure message says who answered what', async ({ lab }) => {
    const { client, dnsmasq } = await dnsLab(lab)
    const r = await resolves(client, 'nope.lab')
    expect(r).toMatchObject({ ok: false, rcode: 'NXDOMAIN', server: '10.80.0.53', records: [] })
    const e = await expect(client).toResolve('nope.lab', '10.80.0.50').catch((err: Error) => err)
    expect((e as Error).message).toContain(`expected client to resolve nope.lab to 10.80.0.50, but client asked 10.80.0.53 for nope.lab A: NXDOMAIN (/etc/netns/${client.name}/resolv.conf; servers 10.80.0.53)`)
    // dnsmasq logs a query on its own pipe, which may reach us after the answer did: wait for the line first.
    await dnsmasq.waitForOutput(/query\[A\] nope\.lab from 10\.80\.0\.10/)
    // Waited for: the timeout shows the lab's daemons (the client has none of its own), with dnsmasq's last lines.
    const waited = await expect(client).toResolve('nope.lab', { within: 300 }).catch((err: Error) => err)
    expect((waited as Error).message).toMatch(/still so after 300 ms: checked \d+ times[\s\S]*processes of the lab:\n {4}dnsmasq in dns \(pid \d+\): still running/)
    expect((waited as Error).message).toMatch(/\| .*query\[A\] nope\.lab from 10\.80\.0\.10/)
  })

  test('a dead first server is skipped and said; a server nobody runs is "ECONNREFUSED"; no answer within the deadline is a timeout', async ({ lab }) => {
    const { client } = await dnsLab(lab, 'nameserver 10.80.0.54\nnameserver 10.80.0.53\n')
    await lab.veth([client, 'eth1', '10.81.0.10/24'], [(await lab.namespace('void')), 'eth0', '10.81.0.1/24'])
    // 10.80.0.54 does not exist: ARP fails, the first server times out and the second answers.
    const r = await resolves(client, 'web.lab', { timeoutMs: 2000 })
    expect(r).toMatchObject({ ok: true, server: '10.80.0.53' })
    expect(r.attempts.map((a) => [a.server, a.outcome])).toEqual([['10.80.0.54', 'timeout'], ['10.80.0.53', 'answer']])
    expect(r.detail).toMatch(/tried 10\.80\.0\.54: timeout after \d+ ms; 10\.80\.0\.53: answer/)

    const refused = await resolves(client, 'web.lab', { server: '10.81.0.1' })
    expect(refused).toMatchObject({ ok: false, attempts: [{ server: '10.81.0.1', outcome: 'ECONNREFUSED' }] })
    expect(refused.detail).toContain("no DNS server answered client's query for web.lab A")
  })

  test('both ways of sending the query (in-process socket, Node program in the namespace) see the same', async ({ lab }) => {
    const { client } = await dnsLab(lab, 'nameserver 10.80.0.54\nnameserver 10.80.0.53\n')
    const { queryServers } = await import('../../src/services/dns.js')
    const { encodeQuery, decodeResponse } = await import('../../src/services/dns-codec.js')
    const q = encodeQuery(4242, 'web.lab', 'A')
    const ways = lab.netlink === undefined ? (['process'] as const) : (['in-process', 'process'] as const)
    for (const via of ways) {
      const attempts = await queryServers(client, q, ['10.80.0.54', '10.80.0.53', '10.80.0.52'], 400, via)
      expect(attempts.map((a) => [a.server, a.outcome]), via).toEqual([['10.80.0.54', 'timeout'], ['10.80.0.53', 'answer']])
      expect(decodeResponse(attempts[1]!.reply!)).toMatchObject({ id: 4242, rcode: 'NOERROR', answers: [{ type: 'A', data: '10.80.0.50' }] })
      const refused = await queryServers(client, q, ['10.80.0.10'], 400, via) // itself: nothing listens on 53
      expect(refused.map((a) => a.outcome), via).toEqual(['ECONNREFUSED'])
    }
  })

  test('the namespace without its own resolv.conf reads the file `ip netns exec` shows it', async ({ lab }) => {
    const other = await lab.namespace('other')
    const r = await resolves(other, 'web.lab', { timeoutMs: 300 })
    const own = existsSync(`/etc/netns/${other.name}/resolv.conf`)
    expect(r.resolvConf).toMatchObject({ own, path: own ? `/etc/netns/${other.name}/resolv.conf` : '/etc/resolv.conf' })
    expect(r.ok).toBe(false) // nothing in this lab namespace can reach the machine's servers
  })

  test('bad names and options are refused before any query', async ({ lab }) => {
    const client = await lab.namespace('client')
    for (const name of ['', 'a..b', `${'a'.repeat(64)}.lab`, `${'a.'.repeat(127)}ab`, 'web lab', '-x.lab', 'wéb.lab', 'a\nb', '../etc']) {
      await expect(resolves(client, name)).rejects.toSatisfy((e: unknown) => isNetspecError(e, 'invalid-input'))
    }
    await expect(resolves(client, 'web.lab', { type: 'SOA' as never })).rejects.toThrow(/record type 'SOA'/)
    await expect(resolves(client, 'web.lab', { server: '10.80.0.300' })).rejects.toThrow(/not an IP address/)
    await expect(expect(client).toResolve('web.lab', { within: -1 })).rejects.toThrow(/'within' must be/)
  })
})
