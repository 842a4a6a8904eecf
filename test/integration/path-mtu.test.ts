// Path MTU against the kernel: reachable(ns, target, { size, dontFragment }) judged against plain
// `ping -M do -s N` in an identical lab: a router's "Frag needed" / "Packet too big" (who, which MTU), the
// kernel's own refusal once it has learned the path MTU (and RouteDecision.mtu), a route's mtu, and a directly
// connected peer with a smaller MTU, which drops the frame silently.
import { describe, expect, test } from 'netspec/vitest'
import { Lab, reachable, routeGet, type Namespace } from 'netspec'
import { routeGet as ipRouteGet } from '../../src/kernel/ip.js'

//   a (eth0, 1500) ─── (left, 1500) gw (right, 1400) ─── (eth0, 1400) b
async function narrowPath(lab: Lab): Promise<{ a: Namespace; gw: Namespace; b: Namespace }> {
  const a = await lab.namespace('a')
  const gw = await lab.namespace('gw', { forwarding: true })
  const b = await lab.namespace('b')
  await lab.veth([a, 'eth0', '10.0.1.2/24', 'fd01::2/64'], [gw, 'left', '10.0.1.1/24', 'fd01::1/64'])
  await lab.veth([gw, 'right', '10.0.2.1/24', 'fd02::1/64', { mtu: 1400 }], [b, 'eth0', '10.0.2.2/24', 'fd02::2/64', { mtu: 1400 }])
  await a.routeAdd('default', { via: '10.0.1.1' })
  await a.routeAdd('default', { via: 'fd01::1' })
  await b.routeAdd('default', { via: '10.0.2.1' })
  await b.routeAdd('default', { via: 'fd02::1' })
  return { a, gw, b }
}

const ping = async (ns: Namespace, args: string[]) => {
  const r = await ns.exec(['ping', '-c1', '-W1', ...args])
  return { exitCode: r.exitCode, out: `${r.stdout}${r.stderr}` }
}

describe('a router on the path has a smaller MTU', () => {
  test.for([
    [4, '10.0.2.2', 1472, 1500, /From (\S+) icmp_seq=1 Frag needed and DF set \(mtu = (\d+)\)/],
    [6, 'fd02::2', 1452, 1500, /From (\S+) icmp_seq=1 Packet too big: mtu=(\d+)/],
  ] as const)('IPv%s: too-big names the router and the MTU it gave, as ping -M do -s N shows them', async ([family, target, size, bytes, words], { lab }) => {
    // The kernel's answer to plain ping, in a lab of its own (a learned path MTU would change the second probe).
    await using plain = await Lab.create({ label: 'path-mtu plain ping' })
    const p = await narrowPath(plain)
    const said = await ping(p.a, [`-${family}`, '-M', 'do', '-s', String(size), target])
    const m = words.exec(said.out)
    expect(m, said.out).not.toBeNull()
    const [, router, mtu] = m!
    expect(said.exitCode).toBe(1)

    const { a } = await narrowPath(lab)
    const r = await reachable(a, target, { size })
    expect(r.verdict).toBe('too-big')
    expect(r.evidence.tooBig).toEqual({ bytes, mtu: Number(mtu), by: `gw (${router})` })
    const ping_ = family === 4 ? `Frag needed and DF set (mtu = ${mtu})` : `Packet too big: mtu=${mtu}`
    expect(r.detail).toBe(`router gw (${router}) answered "${ping_}" for ${target}: a ${bytes}-byte packet with DF set does not fit its next link (MTU ${mtu})`)

    // The kernel has learned the path MTU: plain ping now fails at once, and so does the next check, saying why.
    const again = await ping(a, [`-${family}`, '-M', 'do', '-s', String(size), target])
    expect(again.out).toMatch(new RegExp(`local error: message too long, mtu[=:] ?${mtu}`))
    const cached = await reachable(a, target, { size })
    expect(cached).toMatchObject({ verdict: 'too-big', attempts: 1, evidence: { tooBig: { bytes, mtu: Number(mtu), by: 'local' } } })
    expect(cached.detail).toMatch(new RegExp(`^a cannot send a ${bytes}-byte packet to ${target} with DF set: it is over MTU ${mtu} \\(the path MTU the kernel learned from a "Frag needed"/"Packet too big", kept \\d+ s more\\); the kernel says "Message too long"$`))
    // RouteDecision.mtu is what ip -j route get prints (metrics, expires), on whichever path this lab uses.
    const kernel = await ipRouteGet(lab.executor, a.name, target)
    const mine = (await routeGet(a, target)).decision!
    expect(kernel.decision!.mtu).toBe(Number(mtu))
    expect(mine.mtu).toBe(Number(mtu))
    expect(Math.abs(mine.mtuExpires! - kernel.decision!.mtuExpires!)).toBeLessThanOrEqual(1)
    // A packet that fits still goes through; without DF the big one is fragmented and answered, as ping -M dont is.
    expect((await reachable(a, target, { size: Number(mtu) - bytes + size })).verdict).toBe('replied')
    expect((await ping(a, [`-${family}`, '-M', 'dont', '-s', String(size), target])).exitCode).toBe(0)
    expect((await reachable(a, target, { size, dontFragment: false })).verdict).toBe('replied')
  })
})

describe('the sender knows the MTU itself', () => {
  test("a route's mtu: refused at once, as ping's local error says", async ({ lab }) => {
    const { a } = await narrowPath(lab)
    await a.routeAdd('10.0.2.0/24', { via: '10.0.1.1', mtu: 1300 })
    const said = await ping(a, ['-M', 'do', '-s', '1300', '10.0.2.2'])
    expect(said.out).toContain('local error: message too long, mtu=1300')
    const r = await reachable(a, '10.0.2.2', { size: 1300 })
    expect(r).toMatchObject({ verdict: 'too-big', evidence: { tooBig: { bytes: 1328, mtu: 1300, by: 'local' }, route: { mtu: 1300 } } })
    expect(r.detail).toBe(`a cannot send a 1328-byte packet to 10.0.2.2 with DF set: it is over MTU 1300 (the route's mtu); the kernel says "Message too long"`)
    expect((await routeGet(a, '10.0.2.2')).decision?.mtu).toBe(1300)
  })
})

describe('a directly connected peer with a smaller MTU', () => {
  test('drops the frame silently: too-big says the frame was larger than the peer\'s MTU', async ({ lab }) => {
    const a = await lab.namespace('a')
    const b = await lab.namespace('b')
    await lab.veth([a, 'eth0', '10.0.0.1/24'], [b, 'eth0', '10.0.0.2/24', { mtu: 1300 }])
    const said = await ping(a, ['-M', 'do', '-s', '1400', '10.0.0.2'])
    expect(said.exitCode).toBe(1) // no reply …
    expect(said.out).not.toMatch(/Frag needed|local error|From /) // … and nobody says why
    const r = await reachable(a, '10.0.0.2', { size: 1400, timeoutMs: 500 })
    expect(r.verdict).toBe('too-big')
    expect(r.evidence.tooBig).toEqual({ bytes: 1428, mtu: 1300, by: "b's eth0" })
    expect(r.detail).toBe(`a sent a 1428-byte packet towards 10.0.0.2 out of eth0 (MTU 1500), but b's eth0 has MTU 1300: a frame larger than the peer's MTU is dropped silently, no "Frag needed" comes back`)
    expect((await ping(a, ['-M', 'do', '-s', '1272', '10.0.0.2'])).exitCode).toBe(0)
    expect((await reachable(a, '10.0.0.2', { size: 1272 })).verdict).toBe('replied')
  })

  test('size is checked: ICMP only, within bounds', async ({ lab }) => {
    const a = await lab.namespace('a')
    await expect(reachable(a, 'tcp://10.0.0.2:80', { size: 100 })).rejects.toMatchObject({ kind: 'invalid-input' })
    await expect(reachable(a, '10.0.0.2', { size: 70000 })).rejects.toMatchObject({ kind: 'invalid-input' })
    await expect(reachable(a, '10.0.0.2', { dontFragment: true })).rejects.toMatchObject({ kind: 'invalid-input' })
  })
})
