// netspec's UDP listener answers from the address each datagram was sent to: a wildcard socket answers from the
// address the route back picks, which a connected client (netspec's probe, most UDP clients) drops, so a datagram
// that arrived at a secondary address (here on lo) was reported as silence. The kernel's view (ss) shows a socket
// per address on the listening port; the probe's verdict and the peer records agree with it, on both paths.
import { describe, expect, test } from 'vitest'
import { reachable } from 'netspec'
import { labOnPath } from '../fixtures/lab-path.js'

describe.each(['netlink', 'ip'] as const)('%s path', (path) => {
  test('a UDP target at a secondary address replies, and the listener records where each datagram went', async () => {
    await using lab = await labOnPath(path, `udp source ${path}`)
    const a = await lab.namespace('a')
    const b = await lab.namespace('b')
    await lab.veth([a, 'eth0', '10.0.0.1/24', 'fd00::1/64'], [b, 'eth0', '10.0.0.2/24', 'fd00::2/64'])
    await b.addrAdd('lo', '10.9.9.9/32')
    await b.addrAdd('lo', 'fd09::9/128')
    await a.routeAdd('10.9.9.9/32', { via: '10.0.0.2' })
    await a.routeAdd('fd09::9/128', { via: 'fd00::2' })
    const l = await b.listen(5353, { proto: 'udp' })
    // the kernel: a socket bound to each address on 5353 (and the wildcard)
    const ss = (await b.exec(['ss', '-H', '-uln', 'sport', '= :5353'], { check: true })).stdout
    for (const local of ['10.9.9.9:5353', '10.0.0.2:5353', '[fd09::9]:5353', '*:5353']) expect(ss).toContain(local)
    for (const target of ['10.0.0.2', '10.9.9.9', '[fd00::2]', '[fd09::9]']) {
      const r = await reachable(a, `udp://${target}:5353`, { timeoutMs: 3000 })
      expect(r.verdict, r.detail).toBe('replied')
    }
    const seen = (await l.peers()).map((p) => p.local)
    expect(seen).toEqual(expect.arrayContaining(['10.0.0.2:5353', '10.9.9.9:5353', '[fd00::2]:5353', '[fd09::9]:5353']))
  })
})
