// A source rule (`ip rule add from 10.1.0.1 table 300`) that picks a different *working* route than the
// sourceless lookup. What the kernel does, measured here in the same lab on both kernel paths:
//   - `ping` (iputils) first connect()s a UDP probe socket to choose its source (ip_route_connect: two lookups,
//     so a refusing route for that source fails it at once: "connect: No route to host"), but its echo goes out
//     of an unbound raw socket: ONE lookup with no source, so the echo follows the sourceless route.
//   - a TCP connect() (and a connected UDP socket) looks up twice, the second time from the source the first
//     chose: it follows the source rule's route.
// reachable() must give the verdict ping and connect() really get, on both paths, with the route each really
// took as its evidence (and its detail naming the right next hop).
//
//                 ┌── veth1 10.1.0.1 ──── veth2 10.1.0.2 ── b (owns 10.64.0.9 on lo, listens on tcp 8080)
//   a (rule 20: from 10.1.0.1 lookup 300)
//                 └── veth3 10.2.0.1 ──── veth4 10.2.0.2 ── c (forwarding off, no route to 10.64.0.0/16)
//
// "sourceless-works": main sends 10.64.0.0/16 via b, table 300 via c  → ping replies, TCP times out at c.
// "sourced-works":    main sends 10.64.0.0/16 via c, table 300 via b  → ping times out at c, TCP connects to b.
// (The prefsrc of both routes is 10.1.0.1 via `src`, so the source rule applies to every connect().)
import { describe, expect, test } from 'vitest'
import { explain, listen, reachable, type Lab, type Namespace } from 'netspec'
import { labIsGone } from '../fixtures/kernel.js'
import { labOnPath } from '../fixtures/lab-path.js'

type Layout = 'sourceless-works' | 'sourced-works'

async function build(lab: Lab, layout: Layout): Promise<{ a: Namespace; b: Namespace; c: Namespace }> {
  const a = await lab.namespace('a')
  const b = await lab.namespace('b')
  const c = await lab.namespace('c')
  await lab.veth([a, 'veth1', '10.1.0.1/24'], [b, 'veth2', '10.1.0.2/24'])
  await lab.veth([a, 'veth3', '10.2.0.1/24'], [c, 'veth4', '10.2.0.2/24'])
  await b.addrAdd('lo', '10.64.0.9/32')
  const [main, other] = layout === 'sourceless-works' ? ['10.1.0.2', '10.2.0.2'] : ['10.2.0.2', '10.1.0.2']
  await a.routeAdd('10.64.0.0/16', { via: main, src: '10.1.0.1' })
  await a.routeAdd('10.64.0.0/16', { via: other, src: '10.1.0.1', table: 300 })
  await a.ruleAdd({ from: '10.1.0.1', table: 300, priority: 20 })
  return { a, b, c }
}

const routeGet = async (a: Namespace, ...from: string[]) =>
  (JSON.parse((await a.exec(['ip', '-j', 'route', 'get', '10.64.0.9', ...from], { check: true })).stdout) as { gateway?: string; table?: string }[])[0]!

describe.each(['netlink', 'ip'] as const)('a source rule with a working route of its own, on the %s path', (path) => {
  test.each(['sourceless-works', 'sourced-works'] as const)('%s: reachable() gets what ping and connect() get, and names the route each took', async (layout) => {
    const lab = await labOnPath(path, `source routes ${layout} (${path})`)
    try {
      expect(lab.netlink === undefined).toBe(path === 'ip')
      const { a, b } = await build(lab, layout)
      const [sourceless, sourced] = layout === 'sourceless-works' ? ['10.1.0.2', '10.2.0.2'] : ['10.2.0.2', '10.1.0.2']
      // The kernel's two answers.
      expect((await routeGet(a)).gateway).toBe(sourceless)
      expect(await routeGet(a, 'from', '10.1.0.1')).toMatchObject({ gateway: sourced, table: '300' })
      const listener = await listen(b, 8080)

      // ping's own outcome, and a TCP connect's (bash /dev/tcp: connect(2) in the namespace), in this lab.
      const ping = await a.exec(['ping', '-n', '-c', '1', '-W', '1', '10.64.0.9'])
      const pingReplied = ping.exitCode === 0
      const tcp = await a.exec(['timeout', '1', 'bash', '-c', 'exec 3<>/dev/tcp/10.64.0.9/8080'])
      const tcpConnected = tcp.exitCode === 0
      // Which route each really took: only b owns 10.64.0.9, c drops what it cannot route.
      expect(pingReplied).toBe(layout === 'sourceless-works')
      expect(tcpConnected).toBe(layout === 'sourced-works')

      const icmp = await reachable(a, '10.64.0.9', { timeoutMs: 800 })
      expect(icmp.ok, icmp.detail).toBe(pingReplied)
      expect(icmp.evidence.route?.gateway).toBe(sourceless) // the echo's one lookup, with no source
      const t = await reachable(a, 'tcp://10.64.0.9:8080', { timeoutMs: 800 })
      expect(t.ok, t.detail).toBe(tcpConnected)
      expect(t.evidence.route?.gateway).toBe(sourced) // connect()'s second lookup, from 10.1.0.1
      expect(t.evidence.route?.table).toBe('300')
      // A UDP check connect()s its socket too: the same route as TCP. (Its outcome is not compared: netspec's UDP
      // listener, bound to the wildcard, answers from b's 10.1.0.2 rather than 10.64.0.9, which a connected socket
      // does not take; a listener matter, reported, not a routing one.)
      const u = await reachable(a, 'udp://10.64.0.9:8053', { timeoutMs: 300, expectFailure: true })
      expect(u.evidence.route?.gateway).toBe(sourced)
      // A silent failure names the next hop the packet really went to: c (10.2.0.2), which does not forward.
      const failed = layout === 'sourceless-works' ? t : icmp
      // (Silence, or the kernel's drop reason in c once the drop watcher runs: docs/drops.md.)
      expect(['timed-out', 'dropped']).toContain(failed.verdict)
      expect(failed.detail).toMatch(failed.verdict === 'dropped' ? /^dropped in c by the kernel: it does not forward/ : /the next hop 10\.2\.0\.2 is c, which does not forward/)
      if (tcpConnected) expect((await listener.waitForPeers(1)).map((p) => p.address)).toContain('10.1.0.1')
      // explain() walks the same routes: the echo through the sourceless one, the SYN through table 300's.
      const [xi, xt] = [await explain(a, '10.64.0.9', { trace: false }), await explain(a, 'tcp://10.64.0.9:8080', { trace: false })]
      expect(xi.hops[0]?.route?.gateway).toBe(sourceless)
      expect(xt.hops[0]?.route?.gateway).toBe(sourced)
      expect([xi.arrived, xt.arrived]).toEqual([layout === 'sourceless-works', layout === 'sourced-works'])
    } finally {
      await lab.destroy()
      expect(labIsGone(lab)).toEqual([])
    }
  })
})
