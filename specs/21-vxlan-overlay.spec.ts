/*
 * A VXLAN overlay between two "hypervisors", each with a VM behind a bridge.
 *
 *   ┌─ vm1 ───────────┐   ┌─ hv1 ─────────────────────┐          ┌─ hv2 ─────────────────────┐   ┌─ vm2 ───────────┐
 *   │ eth0            ├───┤ vm1 ── br0 ── vx42        │          │        vx42 ── br0 ── vm2 ├───┤ eth0            │
 *   │ 192.168.50.1/24 │   │               VNI 42      │          │        VNI 42             │   │ 192.168.50.2/24 │
 *   │ mtu 1450        │   │               udp 4789    │          │        udp 4789           │   │ mtu 1450        │
 *   └─────────────────┘   │               over eth0   │          │        over eth0          │   └─────────────────┘
 *                         │        eth0 10.0.0.1/24 ──┼── veth ──┼── eth0 10.0.0.2/24        │
 *                         └───────────────────────────┘ underlay └───────────────────────────┘
 *
 * The VMs share one layer-2 segment (192.168.50.0/24) although their hypervisors only share the underlay: each
 * frame travels inside a UDP packet to port 4789 with VNI 42 in its VXLAN header. That costs 50 bytes (outer IPv4 20,
 * UDP 8, VXLAN 8, the frame's own Ethernet header 14), so the overlay's MTU is 1500 − 50 = 1450, and a VM must be told so.
 * Needs the kernel's vxlan: where it is missing, every spec here skips naming it.
 */
import { describe, expect, test } from 'netspec/vitest'
import { explain, kernelFeatureSkipReason } from 'netspec'
import type { Namespace } from 'netspec'

const missing = await kernelFeatureSkipReason('vxlan')

describe('a VXLAN overlay between two hypervisors', () => {
  let hv1: Namespace, hv2: Namespace, vm1: Namespace

  test.beforeEach(async ({ lab, skip }) => {
    if (missing !== undefined) return skip(missing)
    hv1 = await lab.namespace('hv1')
    hv2 = await lab.namespace('hv2')
    vm1 = await lab.namespace('vm1')
    const vm2 = await lab.namespace('vm2')
    await lab.veth([hv1, 'eth0', '10.0.0.1/24'], [hv2, 'eth0', '10.0.0.2/24'])

    const br1 = await lab.bridge(hv1, 'br0')
    const br2 = await lab.bridge(hv2, 'br0')
    await lab.vxlan(hv1, 'vx42', { id: 42, remote: '10.0.0.2', local: '10.0.0.1', dstport: 4789, dev: 'eth0', master: br1 })
    await lab.vxlan(hv2, 'vx42', { id: 42, remote: '10.0.0.1', local: '10.0.0.2', dstport: 4789, dev: 'eth0', master: br2 })
    await br1.plug([vm1, 'eth0', '192.168.50.1/24', { mtu: 1450 }], { port: 'vm1' })
    await br2.plug([vm2, 'eth0', '192.168.50.2/24', { mtu: 1450 }], { port: 'vm2' })
  })

  test('the VMs reach each other across the overlay', async () => {
    await expect(vm1).toReach('192.168.50.2')
  })

  test('on the underlay, a capture sees UDP to 4789 with VNI 42, and the VMs\u2019 ICMP inside', async () => {
    const cap = await hv2.capture('eth0', { filter: 'udp port 4789' })
    await vm1.exec(['ping', '-c1', '-W2', '192.168.50.2'], { check: true })
    const packets = await cap.stop()

    const echo = packets.find((p) => p.vxlan?.inner.icmp?.kind === 'echo-request')
    expect(echo).toMatchObject({
      ip: { src: '10.0.0.1', dst: '10.0.0.2' },
      udp: { dstPort: 4789 },
      vxlan: { vni: 42, inner: { ip: { src: '192.168.50.1', dst: '192.168.50.2' }, icmp: { kind: 'echo-request', seq: 1 } } },
    })
    expect(packets.map((p) => p.summary)).toContain(`IPv4 10.0.0.2 > 10.0.0.1 UDP ${echo!.udp!.srcPort} > 4789 VXLAN 42: IPv4 192.168.50.2 > 192.168.50.1 ICMP echo-reply seq 1`)
  })

  test('the overlay\u2019s MTU is 1450: a full-size DF ping fits, one byte more fails in the VM itself', async () => {
    expect(await hv1.link('vx42')).toMatchObject({ mtu: 1450, tunnel: { id: 42, remote: '10.0.0.2', port: 4789, dev: 'eth0' } })

    // 1422 bytes of data + 8 ICMP + 20 IP = 1450.
    const fits = await vm1.exec(['ping', '-c1', '-W2', '-M', 'do', '-s', '1422', '192.168.50.2'])
    expect(fits.exitCode).toBe(0)
    const tooBig = await vm1.exec(['ping', '-c1', '-W2', '-M', 'do', '-s', '1423', '192.168.50.2'])
    expect(tooBig.exitCode).not.toBe(0)
    expect(tooBig.stdout + tooBig.stderr).toMatch(/message too long/)
  })

  test('a VM left at MTU 1500 loses full-size packets silently: the bridge cannot push them into the tunnel', async () => {
    await vm1.linkSet('eth0', { mtu: 1500 })

    const lost = await vm1.exec(['ping', '-c1', '-W1', '-M', 'do', '-s', '1472', '192.168.50.2'])
    expect(lost.exitCode).toBe(1) // no reply, and no error either: nothing tells the VM
    expect(lost.stdout + lost.stderr).not.toMatch(/message too long/)
    await expect(vm1).toReach('192.168.50.2') // small packets still pass
  })

  test('the diagram draws the overlay as an edge between the hypervisors', async ({ lab }) => {
    expect((await lab.diagram()).text).toContain('hv1:vx42 <══vxlan 42 udp 4789══> hv2:vx42')
  })
})

test('a VNI mismatch: explain says where the ARP went and what the far hypervisor has instead', async ({ lab, skip }) => {
  if (missing !== undefined) return skip(missing)
  const hv1 = await lab.namespace('hv1')
  const hv2 = await lab.namespace('hv2')
  await lab.veth([hv1, 'eth0', '10.0.0.1/24'], [hv2, 'eth0', '10.0.0.2/24'])
  await lab.vxlan(hv1, 'vx42', { id: 42, remote: '10.0.0.2', dstport: 4789, dev: 'eth0', addresses: ['192.168.50.1/24'] })
  await lab.vxlan(hv2, 'vx43', { id: 43, remote: '10.0.0.1', dstport: 4789, dev: 'eth0', addresses: ['192.168.50.2/24'] })

  await expect(hv1).not.toReach('192.168.50.2')
  const why = await explain(hv1, '192.168.50.2')
  expect(why.verdict).toBe('ARP left hv1 vx42 (VNI 42) for 192.168.50.2; hv2 has no VNI 42 (it has 43)')
})
