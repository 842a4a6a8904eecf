// The plain-text state a failed test leaves for its reader, rendered from recorded `ip -j` output.
import { readFileSync } from 'node:fs'
import { expect, test } from 'vitest'
import { parseAddresses, parseLinks, parseNeighbors, parseRoutes } from '../../src/kernel/ip.js'
import { formatNamespace, formatSnapshot } from '../../src/lab/format.js'

const fixture = (name: string) => readFileSync(new URL(`../fixtures/ip/${name}`, import.meta.url), 'utf8')

const ns2 = () => {
  const links = parseLinks(fixture('links-ns2.json'))
  links[1]!.peer = { ...links[1]!.peer!, netns: 'rec2-host', namespace: 'host', name: 'br0p1' }
  return {
    label: 'ns2',
    name: 'rec2-ns2',
    links,
    addresses: parseAddresses(fixture('addresses-ns2.json')),
    routes: [...parseRoutes(fixture('routes4-ns2.json'), 4), ...parseRoutes(fixture('routes6-ns2.json'), 6)],
    neighbors: parseNeighbors(fixture('neighbors-ns2.json')),
  }
}

test('a namespace: links with addresses and the other end of each veth, routes outside the local table, neighbours', () => {
  expect(formatNamespace(ns2())).toBe(
    [
      '── ns2 (ip netns exec rec2-ns2 …)',
      '   links:',
      '     1: lo UP/UNKNOWN mtu 65536 00:00:00:00:00:00  127.0.0.1/8 ::1/128',
      '     2: eth0 (veth) UP/UP mtu 1400 ee:ee:ee:ee:ee:ee ⇄ host/br0p1  172.16.0.102/24 fd00:12::2/64',
      '   routes:',
      '     10.9.0.0/16 via 172.16.0.100 dev eth0 metric 50 table 100',
      '     default via 172.16.0.100 dev eth0',
      '     172.16.0.0/24 dev eth0 src 172.16.0.102',
      '     fd00:12::/64 dev eth0 metric 256',
      '     fd00:99::/64 via fd00:12::1 dev eth0 metric 7',
      '   neighbours:',
      '     172.16.0.100 dev eth0 lladdr 3e:f4:d9:fb:31:25 REACHABLE',
      '     fd00:12::1 dev eth0 lladdr 3e:f4:d9:fb:31:25 REACHABLE',
    ].join('\n'),
  )
})

test('a peer whose name is unknown is shown by its index', () => {
  const ns = ns2()
  ns.links[1]!.peer = { index: 3, netnsId: 0 }
  expect(formatNamespace(ns)).toContain('⇄ ?/#3')
})

test('a snapshot starts with the lab and the time it was taken', () => {
  const text = formatSnapshot({ lab: 'two hosts', takenAt: '2026-01-01T00:00:00.000Z', namespaces: [ns2()] })
  expect(text.split('\n')[0]).toBe("lab 'two hosts' at 2026-01-01T00:00:00.000Z")
  expect(text).toContain('── ns2 (ip netns exec rec2-ns2 …)')
})
