// Bridges as the kernel sees them: bridge.ports() against `bridge -j link` (state, MTU, where each veth leads,
// VLANs where the kernel has them) and bridge.fdb() against `bridge -j fdb` (what the bridge learned, per port).
import { describe, expect, test } from 'netspec/vitest'
import { kernelFeatureSkipReason, reachable, type Lab } from 'netspec'

const noFiltering = await kernelFeatureSkipReason('bridge-vlan-filtering')

/** The tutorial's bridge: host holds br0, netns2 and netns3 plug into it on br-veth2 and br-veth3. */
async function tutorial(lab: Lab, stp = false) {
  const host = await lab.namespace('host')
  const netns2 = await lab.namespace('netns2')
  const netns3 = await lab.namespace('netns3')
  const br0 = await lab.bridge(host, 'br0', { addresses: ['172.16.0.100/24'], stp })
  await br0.plug([netns2, 'veth2', '172.16.0.102/24'], { port: 'br-veth2' })
  await br0.plug([netns3, 'veth3', '172.16.0.103/24'], { port: 'br-veth3' })
  return { host, netns2, netns3, br0 }
}

async function raw(lab: Lab, ns: { exec: (a: string[], o: { check: true }) => Promise<{ stdout: string }> }, argv: string[]): Promise<Record<string, unknown>[]> {
  void lab
  return JSON.parse((await ns.exec(argv, { check: true })).stdout) as Record<string, unknown>[]
}

describe('bridge.ports()', () => {
  test('names, states and MTUs as bridge -j link gives them, with the namespace and name behind each port', async ({ lab }) => {
    const { host, br0 } = await tutorial(lab)
    const kernel = await raw(lab, host, ['bridge', '-j', 'link', 'show'])
    const ports = await br0.ports()
    expect(ports.map((p) => [p.name, p.state, p.mtu])).toEqual(kernel.map((k) => [k.ifname, k.state, k.mtu]))
    expect(ports.map((p) => [p.name, p.state, p.peer?.namespace, p.peer?.name, p.learning])).toEqual([
      ['br-veth2', 'forwarding', 'netns2', 'veth2', true],
      ['br-veth3', 'forwarding', 'netns3', 'veth3', true],
    ])
    await host.linkSet('br-veth3', { up: false })
    const after = await raw(lab, host, ['bridge', '-j', 'link', 'show'])
    expect(after.find((k) => k.ifname === 'br-veth3')?.state).toBe('disabled')
    expect((await br0.ports()).find((p) => p.name === 'br-veth3')?.state).toBe('disabled')
  })

  test('with spanning tree on, a new port is not forwarding yet: the state the kernel reports', async ({ lab }) => {
    const { host, br0 } = await tutorial(lab, true)
    const ports = await br0.ports()
    const kernel = await raw(lab, host, ['bridge', '-j', 'link', 'show'])
    expect(ports.map((p) => p.state)).toEqual(kernel.map((k) => k.state)) // forward delay is 15 s: no change between the reads
    expect(ports.every((p) => ['listening', 'learning', 'blocking'].includes(p.state)), JSON.stringify(ports.map((p) => p.state))).toBe(true)
  })

  test.skipIf(noFiltering !== undefined)(`VLANs on the ports of a VLAN-filtering bridge${noFiltering === undefined ? '' : ` (${noFiltering})`}`, async ({ lab }) => {
    const sw = await lab.namespace('sw')
    const red = await lab.namespace('red')
    const br = await lab.bridge(sw, 'br0', { vlanFiltering: true })
    await br.plug([red, 'eth0', '10.0.10.1/24'], { port: 'p-red', pvid: 10 })
    const p = (await br.ports()).find((x) => x.name === 'p-red')!
    expect(p.vlans).toContainEqual({ vid: 10, pvid: true, untagged: true })
  })
})

describe('bridge.fdb()', () => {
  test("after one ping, br0 has learned netns2's MAC on port br-veth2", async ({ lab }) => {
    const { host, netns2, br0 } = await tutorial(lab)
    expect((await reachable(netns2, '172.16.0.100')).verdict).toBe('replied')
    const mac = (await netns2.link('veth2'))!.mac
    // Ours first, the kernel's after: entries only appear meanwhile (netns3 may still send its first frames).
    const learned = await br0.fdb()
    const all = await br0.fdb({ all: true })
    const kernel = await raw(lab, host, ['bridge', '-j', 'fdb', 'show', 'br', 'br0'])
    const theirs = kernel.find((k) => k.mac === mac)
    expect(theirs, JSON.stringify(kernel)).toMatchObject({ ifname: 'br-veth2', master: 'br0', state: '' }) // learned: not permanent
    expect(learned.find((e) => e.mac === mac)).toMatchObject({ mac, port: 'br-veth2', learned: true, master: 'br0', peer: { namespace: 'netns2', name: 'veth2' } })
    // Learned only, by default: every entry is one the kernel lists without 'permanent' or 'self'.
    expect(learned.every((e) => kernel.some((k) => k.mac === e.mac && k.ifname === e.port && k.state === '' && !(k.flags as string[]).includes('self')))).toBe(true)
    // { all: true } is the kernel's whole list, the ports' own (permanent) MACs and the devices' 'self' entries included.
    const fixed = (xs: string[]) => xs.filter((x) => !x.endsWith(' ')).sort()
    expect(fixed(all.map((e) => `${e.mac} ${e.port} ${e.state}`))).toEqual(fixed(kernel.map((k) => `${k.mac} ${k.ifname} ${k.state as string}`)))
    expect(all.filter((e) => e.learned).every((e) => kernel.some((k) => k.mac === e.mac && k.ifname === e.port))).toBe(true)
    const portMac = (await host.link('br-veth2'))!.mac
    expect(all.find((e) => e.mac === portMac && e.port === 'br-veth2')).toMatchObject({ state: 'permanent', learned: false })
    await expect(br0.fdb({ every: true } as never)).rejects.toMatchObject({ kind: 'invalid-input' })
  })
})
