// VXLAN against the real kernel: lab.vxlan() creates each end inside its namespace on both kernel paths, reads
// it back from `ip -j -d link`, carries VMs' frames (seen on the underlay by a capture, VNI and inner ICMP
// decoded), draws the overlay, lists it in diagnostics, builds from a topology, and explain() names a VNI
// mismatch. Where the kernel lacks vxlan, everything here skips naming it.
//
//   ┌─ vm1 ──────────┐   ┌─ hv1 ─────────────────────────┐           ┌─ hv2 ─────────────────────────┐   ┌─ vm2 ──────────┐
//   │ eth0 .50.1/24  ├───┤ br0 ── vx42 (VNI 42) ─ eth0 ───┼── veth ───┼─ eth0 ── vx42 (VNI 42) ── br0 ├───┤ eth0 .50.2/24  │
//   └────────────────┘   │              10.0.0.1/24       │           │      10.0.0.2/24               │   └────────────────┘
//                        └────────────────────────────────┘           └────────────────────────────────┘
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'netspec/vitest'
import { Lab, explain, isNetspecError, kernelFeatureSkipReason, parsePcap, validateTopology } from 'netspec'
import type { Namespace, NetspecError, Topology } from 'netspec'
import { attachDiagnostics } from '../../src/vitest/diagnostics.js'
import { labOnPath } from '../fixtures/lab-path.js'

const noVxlan = await kernelFeatureSkipReason('vxlan')

async function underlay(lab: Lab): Promise<{ hv1: Namespace; hv2: Namespace }> {
  const [hv1, hv2] = await Promise.all([lab.namespace('hv1'), lab.namespace('hv2')])
  await lab.veth([hv1, 'eth0', '10.0.0.1/24'], [hv2, 'eth0', '10.0.0.2/24'])
  return { hv1, hv2 }
}

/** Two hypervisors, a bridge each with the VXLAN end and one VM plugged in. */
async function overlay(lab: Lab, options: { mtu?: number; dstport?: number; farVni?: number } = {}) {
  const { hv1, hv2 } = await underlay(lab)
  const [vm1, vm2] = await Promise.all([lab.namespace('vm1'), lab.namespace('vm2')])
  const [br1, br2] = await Promise.all([lab.bridge(hv1, 'br0'), lab.bridge(hv2, 'br0')])
  const dstport = options.dstport ?? 4789
  const mtu = options.mtu === undefined ? {} : { mtu: options.mtu }
  await Promise.all([
    lab.vxlan(hv1, 'vx42', { id: 42, remote: '10.0.0.2', local: '10.0.0.1', dstport, dev: 'eth0', master: br1, ...mtu }),
    lab.vxlan(hv2, `vx${options.farVni ?? 42}`, { id: options.farVni ?? 42, remote: '10.0.0.1', local: '10.0.0.2', dstport, dev: 'eth0', master: br2, ...mtu }),
  ])
  const vmMtu = { mtu: options.mtu ?? 1450 }
  await br1.plug([vm1, 'eth0', '192.168.50.1/24', vmMtu], { port: 'vm1' })
  await br2.plug([vm2, 'eth0', '192.168.50.2/24', vmMtu], { port: 'vm2' })
  return { hv1, hv2, vm1, vm2, br1, br2 }
}

const labOn = (path: 'netlink' | 'ip'): Promise<Lab> => labOnPath(path, `vxlan path ${path}`)

async function rejection(p: Promise<unknown>): Promise<NetspecError> {
  const e = await p.then(
    () => expect.unreachable('expected a rejection'),
    (err: unknown) => err,
  )
  expect(isNetspecError(e), String(e)).toBe(true)
  return e as NetspecError
}

describe.skipIf(noVxlan !== undefined)('lab.vxlan', () => {
  test('each end is made inside its namespace and read back with VNI, remote, local, port and underlay', async ({ lab }) => {
    const { hv1, hv2 } = await underlay(lab)
    const made = await lab.vxlan(hv1, 'vx42', { id: 42, remote: '10.0.0.2', local: '10.0.0.1', dstport: 4789, dev: 'eth0', addresses: ['192.168.50.1/24'] })
    expect(made).toMatchObject({ ns: hv1, name: 'vx42', type: 'vxlan', id: 42, remote: '10.0.0.2', local: '10.0.0.1', dstport: 4789, dev: 'eth0' })

    const link = await hv1.link('vx42')
    expect(link).toMatchObject({ kind: 'vxlan', up: true, mtu: 1450 })
    expect(link?.tunnel).toEqual({ type: 'vxlan', id: 42, remote: '10.0.0.2', local: '10.0.0.1', port: 4789, dev: 'eth0' })
    expect((await hv1.addresses()).filter((a) => a.dev === 'vx42' && a.family === 4).map((a) => a.cidr)).toEqual(['192.168.50.1/24'])
    // Nothing in hv2 and nothing in the machine's root namespace.
    expect((await hv2.links()).some((l) => l.kind === 'vxlan')).toBe(false)
    const root = JSON.parse(execFileSync('ip', ['-j', '-d', 'link', 'show', 'type', 'vxlan'], { encoding: 'utf8' }) || '[]') as { linkinfo?: { info_data?: { remote?: string } } }[]
    expect(root.filter((l) => l.linkinfo?.info_data?.remote === '10.0.0.2')).toEqual([])
  })

  test('an IPv6 underlay, a multicast group and an explicit MTU read back as given', async ({ lab }) => {
    const [a, b] = await Promise.all([lab.namespace('a'), lab.namespace('b')])
    await lab.veth([a, 'eth0', 'fd00:10::1/64'], [b, 'eth0', 'fd00:10::2/64'])
    await lab.vxlan(a, 'vx6', { id: 16_777_215, remote: 'fd00:10::2', local: 'fd00:10::1', dstport: 8472, dev: 'eth0' })
    await expect(lab.vxlan(a, 'vx6b', { id: 7, remote: 'fd00:10::2', dstport: 8472, dev: 'eth0', mtu: 1431 })).rejects.toMatchObject({ hint: expect.stringMatching(/^at most 1430/) })
    await lab.vxlan(a, 'vxm', { id: 0, group: '239.1.1.1', dstport: 4789, dev: 'eth0', mtu: 1400 })
    const links = await a.links()
    // IPv6 costs 70 bytes (40 for the outer header): the kernel's own default on a 1500 underlay is 1430.
    expect(links.find((l) => l.name === 'vx6')).toMatchObject({ mtu: 1430, tunnel: { type: 'vxlan', id: 16_777_215, remote: 'fd00:10::2', local: 'fd00:10::1', port: 8472, dev: 'eth0' } })
    expect(links.find((l) => l.name === 'vxm')).toMatchObject({ mtu: 1400, tunnel: { id: 0, group: '239.1.1.1', port: 4789, dev: 'eth0' } })
    expect(links.some((l) => l.name === 'vx6b')).toBe(false)

    // The far end, and a ping over the IPv6 underlay: the capture decodes VXLAN inside IPv6 on Linux's port 8472.
    await lab.vxlan(b, 'vx6', { id: 16_777_215, remote: 'fd00:10::1', local: 'fd00:10::2', dstport: 8472, dev: 'eth0' })
    await Promise.all([a.addrAdd('vx6', '192.168.60.1/24'), b.addrAdd('vx6', '192.168.60.2/24')])
    const cap = await b.capture('eth0', { filter: 'udp port 8472' })
    await a.exec(['ping', '-c1', '-W2', '192.168.60.2'], { check: true })
    const echo = (await cap.stop()).find((p) => p.vxlan?.inner.icmp?.kind === 'echo-request')
    expect(echo).toMatchObject({ ip: { version: 6, src: 'fd00:10::1', dst: 'fd00:10::2' }, vxlan: { vni: 16_777_215, inner: { ip: { dst: '192.168.60.2' } } } })
  })

  test('both kernel paths build the same overlay (vxlan lines go to ip whole; the rest as before)', async () => {
    await using viaIp = await labOn('ip')
    await using inProcess = await labOn('netlink')
    expect(viaIp.netlink).toBeUndefined()
    expect(inProcess.netlink).toBeDefined()
    const read = async (lab: Lab) => {
      const snap = await lab.snapshot()
      return snap.namespaces
        .map((ns) => ({
          label: ns.label,
          links: ns.links.map((l) => ({ name: l.name, kind: l.kind, up: l.up, mtu: l.mtu, master: l.master, tunnel: l.tunnel })).sort((x, y) => x.name.localeCompare(y.name)),
          addresses: ns.addresses.filter((x) => x.scope !== 'link').map((x) => `${x.dev} ${x.cidr}`).sort(),
        }))
        .sort((x, y) => x.label.localeCompare(y.label))
    }
    const state = async (lab: Lab) => {
      await overlay(lab, { mtu: 1400 })
      return read(lab)
    }
    const want = await state(viaIp)
    expect(want.find((n) => n.label === 'hv1')!.links.find((l) => l.name === 'vx42')).toEqual({
      name: 'vx42', kind: 'vxlan', up: true, mtu: 1400, master: 'br0', tunnel: { type: 'vxlan', id: 42, remote: '10.0.0.2', local: '10.0.0.1', port: 4789, dev: 'eth0' },
    })
    expect(await state(inProcess)).toEqual(want)
    const [vm1ip, vm1nl] = [viaIp, inProcess].map((l) => l.namespaces.find((n) => n.label === 'vm1')!)
    await expect(vm1ip!).toReach('192.168.50.2')
    await expect(vm1nl!).toReach('192.168.50.2')
  })

  test('VMs meet over the overlay; a capture on the underlay shows the VNI and the inner ICMP; 1450 is the MTU', async ({ lab }) => {
    const { hv2, vm1 } = await overlay(lab)
    const cap = await hv2.capture('eth0', { filter: 'udp port 4789' })
    await vm1.exec(['ping', '-c1', '-W2', '192.168.50.2'], { check: true })
    const packets = await cap.stop()

    const echo = packets.find((p) => p.vxlan?.inner.icmp?.kind === 'echo-request')
    expect(echo).toMatchObject({
      ip: { src: '10.0.0.1', dst: '10.0.0.2', protocol: 17 },
      udp: { dstPort: 4789 },
      vxlan: { vni: 42, flags: 0x08, inner: { ip: { src: '192.168.50.1', dst: '192.168.50.2' }, icmp: { kind: 'echo-request', seq: 1 } } },
    })
    expect(echo!.summary).toBe('IPv4 10.0.0.1 > 10.0.0.2 UDP ' + echo!.udp!.srcPort + ' > 4789 VXLAN 42: IPv4 192.168.50.1 > 192.168.50.2 ICMP echo-request seq 1')
    expect(packets.some((p) => p.vxlan?.inner.icmp?.kind === 'echo-reply' && p.ip?.src === '10.0.0.2')).toBe(true)
    // The inner frame's length is what the VM sent: 14 Ethernet + 20 IP + 64 ICMP.
    expect(echo!.vxlan!.inner.length).toBe(98)

    // 1422 bytes of ICMP data + 8 ICMP + 20 IP = 1450: passes with DF; one more does not leave vm1.
    const fits = await vm1.exec(['ping', '-c1', '-W2', '-M', 'do', '-s', '1422', '192.168.50.2'])
    expect(fits.exitCode, fits.stdout + fits.stderr).toBe(0)
    const big = await vm1.exec(['ping', '-c1', '-W2', '-M', 'do', '-s', '1423', '192.168.50.2'])
    expect(big.exitCode).not.toBe(0)
    expect(big.stdout + big.stderr).toMatch(/message too long/i)
  })

  test('a tunnel on its own port is decoded because the lab made it; the bare decoder stops at UDP', async ({ lab }) => {
    const { hv1, vm1 } = await overlay(lab, { dstport: 4800 })
    const cap = await hv1.capture('eth0', { filter: 'udp port 4800' })
    await vm1.exec(['ping', '-c1', '-W2', '192.168.50.2'], { check: true })
    const packets = await cap.stop()
    expect(packets.find((p) => p.vxlan?.inner.icmp?.kind === 'echo-reply')).toMatchObject({ udp: { dstPort: 4800 }, vxlan: { vni: 42 } })
    const bare = parsePcap(readFileSync(cap.file))
    expect(bare.length).toBe(packets.length)
    expect(bare.every((p) => p.vxlan === undefined && p.udp?.dstPort === 4800)).toBe(true)
    expect(parsePcap(readFileSync(cap.file), { vxlanPorts: [4800] }).map((p) => p.summary)).toEqual(packets.map((p) => p.summary))
  })

  test('checked before anything is created: every refusal names what to do, and nothing is made', async ({ lab }) => {
    const { hv1 } = await underlay(lab)
    const ok = { id: 42, remote: '10.0.0.2', dstport: 4789, dev: 'eth0' }
    const e = await rejection(lab.vxlan(hv1, 'vx42', { ...ok, dev: 'eth9' }))
    expect(e).toMatchObject({ kind: 'invalid-input', shortMessage: "lab.vxlan: no interface 'eth9' in namespace 'hv1' to carry VNI 42" })
    expect(e.hint).toMatch(/hv1 has: .*eth0/)
    await expect(lab.vxlan(hv1, 'vx42', { ...ok, id: 16_777_216 })).rejects.toMatchObject({ message: expect.stringMatching(/from 0 to 16777215, got 16777216/) })
    await expect(lab.vxlan(hv1, 'vx42', { ...ok, dstport: undefined as never })).rejects.toMatchObject({ hint: expect.stringMatching(/4789 is IANA's/) })
    await expect(lab.vxlan(hv1, 'vx42', { ...ok, local: 'fd00::1' })).rejects.toMatchObject({ message: expect.stringMatching(/IPv6 but 'remote' 10\.0\.0\.2 is IPv4/) })
    await expect(lab.vxlan(hv1, 'vx42', { ...ok, group: '239.1.1.1' })).rejects.toMatchObject({ message: expect.stringMatching(/exactly one of 'remote'/) })
    await expect(lab.vxlan(hv1, 'vx42', { ...ok, remote: '239.1.1.1' })).rejects.toMatchObject({ hint: "give it as { group: '239.1.1.1' }" })
    await expect(lab.vxlan(hv1, 'vx42', { ...ok, local: '10.0.0.9' })).rejects.toMatchObject({ message: expect.stringMatching(/'local' 10\.0\.0\.9 is not an address of hv1/), hint: 'hv1 has: 10.0.0.1' })
    await expect(lab.vxlan(hv1, 'vx42', { ...ok, mtu: 1451 })).rejects.toMatchObject({ message: expect.stringMatching(/MTU 1451 does not fit in eth0's 1500/), hint: expect.stringMatching(/at most 1450/) })
    await expect(lab.vxlan(hv1, 'vx#1', ok)).rejects.toMatchObject({ kind: 'invalid-input', message: expect.stringMatching(/would be syntax to ip or nft/) })
    await expect(lab.vxlan(hv1, 'vx42', { ...ok, vni: 42 } as never)).rejects.toMatchObject({ shortMessage: "unknown option 'vni' for vxlan" })
    expect((await hv1.links()).map((l) => l.name).sort()).toEqual(['eth0', 'lo'])

    await lab.vxlan(hv1, 'vx42', ok)
    const twin = await rejection(lab.vxlan(hv1, 'vx42b', ok))
    expect(twin.shortMessage).toBe('hv1 already has VNI 42 on UDP port 4789 (vx42): the kernel allows one per namespace and port')
    await expect(lab.vxlan(hv1, 'vx42', { ...ok, id: 7 })).rejects.toMatchObject({ shortMessage: "interface 'vx42' already exists in namespace 'hv1'" })
    expect((await hv1.links()).map((l) => l.name).sort()).toEqual(['eth0', 'lo', 'vx42'])
    // Deleted, its VNI is free again; asked twice at once, the second is refused by the lab, not by the kernel.
    await hv1.linkDel('vx42')
    const both = await Promise.allSettled([lab.vxlan(hv1, 'vx42b', ok), lab.vxlan(hv1, 'vx42c', ok)])
    expect(both[0].status).toBe('fulfilled')
    expect(both[1]).toMatchObject({ status: 'rejected', reason: { kind: 'invalid-input', shortMessage: expect.stringMatching(/^hv1 already has VNI 42 on UDP port 4789 \(vx42b\)/) } })
  })

  test('both ends are one layer-2 segment: an address used on both sides is refused before the kernel is asked', async ({ lab }) => {
    const { br2 } = await overlay(lab)
    const vm3 = await lab.namespace('vm3')
    const e = await rejection(br2.plug([vm3, 'eth0', '192.168.50.1/24'], { port: 'vm3' }))
    expect(e.shortMessage).toBe('address 192.168.50.1 is used twice on one layer-2 segment: by vm1/eth0 and vm3/eth0')
    expect((await vm3.links()).map((l) => l.name)).toEqual(['lo'])
    await br2.plug([vm3, 'eth0', '192.168.50.3/24'], { port: 'vm3' })
    await expect(vm3).toReach('192.168.50.1')
  })

  test('drawn as an edge between the two ends\u2019 namespaces, and listed in the diagnostics', async ({ lab }) => {
    await overlay(lab)
    const d = await lab.diagram()
    expect(d.text).toContain('    vx42 (vxlan 42 udp 4789 over eth0 → 10.0.0.2, port of br0)')
    expect(d.text).toContain('  overlays\n    hv1:vx42 <══vxlan 42 udp 4789══> hv2:vx42\n')
    expect(d.mermaid).toContain('  hv1__vx42 -.-|"vxlan 42"| hv2__vx42')

    const task = { name: `vxlan-diag-${process.pid}`, fullName: `vxlan diagnostics ${process.pid}`, meta: {} } as never as Parameters<typeof attachDiagnostics>[0]
    await attachDiagnostics(task, lab)
    expect(task.meta.netspec!.diagnostics).toContain('── overlays\n   hv1:vx42 <══vxlan 42 udp 4789══> hv2:vx42')
  })

  test('explain crosses a working overlay and names its VNI, remote and underlay', async ({ lab }) => {
    const { hv1, hv2 } = await underlay(lab)
    await lab.vxlan(hv1, 'vx42', { id: 42, remote: '10.0.0.2', local: '10.0.0.1', dstport: 4789, dev: 'eth0', addresses: ['192.168.50.1/24'] })
    await lab.vxlan(hv2, 'vx42', { id: 42, remote: '10.0.0.1', local: '10.0.0.2', dstport: 4789, dev: 'eth0', addresses: ['192.168.50.2/24'] })
    const x = await explain(hv1, '192.168.50.2')
    expect(x.arrived).toBe(true)
    expect(x.verdict).toBe('arrives at hv2')
    expect(x.hops[0]).toMatchObject({ namespace: 'hv1', note: 'out vx42 (directly connected), through vx42: vxlan VNI 42 to 10.0.0.2 udp 4789 over eth0', tunnel: { id: 42, remote: '10.0.0.2', port: 4789, dev: 'eth0' } })
    expect(x.probe?.answered).toBe(true)
  })

  test('a VNI mismatch: explain says ARP left hv1 vx42 for the address and that hv2 has another VNI', async ({ lab }) => {
    const { hv1, hv2 } = await underlay(lab)
    await lab.vxlan(hv1, 'vx42', { id: 42, remote: '10.0.0.2', local: '10.0.0.1', dstport: 4789, dev: 'eth0', addresses: ['192.168.50.1/24'] })
    await lab.vxlan(hv2, 'vx43', { id: 43, remote: '10.0.0.1', local: '10.0.0.2', dstport: 4789, dev: 'eth0', addresses: ['192.168.50.2/24'] })
    await expect(hv1).not.toReach('192.168.50.2')

    const x = await explain(hv1, '192.168.50.2')
    expect(x.arrived).toBe(false)
    expect(x.verdict).toBe('ARP left hv1 vx42 (VNI 42) for 192.168.50.2; hv2 has no VNI 42 (it has 43)')
    expect(x.hops[0]!.neighbor).toMatchObject({ address: '192.168.50.2', dev: 'vx42' })
    expect((await lab.diagram()).text).toContain('hv1:vx42 ══vxlan 42 udp 4789══> 10.0.0.2: no far end (hv2 has no VNI 42 (it has 43))')
  })

  test('a VM behind the bridge: explain follows its veth to the hypervisor\u2019s bridge and names the tunnel there', async ({ lab }) => {
    const { vm1 } = await overlay(lab, { farVni: 43 })
    const x = await explain(vm1, '192.168.50.2')
    expect(x.verdict).toBe('ARP left vm1 eth0 through hv1 vx42 (VNI 42) for 192.168.50.2; hv2 has no VNI 42 (it has 43)')
    expect(x.hops[0]).toMatchObject({ namespace: 'vm1', tunnel: { namespace: 'hv1', name: 'vx42', id: 42 } })
    expect(x.hops[0]!.note).toMatch(/^out eth0 \(directly connected\), through hv1 vx42: vxlan VNI 42 to 10\.0\.0\.2 udp 4789 over eth0/)
    // A failing toReach carries the same walk.
    const failure = await expect(vm1).toReach('192.168.50.2').then(() => '', (e: unknown) => String(e))
    expect(failure).toContain('→ ARP left vm1 eth0 through hv1 vx42 (VNI 42) for 192.168.50.2; hv2 has no VNI 42 (it has 43)')
  })

  test('lab.build(topology) makes the same overlay from one description, validated first', async ({ lab }) => {
    const end = (hv: string, local: string, remote: string) =>
      ({ type: 'vxlan', ns: hv, name: 'vx42', id: 42, local, remote, dstport: 4789, dev: 'eth0', bridge: `br-${hv}` }) as const
    const topology: Topology = {
      namespaces: { hv1: {}, hv2: {}, vm1: {}, vm2: {} },
      bridges: { 'br-hv1': { in: 'hv1' }, 'br-hv2': { in: 'hv2' } },
      links: [
        [{ ns: 'hv1', name: 'eth0', addresses: ['10.0.0.1/24'] }, { ns: 'hv2', name: 'eth0', addresses: ['10.0.0.2/24'] }],
        [{ ns: 'hv1', name: 'vm1', bridge: 'br-hv1' }, { ns: 'vm1', name: 'eth0', addresses: ['192.168.50.1/24'], mtu: 1450 }],
        [{ ns: 'hv2', name: 'vm2', bridge: 'br-hv2' }, { ns: 'vm2', name: 'eth0', addresses: ['192.168.50.2/24'], mtu: 1450 }],
      ],
      tunnels: [end('hv1', '10.0.0.1', '10.0.0.2'), end('hv2', '10.0.0.2', '10.0.0.1')],
    }
    expect(() => validateTopology({ ...topology, tunnels: [{ ...end('hv1', '10.0.0.1', '10.0.0.2'), type: 'gre' as never }] })).toThrow(/tunnels\[0\] has type "gre"/)
    expect(() => validateTopology({ ...topology, tunnels: [{ ...end('hv1', '10.0.0.1', '10.0.0.2'), bridge: 'br-hv2' }] })).toThrow(/joins bridge 'br-hv2', which lives in 'hv2'/)
    expect(() => validateTopology({ ...topology, tunnels: [{ ...end('hv9', '10.0.0.1', '10.0.0.2') }] })).toThrow(/names namespace 'hv9'/)
    expect(() => validateTopology({ ...topology, tunnels: [{ ...end('hv1', '10.0.0.1', '10.0.0.2'), id: -1 }] })).toThrow(/VNI/)

    const built = await lab.build(topology)
    expect(built.tunnels.map((t) => `${t.ns.label}/${t.name} ${t.id}`)).toEqual(['hv1/vx42 42', 'hv2/vx42 42'])
    expect(await built.namespaces.hv1!.link('vx42')).toMatchObject({ master: 'br-hv1', tunnel: { id: 42, remote: '10.0.0.2', dev: 'eth0' } })
    await expect(built.namespaces.vm1!).toReach('192.168.50.2')
  })
})
