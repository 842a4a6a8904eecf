/*
 * The tutorials' tcpdump story, captured on veth2 while ns1 pings ns2 once.
 *
 *     ┌──────── ns1 ────────┐                ┌──────── ns2 ────────┐
 *     │ veth1  10.0.12.1/24 │◄──────────────►│ veth2  10.0.12.2/24 │  ← tcpdump -i veth2
 *     └─────────────────────┘                └─────────────────────┘
 *
 * First ARP: "who-has 10.0.12.2 tell 10.0.12.1", then "10.0.12.2 is-at <veth2's MAC>", then ICMP echo request and reply.
 */
import { test, expect } from 'netspec/vitest'

test('a ping on a fresh link: ARP who-has, ARP reply, then ICMP echo request and reply', async ({ lab }) => {
  const ns1 = await lab.namespace('ns1')
  const ns2 = await lab.namespace('ns2')
  await lab.veth([ns1, 'veth1', '10.0.12.1/24', { mac: 'ee:ee:ee:00:00:01' }], [ns2, 'veth2', '10.0.12.2/24', { mac: 'ee:ee:ee:00:00:02' }])

  const cap = await ns2.capture('veth2', { filter: 'arp or icmp' })
  await ns1.exec(['ping', '-c1', '-W2', '10.0.12.2'], { check: true })
  const packets = await cap.stop()

  const story = packets.map((p) => p.summary)
  expect(story.slice(0, 4)).toEqual([
    'ARP who-has 10.0.12.2 tell 10.0.12.1',
    'ARP 10.0.12.2 is-at ee:ee:ee:00:00:02',
    'IPv4 10.0.12.1 > 10.0.12.2 ICMP echo-request seq 1',
    'IPv4 10.0.12.2 > 10.0.12.1 ICMP echo-reply seq 1',
  ])
  expect(packets[0]).toMatchObject({ srcMac: 'ee:ee:ee:00:00:01', dstMac: 'ff:ff:ff:ff:ff:ff', arp: { op: 'request', targetIp: '10.0.12.2' } })
})

test('the capture decodes TCP flags of a handshake to a listener', async ({ lab }) => {
  const a = await lab.namespace('a')
  const b = await lab.namespace('b')
  await lab.veth([a, 'eth0', '10.0.0.1/24'], [b, 'eth0', '10.0.0.2/24'])
  const server = await b.listen(8080)

  const cap = await a.capture('eth0', { filter: 'tcp port 8080' })
  await a.exec(['bash', '-c', 'exec 3<>/dev/tcp/10.0.0.2/8080'], { check: true })
  await server.waitForPeers(1)
  const tcp = (await cap.stop()).filter((p) => p.tcp)

  expect(tcp[0]?.tcp).toMatchObject({ dstPort: 8080, flags: ['SYN'] })
  expect(tcp[1]?.tcp).toMatchObject({ srcPort: 8080, flags: ['SYN', 'ACK'] })
})
