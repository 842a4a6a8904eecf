// lab.build(topology): the object form builds the same lab as the imperative verbs, and rejects bad input whole.
import { expect, test } from 'netspec/vitest'
import { isNetspecError, type Lab, type LabSnapshot, type Topology } from 'netspec'

const topology: Topology = {
  namespaces: { host: { forwarding: true }, netns2: {}, netns3: {}, external: {} },
  bridges: { br0: { in: 'host', addresses: ['172.16.0.100/24'] } },
  links: [
    [{ ns: 'host', name: 'br-veth2', bridge: 'br0' }, { ns: 'netns2', name: 'veth2', addresses: ['172.16.0.102/24'] }],
    [{ ns: 'host', name: 'br-veth3', bridge: 'br0' }, { ns: 'netns3', name: 'veth3', addresses: ['172.16.0.103/24'] }],
    [{ ns: 'host', name: 'uplink', addresses: ['10.0.1.48/24'] }, { ns: 'external', name: 'eth0', addresses: ['10.0.1.26/24'] }],
  ],
  routes: { netns2: [{ to: 'default', via: '172.16.0.100' }], external: [{ to: '172.16.0.0/24', via: '10.0.1.48' }] },
}

async function imperative(lab: Lab) {
  const host = await lab.namespace('host', { forwarding: true })
  const netns2 = await lab.namespace('netns2')
  const netns3 = await lab.namespace('netns3')
  const external = await lab.namespace('external')
  const br0 = await lab.bridge(host, 'br0', { addresses: ['172.16.0.100/24'] })
  await br0.plug([netns2, 'veth2', '172.16.0.102/24'], { port: 'br-veth2' })
  await br0.plug([netns3, 'veth3', '172.16.0.103/24'], { port: 'br-veth3' })
  await lab.veth([host, 'uplink', '10.0.1.48/24'], [external, 'eth0', '10.0.1.26/24'])
  await netns2.routeAdd('default', { via: '172.16.0.100' })
  await external.routeAdd('172.16.0.0/24', { via: '10.0.1.48' })
}

// What must be equal: per namespace, links (name, kind, master, peer), global addresses and main/other routes —
// not kernel names, MACs or ifindexes, which differ from lab to lab.
function shape(s: LabSnapshot) {
  return Object.fromEntries(
    s.namespaces.map((ns) => [
      ns.label,
      {
        links: ns.links.map((l) => `${l.name} ${l.kind ?? '-'} ${l.up ? 'up' : 'down'} ${l.master ?? '-'} ${l.peer?.namespace ?? '-'}/${l.peer?.name ?? '-'}`).sort(),
        addresses: ns.addresses.filter((a) => a.scope === 'global').map((a) => `${a.dev} ${a.cidr}`).sort(),
        routes: ns.routes.filter((r) => r.table !== 'local' && r.family === 4).map((r) => `${r.dst} ${r.via ?? '-'} ${r.dev ?? '-'}`).sort(),
      },
    ]),
  )
}

test('the object form and the imperative verbs build the same lab, read back from the kernel', async ({ lab }) => {
  const built = await lab.build(topology)
  const { Lab } = await import('netspec')
  await using other = await Lab.create({ label: 'imperative twin' })
  await imperative(other)

  expect(shape(await lab.snapshot())).toEqual(shape(await other.snapshot()))
  expect(Object.keys(built.namespaces).sort()).toEqual(['external', 'host', 'netns2', 'netns3'])
  await expect(built.namespaces.netns2!).toReach('10.0.1.26')
  await expect(built.namespaces.external!).toReach('172.16.0.102') // netns2 has a default route back via the host
})

test.each([
  [{ ...topology, links: [[{ ns: 'host', name: 'x', bridge: 'br9' }, { ns: 'netns2', name: 'y' }]] }, /bridge 'br9', which is not in `bridges`/],
  [{ ...topology, routes: { nowhere: [{ to: 'default', via: '10.0.0.1' }] } }, /names namespace 'nowhere', which is not in `namespaces`/],
  [{ ...topology, links: [[{ ns: 'netns2', name: 'p', bridge: 'br0' }, { ns: 'netns3', name: 'q' }]] }, /joins bridge 'br0', which lives in 'host'/],
  [{ ...topology, links: [[{ ns: 'host', name: 'a-very-long-name-x' }, { ns: 'netns2', name: 'q' }]] }, /IFNAMSIZ/],
  [{ ...topology, links: [[{ ns: 'host', name: 'a', addresses: ['10.0.0.1'] }, { ns: 'netns2', name: 'q' }]] }, /prefix length/],
  [{ ...topology, bridge: {} }, /unknown option 'bridge' for topology[\s\S]*did you mean 'bridges'/],
])('a bad topology is rejected whole, before anything is created (%#)', async (bad, message) => {
  const { Lab } = await import('netspec')
  await using lab = await Lab.create({ label: 'bad topology' })
  const err = await lab.build(bad as Topology).catch((e: unknown) => e)
  expect(isNetspecError(err, 'invalid-input')).toBe(true)
  expect((err as Error).message).toMatch(message)
  expect(lab.namespaces).toHaveLength(0)
  expect(lab.marker.namespaces).toHaveLength(0)
})
