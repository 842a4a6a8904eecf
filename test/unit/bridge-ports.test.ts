// `bridge -j link` and `bridge -j fdb` parsed (outputs captured from this kernel), without root.
import { describe, expect, test } from 'vitest'
import { parseBridgeLinks, parseFdb } from '../../src/kernel/bridge-ports.js'

const LINKS = `[{"ifindex":6,"link":"q1","ifname":"p1","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"master":"br0","state":"forwarding","priority":32,"cost":2,"hairpin":false,"learning":true},{"ifindex":8,"link":"q2","ifname":"p2","flags":["NO-CARRIER","BROADCAST","MULTICAST","UP","M-DOWN"],"mtu":1500,"master":"br0","state":"disabled","priority":32,"cost":2}]`
const FDB = `[{"mac":"33:33:00:00:00:01","ifname":"br0","flags":["self"],"state":"permanent"},{"mac":"7e:e7:09:34:07:07","ifname":"p1","flags":[],"master":"br0","state":""},{"mac":"0a:d8:af:97:1d:1c","ifname":"p1","flags":[],"master":"br0","state":"permanent"},{"mac":"33:33:00:00:00:01","ifname":"p1","flags":["self"],"state":"permanent"},{"mac":"7e:e7:09:34:07:08","ifname":"p2","vlan":10,"flags":[],"master":"br0","state":""}]`

describe('bridge -j', () => {
  test('link: port, master, STP state, MTU, learning', () => {
    expect(parseBridgeLinks(LINKS)).toEqual([
      { name: 'p1', master: 'br0', state: 'forwarding', mtu: 1500, flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], priority: 32, cost: 2, learning: true },
      { name: 'p2', master: 'br0', state: 'disabled', mtu: 1500, flags: ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP', 'M-DOWN'], priority: 32, cost: 2 },
    ])
  })
  test('fdb: learned entries are those without a state word and without self', () => {
    const fdb = parseFdb(FDB)
    expect(fdb.filter((e) => e.learned).map((e) => [e.mac, e.port, e.vlan])).toEqual([
      ['7e:e7:09:34:07:07', 'p1', undefined],
      ['7e:e7:09:34:07:08', 'p2', 10],
    ])
    expect(fdb[0]).toEqual({ mac: '33:33:00:00:00:01', port: 'br0', state: 'permanent', flags: ['self'], learned: false })
    expect(parseFdb('')).toEqual([])
  })
})
