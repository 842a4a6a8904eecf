// diagram() over a plain snapshot: each veth pair drawn once, bridge ports attached, link-local addresses left out.
import { expect, test } from 'vitest'
import { cables, diagram } from '../../src/topology/diagram.js'
import type { LabSnapshot } from '../../src/lab/types.js'

const link = (name: string, extra: object = {}) => ({ index: 1, name, up: true, operState: 'UP', flags: [], mtu: 1500, mac: '', ...extra })
const addr = (dev: string, cidr: string, scope = 'global') => {
  const [address, len] = cidr.split('/')
  return { dev, family: 4 as const, address: address!, prefixLength: Number(len), cidr, scope, flags: [] }
}
const snap: LabSnapshot = {
  lab: 'demo',
  takenAt: '',
  namespaces: [
    { label: 'a', name: 'ns-1-1-a', links: [link('lo'), link('eth0', { kind: 'veth', peer: { index: 2, namespace: 'b', name: 'eth0' } })], addresses: [addr('eth0', '10.0.0.1/24'), addr('eth0', 'fe80::1/64', 'link')], routes: [], neighbors: [] },
    { label: 'b', name: 'ns-1-1-b', links: [link('br0', { kind: 'bridge' }), link('eth0', { kind: 'veth', master: 'br0', peer: { index: 1, namespace: 'a', name: 'eth0' } }), link('x', { kind: 'veth', up: false, peer: { index: 9, netns: 'elsewhere', name: 'y' } })], addresses: [], routes: [], neighbors: [] },
  ],
}

test('each veth pair once; a far end outside the lab is labelled by its kernel name', () => {
  expect(cables(snap)).toEqual([
    { a: { ns: 'a', dev: 'eth0' }, b: { ns: 'b', dev: 'eth0' } },
    { a: { ns: 'b', dev: 'x' }, b: { ns: 'elsewhere', dev: 'y' } },
  ])
})

test('text and mermaid drawings', () => {
  const d = diagram(snap)
  expect(d.text).toBe(
    ['lab demo', '  a (ns-1-1-a)', '    eth0 10.0.0.1/24 (veth)', '  b (ns-1-1-b)', '    br0 (bridge)', '    eth0 (veth, port of br0)', '    x (veth, DOWN)', '  links',
      '    a:eth0 <──veth──> b:eth0', '    b:x <──veth──> elsewhere:y (outside the lab)', ''].join('\n'),
  )
  expect(d.mermaid).toContain('b__eth0 --- b__br0')
  expect(d.mermaid).toContain('a__eth0 <--> b__eth0')
  expect(d.mermaid).toContain('b__br0[["br0"]]')
})
