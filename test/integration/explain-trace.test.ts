// explain()'s netfilter verdict: a real probe traced with nftables in each namespace on the path.
//
//   h1 eth0 10.0.1.1 ── e0 10.0.1.254 [gw] e1 10.0.2.254 ── eth0 10.0.2.1 h2
//           fd00:1::1       fd00:1::fe      fd00:2::fe        fd00:2::1
import { readFile } from 'node:fs/promises'
import { describe, expect, test } from 'netspec/vitest'
import { explain } from 'netspec'
import type { Explanation, Lab, Namespace } from 'netspec'

async function routed(lab: Lab) {
  const h1 = await lab.namespace('h1')
  const gw = await lab.namespace('gw', { forwarding: true })
  const h2 = await lab.namespace('h2')
  await lab.veth([h1, 'eth0', '10.0.1.1/24', 'fd00:1::1/64'], [gw, 'e0', '10.0.1.254/24', 'fd00:1::fe/64'])
  await lab.veth([h2, 'eth0', '10.0.2.1/24', 'fd00:2::1/64'], [gw, 'e1', '10.0.2.254/24', 'fd00:2::fe/64'])
  await h1.routeAdd('default', { via: '10.0.1.254' })
  await h2.routeAdd('default', { via: '10.0.2.254' })
  await h1.routeAdd('::/0', { via: 'fd00:1::fe' })
  await h2.routeAdd('::/0', { via: 'fd00:2::fe' })
  return { h1, gw, h2 }
}

const nft = (ns: Namespace, ruleset: string) => ns.exec(['nft', '-f', '-'], { input: ruleset, check: true })

/** Tables left in a namespace, read back as JSON. */
async function tables(ns: Namespace): Promise<string[]> {
  const r = await ns.exec(['nft', '-j', 'list', 'tables'], { check: true })
  const items = (JSON.parse(r.stdout) as { nftables: { table?: { family: string; name: string } }[] }).nftables
  return items.flatMap((i) => (i.table === undefined ? [] : [`${i.table.family} ${i.table.name}`]))
}

/** Command lines of the processes still inside a namespace. */
async function processes(ns: Namespace): Promise<string[]> {
  const out: string[] = []
  for (const pid of await ns.pids()) out.push((await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ').trim())
  return out
}

/** Every packet line the monitors printed, whatever namespace. */
const packetLines = (why: Explanation) => Object.values(why.probe?.events ?? {}).flat().filter((e) => e.kind === 'packet')

describe('explain() traces a real probe through nftables', () => {
  test('a forward chain with policy drop in gw: the verdict names gw, the chain and the policy', async ({ lab }) => {
    const { h1, gw } = await routed(lab)
    await nft(gw, 'table inet filter {\n chain forward { type filter hook forward priority filter; policy drop; }\n}\n')
    const why = await explain(h1, '10.0.2.1')
    expect(why.arrived).toBe(false)
    expect(why.verdict).toBe('dropped in gw: chain inet filter forward, policy drop')
    expect(why.hops.map((h) => h.namespace)).toEqual(['h1', 'gw'])
    expect(why.hops[1]).toMatchObject({ netfilter: 'dropped: chain inet filter forward, policy drop' })
    expect(String(why)).toBe(
      ['1. h1: out eth0 via 10.0.1.254', '2. gw: out e1 (directly connected) — dropped: chain inet filter forward, policy drop', '→ dropped in gw: chain inet filter forward, policy drop'].join('\n'),
    )
    expect(why.probe).toMatchObject({ proto: 'icmp', answered: false, traced: ['gw'] })
    // The kernel agrees: the chain's counter-less policy leaves no trace but a ping that gets nothing back.
    expect((await h1.exec(['ping', '-c1', '-W0.3', '10.0.2.1'])).exitCode).not.toBe(0)
  })

  test('an explicit drop rule for one source: the verdict quotes the rule and its handle; another source passes', async ({ lab }) => {
    const { h1, gw, h2 } = await routed(lab)
    await nft(gw, 'table inet filter {\n chain forward { type filter hook forward priority filter; policy accept;\n  ip saddr 10.0.1.1 counter drop comment "no h1"\n }\n}\n')
    const listed = JSON.parse((await gw.exec(['nft', '-j', '-a', 'list', 'chain', 'inet', 'filter', 'forward'], { check: true })).stdout) as {
      nftables: { rule?: { handle: number } }[]
    }
    const handle = listed.nftables.find((i) => i.rule !== undefined)!.rule!.handle
    const why = await explain(h1, '10.0.2.1')
    expect(why.verdict).toBe(`dropped in gw: chain inet filter forward, rule 'ip saddr 10.0.1.1 counter drop comment "no h1"' (handle ${handle})`)
    const back = await explain(h2, '10.0.1.1', { timeoutMs: 300 }) // 10.0.2.1 is not the blocked source
    expect(back).toMatchObject({ arrived: true, verdict: 'arrives at h1' })
    expect(back.probe?.answered).toBe(false) // its echo reply comes from 10.0.1.1: dropped on the way back
    expect(back.hops[1]?.netfilter).toBe('accepted: chain inet filter forward, policy accept')
    expect(back.warnings).toEqual(["no answer came back to h2 (no echo reply): is the way back routed? explain(h1, '10.0.2.1') walks it"])
  })

  test('an input-chain drop at the destination stops a TCP SYN; ICMP to the same host still arrives', async ({ lab }) => {
    const { h1, h2 } = await routed(lab)
    await nft(h2, 'table inet host {\n chain input { type filter hook input priority filter; policy accept;\n  tcp dport 80 drop\n }\n}\n')
    const tcp = await explain(h1, '10.0.2.1', { proto: 'tcp', port: 80 })
    expect(tcp.arrived).toBe(false)
    expect(tcp.verdict).toMatch(/^dropped in h2: chain inet host input, rule 'tcp dport 80 drop' \(handle \d+\)$/)
    expect(tcp.hops.map((h) => h.namespace)).toEqual(['h1', 'gw', 'h2'])
    expect(packetLines(tcp).every((e) => e.fields?.includes(`tcp sport ${tcp.probe?.marker} tcp dport 80`))).toBe(true)
    const icmp = await explain(h1, '10.0.2.1')
    expect(icmp).toMatchObject({ arrived: true, verdict: 'arrives at h2' })
    expect(icmp.probe).toMatchObject({ answered: true, answer: 'echo reply', traced: ['h2'] })
    expect(icmp.hops[2]?.netfilter).toBe('accepted: chain inet host input, policy accept')
  })

  test('an output-chain drop in the source itself stops the probe before it leaves', async ({ lab }) => {
    const { h1 } = await routed(lab)
    await nft(h1, 'table inet host {\n chain output { type filter hook output priority filter; policy accept;\n  udp dport 53 drop\n }\n}\n')
    const why = await explain(h1, '10.0.2.1', { proto: 'udp', port: 53 })
    expect(why.verdict).toMatch(/^dropped in h1: chain inet host output, rule 'udp dport 53 drop' \(handle \d+\)$/)
    expect(why.hops.map((h) => h.note)).toEqual([expect.stringMatching(/^out eth0 via 10\.0\.1\.254 — dropped: chain inet host output, /)])
  })

  test('an accepted path arrives, with each traced hop saying which chain let it through', async ({ lab }) => {
    const { h1, gw, h2 } = await routed(lab)
    await nft(
      gw,
      'table inet filter {\n chain forward { type filter hook forward priority filter; policy drop;\n  ct state established,related accept\n  iifname "e0" oifname "e1" accept\n }\n}\n',
    )
    const why = await explain(h1, '10.0.2.1')
    expect(why).toMatchObject({ arrived: true, verdict: 'arrives at h2', warnings: [] })
    expect(why.probe?.answered).toBe(true)
    expect(why.hops[1]?.netfilter).toMatch(/^accepted: chain inet filter forward, rule 'iifname "e0" oifname "e1" accept' \(handle \d+\)$/)
    // The other direction hits the policy: the trace says so.
    expect((await explain(h2, '10.0.1.1')).verdict).toBe('dropped in gw: chain inet filter forward, policy drop')
  })

  test('IPv6: the ICMPv6 echo is traced the same way, and dropped by its source', async ({ lab }) => {
    const { h1, gw, h2 } = await routed(lab)
    await nft(gw, 'table inet filter {\n chain forward { type filter hook forward priority filter; policy accept;\n  ip6 saddr fd00:1::1 drop\n }\n}\n')
    const why = await explain(h1, 'fd00:2::1')
    expect(why.verdict).toMatch(/^dropped in gw: chain inet filter forward, rule 'ip6 saddr fd00:1::1 drop' \(handle \d+\)$/)
    expect(why.hops[0]?.note).toBe('out eth0 via fd00:1::fe')
    expect(await explain(h2, 'fd00:1::1', { timeoutMs: 300 })).toMatchObject({ arrived: true, verdict: 'arrives at h1' })
  })

  test('the trace tables and monitors are gone afterwards, whether the probe was dropped or not', async ({ lab }) => {
    const { h1, gw, h2 } = await routed(lab)
    await nft(gw, 'table inet filter {\n chain forward { type filter hook forward priority filter; policy accept;\n  ip daddr 10.0.1.1 drop\n }\n}\n')
    await nft(h2, 'table inet host {\n chain input { type filter hook input priority filter; policy accept; }\n}\n')
    await nft(h1, 'table inet host {\n chain output { type filter hook output priority filter; policy accept; }\n}\n')
    const dropped = await explain(h2, '10.0.1.1')
    expect(dropped.verdict).toMatch(/^dropped in gw: chain inet filter forward, rule 'ip daddr 10.0.1.1 drop'/)
    const arrived = await explain(h1, '10.0.2.1', { timeoutMs: 300 }) // its echo reply is dropped in gw
    expect(arrived.verdict).toBe('arrives at h2')
    expect(arrived.probe?.traced).toEqual(['h1', 'gw', 'h2'])
    expect(await tables(h1)).toEqual(['inet host'])
    expect(await tables(gw)).toEqual(['inet filter'])
    expect(await tables(h2)).toEqual(['inet host'])
    for (const ns of [h1, gw, h2]) expect(await processes(ns)).toEqual([])
  })

  test('only the probe is traced: a concurrent ping with another id never shows up', async ({ lab }) => {
    const { h1, gw } = await routed(lab)
    await nft(gw, 'table inet filter {\n chain forward { type filter hook forward priority filter; policy accept; }\n}\n')
    const other = await h1.spawn(['ping', '-n', '-i', '0.005', '-e', '777', '10.0.2.1'], { ready: /bytes from 10\.0\.2\.1/ })
    const replies = () => other.stdout().split('\n').filter((l) => / icmp_seq=\d+ ttl=63 /.test(l)).length
    const before = replies()
    const why = await explain(h1, '10.0.2.1')
    const during = replies() - before
    await other.stop()
    expect(why.probe?.marker).not.toBe(777)
    expect(during).toBeGreaterThan(0) // it did pass through gw while the trace ran
    const packets = packetLines(why)
    expect(packets.length).toBeGreaterThan(0)
    for (const p of packets) expect(p.fields).toContain(`icmp id ${why.probe?.marker} `)
    expect(packets.some((p) => p.fields?.includes('icmp id 777 '))).toBe(false)
  })

  test('bad options are rejected before anything is sent or added', async ({ lab }) => {
    const { h1, gw } = await routed(lab)
    await nft(gw, 'table inet filter {\n chain forward { type filter hook forward priority filter; policy accept; }\n}\n')
    await expect(explain(h1, '10.0.2.1', { bogus: true } as never)).rejects.toMatchObject({ kind: 'invalid-input' })
    await expect(explain(h1, '10.0.2.1', { proto: 'tcp' })).rejects.toThrow(/needs a port/)
    await expect(explain(h1, '10.0.2.1', { timeoutMs: -1 })).rejects.toThrow(/timeoutMs/)
    expect(await tables(gw)).toEqual(['inet filter'])
  })

  test('a next hop that never answers ARP: the verdict names it and its neighbour state', async ({ lab }) => {
    const { h1, gw } = await routed(lab)
    await nft(gw, 'table arp deaf {\n chain in { type filter hook input priority filter; policy drop; }\n}\n')
    const why = await explain(h1, '10.0.2.1', { timeoutMs: 300 })
    expect(why.verdict).toMatch(/^unresolved in h1: no ARP reply from next hop 10\.0\.1\.254 on eth0 \(neighbour (INCOMPLETE|FAILED)\)$/)
    expect(why.hops).toHaveLength(1)
    expect(why.hops[0]?.neighbor).toMatchObject({ address: '10.0.1.254', dev: 'eth0' })
  })
})
