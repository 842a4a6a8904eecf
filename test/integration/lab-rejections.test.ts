// Every input the lab refuses is refused before the kernel is touched: the error says why, and
// nothing of the refused object exists afterwards (nor anything of the lab after its teardown).
import { afterEach, describe, expect, test } from 'vitest'
import { Lab, isNetspecError, type Namespace } from 'netspec'
import { kernelName } from '../../src/lab/owner.js'
import { ifnames, labIsGone, netnsNames } from '../fixtures/kernel.js'

const labs: Lab[] = []
async function newLab(label: string): Promise<Lab> {
  const lab = await Lab.create({ label })
  labs.push(lab)
  return lab
}

afterEach(async () => {
  for (const lab of labs.splice(0)) {
    await lab.destroy()
    expect(labIsGone(lab)).toEqual([])
  }
})

/** Awaits a promise that must reject with a NetspecError of this kind; returns the error. */
async function refused(p: Promise<unknown>, kind = 'invalid-input'): Promise<Error & { hint?: string }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(isNetspecError(e, kind as never), `expected a NetspecError '${kind}', got ${String(e)}`).toBe(true)
  return e as Error
}

async function twoHosts(lab: Lab): Promise<[Namespace, Namespace]> {
  return [await lab.namespace('ns1'), await lab.namespace('ns2')]
}

describe('refused before anything is created', () => {
  test('an interface name over 15 bytes (IFNAMSIZ)', async () => {
    const lab = await newLab('ifnamsiz')
    const [ns1, ns2] = await twoHosts(lab)

    const e = await refused(lab.veth([ns1, 'veth-sixteen-chr', '10.0.12.1/24'], [ns2, 'veth2', '10.0.12.2/24']))

    expect(e.message).toContain("interface name 'veth-sixteen-chr' is 16 bytes; Linux allows at most 15 (IFNAMSIZ)")
    expect(e.message).toContain(`namespace: ns1 (kernel name ${ns1.name})`)
    expect(ifnames(ns1.name)).toEqual(['lo'])
    expect(ifnames(ns2.name)).toEqual(['lo'])
  })

  test('a multi-byte name counts bytes, not characters', async () => {
    const lab = await newLab('ifnamsiz bytes')
    const [ns1, ns2] = await twoHosts(lab)

    await refused(lab.veth([ns1, 'vethéééééééé'], [ns2, 'veth2'])) // 12 characters, 16 bytes

    expect(ifnames(ns2.name)).toEqual(['lo'])
  })

  test.each([
    ['10.0.12.300/24', /not an address with a prefix length/],
    ['10.0.12.1', /add the prefix length, e.g. '10.0.12.1\/24'/],
    ['10.0.12.1/33', /prefix length 33 is over 32/],
    ['fd00::1/129', /prefix length 129 is over 128/],
  ])('a bad CIDR: %s', async (cidr, why) => {
    const lab = await newLab('bad cidr')
    const [ns1, ns2] = await twoHosts(lab)

    const e = await refused(lab.veth([ns1, 'veth1', cidr], [ns2, 'veth2', '10.0.12.2/24']))

    expect(e.message).toMatch(why)
    expect(ifnames(ns1.name)).toEqual(['lo'])
    expect(ifnames(ns2.name)).toEqual(['lo'])
  })

  test('a bad CIDR given to addrAdd leaves the link as it was', async () => {
    const lab = await newLab('bad addr')
    const [ns1, ns2] = await twoHosts(lab)
    await lab.veth([ns1, 'veth1'], [ns2, 'veth2'])

    await refused(ns1.addrAdd('veth1', '10.0.0.1/40'))

    expect((await ns1.addresses()).filter((a) => a.dev === 'veth1' && a.family === 4)).toEqual([])
  })

  test('a duplicate namespace label', async () => {
    const lab = await newLab('duplicate label')
    await lab.namespace('ns1')

    const e = await refused(lab.namespace('ns1'))

    expect(e.message).toContain("namespace label 'ns1' is already used in this lab")
    expect(e.hint).toMatch(/declared first at .*lab-rejections\.test\.ts:\d+/)
    expect(lab.marker.namespaces).toEqual([kernelName(lab.id, 'ns1')])
  })

  test('two labels that would get the same kernel name', async () => {
    const lab = await newLab('kernel name clash')
    await lab.namespace('ns:1')

    const e = await refused(lab.namespace('ns_1'))

    expect(e.message).toContain('ns_1')
    expect(lab.marker.namespaces).toEqual([kernelName(lab.id, 'ns:1')])
  })

  test('a duplicate interface name in one namespace', async () => {
    const lab = await newLab('duplicate ifname')
    const [ns1, ns2] = await twoHosts(lab)
    const ns3 = await lab.namespace('ns3')
    await lab.veth([ns1, 'veth1'], [ns2, 'veth2'])

    const e = await refused(lab.veth([ns1, 'veth1'], [ns3, 'veth3']))

    expect(e.message).toContain("interface 'veth1' already exists in namespace 'ns1'")
    expect(ifnames(ns3.name)).toEqual(['lo'])
    expect(ifnames(ns1.name)).toEqual(['lo', 'veth1'])
  })

  test('both ends of one pair with the same name in the same namespace', async () => {
    const lab = await newLab('same end twice')
    const ns1 = await lab.namespace('ns1')

    await refused(lab.veth([ns1, 'veth1'], [ns1, 'veth1']))

    expect(ifnames(ns1.name)).toEqual(['lo'])
  })

  test('the same address on both ends of a veth pair', async () => {
    const lab = await newLab('clash on a wire')
    const [ns1, ns2] = await twoHosts(lab)

    const e = await refused(lab.veth([ns1, 'veth1', '10.0.12.1/24'], [ns2, 'veth2', '10.0.12.1/24']))

    expect(e.message).toContain('address 10.0.12.1 is used twice on one layer-2 segment: by ns1/veth1 and ns2/veth2')
    expect(ifnames(ns1.name)).toEqual(['lo'])
    expect(ifnames(ns2.name)).toEqual(['lo'])
  })

  test('an address already used across a bridge', async () => {
    const lab = await newLab('clash across a bridge')
    const host = await lab.namespace('host')
    const ns2 = await lab.namespace('ns2')
    const ns3 = await lab.namespace('ns3')
    const br0 = await lab.bridge(host, 'br0', { addresses: ['172.16.0.100/24'] })
    await br0.plug([ns2, 'eth0', '172.16.0.102/24'])

    const e = await refused(br0.plug([ns3, 'eth0', '172.16.0.102/24']))
    expect(e.message).toContain('address 172.16.0.102 is used twice on one layer-2 segment: by ns2/eth0 and ns3/eth0')
    const e2 = await refused(br0.plug([ns3, 'eth0', '172.16.0.100/24']))
    expect(e2.message).toContain('by host/br0 and ns3/eth0')

    expect(ifnames(ns3.name)).toEqual(['lo'])
    expect(ifnames(host.name)).toEqual(['lo', 'br0', 'br0p1'])
    // A later addrAdd on the segment is judged the same way.
    await refused(ns2.addrAdd('eth0', '172.16.0.100/24'))
    // The refusals left no trace in the lab's model either: the corrected call goes through.
    await br0.plug([ns3, 'eth0', '172.16.0.103/24'])
    expect((await ns3.exec(['ping', '-c1', '-W1', '172.16.0.102'])).exitCode).toBe(0)
  })

  test('the same address on separate segments is allowed (and names that look like ip keywords work)', async () => {
    const lab = await newLab('no clash')
    const [ns1, ns2] = await twoHosts(lab)
    const ns3 = await lab.namespace('ns3')

    await lab.veth([ns1, 'a', '10.0.0.1/24'], [ns2, 'b', '10.0.0.2/24'])
    await lab.veth([ns1, 'c', '10.0.0.2/24'], [ns3, 'd', '10.0.0.1/24'])

    expect((await ns3.addresses()).map((a) => a.cidr)).toContain('10.0.0.1/24')
  })

  test('a veth end in a namespace of another lab', async () => {
    const lab = await newLab('mine')
    const other = await newLab('theirs')
    const ns1 = await lab.namespace('ns1')
    const theirs = await other.namespace('ns2')

    const e = await refused(lab.veth([ns1, 'veth1'], [theirs, 'veth2']))

    expect(e.message).toContain("namespace 'ns2' belongs to another lab ('theirs')")
    expect(ifnames(ns1.name)).toEqual(['lo'])
    expect(ifnames(theirs.name)).toEqual(['lo'])
  })

  test('a bridge port outside the bridge namespace', async () => {
    const lab = await newLab('port elsewhere')
    const host = await lab.namespace('host')
    const [ns1, ns2] = await twoHosts(lab)
    const br0 = await lab.bridge(host, 'br0')

    await refused(lab.veth([ns1, 'p1', { master: br0 }], [ns2, 'eth0']))

    expect(ifnames(ns1.name)).toEqual(['lo'])
    expect(ifnames(host.name)).toEqual(['lo', 'br0'])
  })

  test.each([
    ['Lab.create', () => Lab.create({ lable: 'x' } as never), /unknown option 'lable' for Lab.create[\s\S]*did you mean 'label'/],
  ])('an unknown option key for %s', async (_what, call, why) => {
    expect((await refused(call())).message).toMatch(why)
  })

  test('unknown option keys for namespace, veth end, bridge, plug, exec and routes', async () => {
    const lab = await newLab('unknown keys')
    const [ns1, ns2] = await twoHosts(lab)
    const host = await lab.namespace('host')

    expect((await refused(lab.namespace('ns3', { loopbak: false } as never))).message).toMatch(/unknown option 'loopbak'[\s\S]*'loopback'/)
    expect(netnsNames()).not.toContain(kernelName(lab.id, 'ns3'))
    await refused(lab.veth([ns1, 'veth1', { macc: 'ee:ee:ee:ee:ee:ee' } as never], [ns2, 'veth2']))
    await refused(lab.bridge(host, 'br0', { adresses: ['10.0.0.1/24'] } as never))
    expect(ifnames(host.name)).toEqual(['lo'])
    const br0 = await lab.bridge(host, 'br0')
    await refused(br0.plug([ns1, 'eth0'], { prot: 'x' } as never))
    await refused(ns1.exec('true', { timeout: 5 } as never))
    await refused(ns1.routeAdd('default', { gw: '10.0.0.1' } as never))
    expect(ifnames(ns1.name)).toEqual(['lo'])
    expect(ifnames(ns2.name)).toEqual(['lo'])
  })
})

describe('after teardown', () => {
  test("every handle says its lab was torn down ('torn-down')", async () => {
    const lab = await Lab.create({ label: 'short-lived' })
    const ns1 = await lab.namespace('ns1')
    const ns2 = await lab.namespace('ns2')
    const br = await lab.bridge(ns1, 'br0')
    await lab.destroy()
    expect(labIsGone(lab)).toEqual([])

    const e = await refused(ns1.exec('true'), 'torn-down')
    expect(e.message).toContain(`lab 'short-lived' was torn down: namespace 'ns1' (${ns1.name}) no longer exists`)
    await refused(ns1.links(), 'torn-down')
    await refused(ns1.addrAdd('lo', '10.0.0.1/8'), 'torn-down')
    await refused(ns1.spawn('sleep 1'), 'torn-down')
    await refused(lab.namespace('ns3'), 'torn-down')
    await refused(lab.veth([ns1, 'a'], [ns2, 'b']), 'torn-down')
    await refused(br.plug([ns2, 'eth0']), 'torn-down')
    await refused(lab.snapshot(), 'torn-down')
    expect(() => lab.defer(() => {})).toThrow(/torn down/)
    expect(netnsNames()).not.toContain(kernelName(lab.id, 'ns3'))
    await lab.destroy() // a second destroy is harmless
  })
})
