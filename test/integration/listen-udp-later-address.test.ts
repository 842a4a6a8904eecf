// An address added after listen() is answered from itself too (REVIEW2-5 of the second adversarial review): the
// listener binds a socket for a new address when the wildcard hears from one. The kernel's view: b's Udp
// InDatagrams and OutDatagrams move, NoPorts does not, and the probe gets the answer.
import { expect, test } from 'vitest'
import { reachable } from 'netspec'
import { labOnPath } from '../fixtures/lab-path.js'

test('a UDP target at an address added after listen() is answered from that address', async () => {
  await using lab = await labOnPath('netlink', 'rv2-udp-later')
  const a = await lab.namespace('a')
  const b = await lab.namespace('b')
  await lab.veth([a, 'eth0', '10.0.0.1/24'], [b, 'eth0', '10.0.0.2/24'])
  const l = await b.listen(5353, { proto: 'udp' })
  await b.addrAdd('eth0', '10.0.0.3/24') // e.g. a service address brought up by the test after the listener
  const snmp = async () => {
    const [names, values] = (await b.exec(['cat', '/proc/net/snmp'], { check: true })).stdout.split('\n').filter((l) => l.startsWith('Udp:')).map((l) => l.split(/\s+/))
    return (k: string) => Number(values![names!.indexOf(k)])
  }
  const before = await snmp()
  const r = await reachable(a, 'udp://10.0.0.3:5353', { timeoutMs: 2000 })
  const after = await snmp()
  // The kernel of b: datagrams came in on 5353 and b sent as many answers (none was 'no port').
  expect(after('InDatagrams') - before('InDatagrams')).toBeGreaterThan(0)
  expect(after('OutDatagrams') - before('OutDatagrams')).toBeGreaterThan(0)
  expect(after('NoPorts') - before('NoPorts')).toBe(0)
  expect(r.verdict, r.detail).toBe('replied') // netspec: 'timed-out', "is the way back routed?"; the listener recorded 8 datagrams, local ""
})
