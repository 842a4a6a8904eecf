import { describe, expect, test } from 'vitest'
import { renderGraph } from '../../src/cli/graph.js'
import {
  filterGraph,
  parseIfaces,
  parseNsids,
  resolveEdges,
  splitJsonValues,
  type GraphNamespace,
  type NetGraph,
} from '../../src/cli/graph-model.js'
import { drawnIfaces, renderGraphMermaid, renderGraphText } from '../../src/cli/graph-render.js'

// What `ip -j -d -batch -` prints for "addr show" + "netns list-id": two JSON arrays, one per line.
const lo = { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP'], addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }] }
const veth = (ifindex: number, ifname: string, peer: number, nsid?: number, extra: Record<string, unknown> = {}) => ({
  ifindex,
  ifname,
  link_index: peer,
  ...(nsid === undefined ? {} : { link_netnsid: nsid }),
  flags: ['BROADCAST', 'UP', 'LOWER_UP'],
  linkinfo: { info_kind: 'veth' },
  addr_info: [] as unknown[],
  ...extra,
})
const batch = (links: unknown[], ids: unknown[]) => `${JSON.stringify(links)}\n${JSON.stringify(ids)}\n`

function ns(key: string, kind: GraphNamespace['kind'], output: string, extra: Partial<GraphNamespace> = {}): GraphNamespace {
  const [links, ids] = splitJsonValues(output)
  return { key, title: key, kind, ...(kind === 'named' ? { netns: key } : {}), ifaces: parseIfaces(links), nsids: parseNsids(ids), ...extra }
}

const a = ns(
  'ns-1-1-a',
  'named',
  batch(
    [
      lo,
      veth(2, 'veth1', 2, 0, { addr_info: [{ family: 'inet', local: '10.0.12.1', prefixlen: 24, scope: 'global' }, { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' }] }),
      // both ends in one namespace: ip names the peer instead of giving link_index
      { ifindex: 3, ifname: 'b1', link: 'b2', flags: ['UP'], master: 'br0', linkinfo: { info_kind: 'veth' }, addr_info: [] },
      { ifindex: 4, ifname: 'b2', link: 'b1', flags: [], linkinfo: { info_kind: 'veth' }, addr_info: [] },
      { ifindex: 5, ifname: 'br0', flags: ['UP'], linkinfo: { info_kind: 'bridge' }, addr_info: [{ family: 'inet', local: '172.16.0.1', prefixlen: 24, scope: 'global' }] },
    ],
    [{ nsid: 0, name: 'ns-1-1-b' }],
  ),
  { lab: { label: 'two "quoted" hosts', labId: '1-1', nsLabel: 'a', state: 'live' } },
)
const b = ns('ns-1-1-b', 'named', batch([lo, veth(2, 'veth2', 2, 0)], [{ nsid: 0, name: 'ns-1-1-a' }]))
// Docker: the host's vethXYZ (ifindex 7) pairs with a container's eth0 (ifindex 2); neither namespace is named.
const host = ns('host', 'host', batch([lo, { ifindex: 2, ifname: 'eth0', flags: ['UP'], addr_info: [] }, { ifindex: 3, ifname: 'docker0', flags: ['UP'], linkinfo: { info_kind: 'bridge' }, addr_info: [] }, veth(7, 'veth9a1', 2, 3, { master: 'docker0' })], [{ nsid: 3 }]))
const web = ns('container:abc', 'container', batch([lo, veth(2, 'eth0', 7, 0, { addr_info: [{ family: 'inet', local: '172.17.0.2', prefixlen: 16, scope: 'global' }] })], [{ nsid: 0 }]), {
  title: 'container web',
  container: { id: 'abc0123456789', name: 'web', pid: 4242 },
})

describe('reading ip output', () => {
  test('splits the concatenated JSON arrays of a batch, brackets inside strings included', () => {
    expect(splitJsonValues('[{"a":"x]"}]\n[{"b":1}]\n')).toEqual([[{ a: 'x]' }], [{ b: 1 }]])
    expect(splitJsonValues('')).toEqual([])
  })

  test('interfaces carry kind, state, master, global addresses and the veth peer', () => {
    expect(a.ifaces.find((i) => i.name === 'veth1')).toEqual({ ifindex: 2, name: 'veth1', kind: 'veth', up: true, addresses: ['10.0.12.1/24'], peer: { ifindex: 2, nsid: 0 } })
    expect(a.ifaces.find((i) => i.name === 'b1')).toMatchObject({ master: 'br0', peer: { ifindex: 4 } })
    expect(a.ifaces.find((i) => i.name === 'lo')!.addresses).toEqual([])
    expect(a.nsids.get(0)).toBe('ns-1-1-b')
  })
})

describe('which namespace holds the other end', () => {
  const edges = resolveEdges([host, a, b, web])

  test('a peer in a named namespace is found through the nsid table', () => {
    expect(edges).toContainEqual({ a: { key: 'ns-1-1-a', iface: 'veth1' }, b: { key: 'ns-1-1-b', iface: 'veth2' } })
  })

  test('a peer in the same namespace', () => {
    expect(edges).toContainEqual({ a: { key: 'ns-1-1-a', iface: 'b1' }, b: { key: 'ns-1-1-a', iface: 'b2' } })
  })

  test("a peer in an unnamed namespace (Docker's) is found by mirrored ifindexes", () => {
    expect(edges).toContainEqual({ a: { key: 'host', iface: 'veth9a1' }, b: { key: 'container:abc', iface: 'eth0' } })
  })

  test('each pair is reported once', () => {
    expect(edges).toHaveLength(3)
  })

  test('a peer that cannot be seen is reported as unknown, not guessed', () => {
    const lonely = resolveEdges([host])
    expect(lonely).toEqual([{ a: { key: 'host', iface: 'veth9a1' }, b: { unknown: 'an unseen unnamed namespace (nsid 3), ifindex 2' } }])
    const gone = resolveEdges([a])
    expect(gone.find((e) => e.a.iface === 'veth1')!.b).toEqual({ unknown: 'namespace ns-1-1-b (not readable now), ifindex 2' })
  })

  test('mirrored ifindexes alone do not pair with a namespace whose nsid table names someone else', () => {
    const other = ns('ns-9-9-x', 'named', batch([lo, veth(2, 'vx', 7, 0)], [{ nsid: 0, name: 'ns-9-9-y' }]))
    const edges2 = resolveEdges([host, other])
    expect(edges2.find((e) => e.a.key === 'host')!.b).toHaveProperty('unknown')
  })
})

describe('drawing', () => {
  const graph: NetGraph = { namespaces: [host, a, b, web], edges: resolveEdges([host, a, b, web]), notes: [] }

  test('the host shows only its veths and their bridges', () => {
    expect(drawnIfaces(host).map((i) => i.name)).toEqual(['docker0', 'veth9a1'])
    expect(drawnIfaces(a).map((i) => i.name)).toEqual(['veth1', 'b1', 'b2', 'br0'])
  })

  test('text: each namespace with its interfaces and where each veth leads', () => {
    const text = renderGraphText(graph)
    expect(text).toContain('4 namespace(s), 3 veth pair(s)')
    expect(text).toContain(`ns-1-1-a   lab 'two "quoted" hosts' › a (live)`)
    expect(text).toContain('  veth1 (veth) UP 10.0.12.1/24  ⇄  ns-1-1-b:veth2')
    expect(text).toContain('  veth2 (veth) UP  ⇄  ns-1-1-a:veth1')
    expect(text).toContain('  veth9a1 (veth) UP master docker0  ⇄  container web:eth0')
    expect(text).toContain('container web   container web (abc012345678, pid 4242)')
    expect(text).toContain('veth pairs:\n  host:veth9a1 ⇄ container web:eth0')
  })

  test('mermaid: a subgraph per namespace, a link per veth pair, bridge ports dotted, quotes escaped', () => {
    const m = renderGraphMermaid(graph)
    expect(m.split('\n')[0]).toBe('flowchart LR')
    expect(m).toContain(`subgraph n1["ns-1-1-a<br/>lab 'two #quot;quoted#quot; hosts' › a (live)"]`)
    expect(m).toContain('n1_i2["veth1<br/>10.0.12.1/24"]')
    expect(m).toContain('n1_i2 --- n2_i2')
    expect(m).toContain('n0_i7 --- n3_i2')
    expect(m).toContain('n1_i3 -.- n1_i5')
    expect(m.match(/^ {2}subgraph /gm)).toHaveLength(4)
    expect(m.match(/^ {2}end$/gm)).toHaveLength(4)
    expect(renderGraph(graph, 'mermaid')).toMatch(/^```mermaid\nflowchart LR[\s\S]*\n```$/)
  })

  test('an unknown peer is drawn as a dotted question mark', () => {
    const m = renderGraphMermaid({ namespaces: [host], edges: resolveEdges([host]), notes: [] })
    expect(m).toContain('unknown1(["? an unseen unnamed namespace (nsid 3), ifindex 2"])')
    expect(m).toContain('n0_i7 -.- unknown1')
  })

  test('json keeps the nsid tables as objects', () => {
    const j = JSON.parse(renderGraph(graph, 'json')) as { namespaces: { nsids: Record<string, string> }[] }
    expect(j.namespaces[1]!.nsids).toEqual({ 0: 'ns-1-1-b' })
  })

  test('--match keeps matching namespaces and their peers', () => {
    const f = filterGraph(graph, 'ns-1-1-b')
    expect(f.namespaces.map((n) => n.key)).toEqual(['ns-1-1-a', 'ns-1-1-b'])
    expect(f.edges).toHaveLength(1)
    expect(filterGraph(graph, 'nothing-like-this').namespaces).toEqual([])
  })
})
