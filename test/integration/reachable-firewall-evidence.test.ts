// `filtered` only with evidence that a rule met THIS check's packet (REVIEW-3): a counter that moved, the drop
// watcher's rule, or nftables' trace of a probe; a drop rule's mere presence is no evidence. Checked against the
// kernel's own counters (the counted twin of each rule) on both kernel paths.
//
//   a (10.0.0.1) ──veth── b (10.0.0.2, nftables input chain)
import { afterAll, beforeAll, describe, expect, test } from 'netspec/vitest'
import { reachable, type Namespace } from 'netspec'
import { labOnPath } from '../fixtures/lab-path.js'

// Without bpftrace's drop reasons: the counters and the trace must decide on their own (any machine without bpftrace).
const before = process.env.NETSPEC_DROPS
beforeAll(() => void (process.env.NETSPEC_DROPS = 'off'))
afterAll(() => void (before === undefined ? delete process.env.NETSPEC_DROPS : (process.env.NETSPEC_DROPS = before)))

async function counters(ns: Namespace): Promise<number[]> {
  const rs = JSON.parse((await ns.exec(['nft', '-j', 'list', 'ruleset'], { check: true })).stdout) as { nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[] }
  return rs.nftables.flatMap((o) => o.rule?.expr.flatMap((e) => (e.counter === undefined ? [] : [e.counter.packets])) ?? [])
}

describe.each(['netlink', 'ip'] as const)('%s path', (path) => {
  test('a silent host is timed-out, not "filtered" by rules that cannot match the probe', async () => {
    await using lab = await labOnPath(path, `fw-evidence ${path}`)
    const a = await lab.namespace('a')
    const b = await lab.namespace('b', { sysctls: { 'net.ipv4.icmp_echo_ignore_all': 1 } })
    await lab.veth([a, 'eth0', '10.0.0.1/24'], [b, 'eth0', '10.0.0.2/24'])
    await b.exec(['nft', '-f', '-'], {
      check: true,
      input: 'table inet f { chain input { type filter hook input priority 0; policy accept; tcp dport 22 drop; meta nfproto ipv6 drop; tcp dport 23 counter drop; }; }\n',
    })
    expect((await a.exec(['ping', '-c1', '-W1', '10.0.0.2'])).stdout).toContain('0 received') // the kernel: silence
    const res = await reachable(a, '10.0.0.2', { timeoutMs: 1000 })
    expect(await counters(b)).toEqual([0]) // the counted rule saw nothing: no firewall of b met the echoes
    expect(res.verdict).toBe('timed-out')
    expect(res.evidence.filters).toBeUndefined()
    expect(res.detail).not.toContain('tcp dport 22 drop')
    expect(res.detail).not.toContain('ipv6')
    expect(res.detail).toContain("nftables' trace of a probe saw no lab firewall drop it (traced in")
    // The uncounted rules are not blamed, only listed as not checked (the trace cannot see a dropped reply).
    expect(res.evidence.unchecked?.join('\n')).toMatch(/tcp dport 22 drop \(no counter\)/)
  })

  test('an uncounted rule that does drop the probe is named, proven by the trace (and by its counted twin)', async () => {
    await using lab = await labOnPath(path, `fw-evidence2 ${path}`)
    const a = await lab.namespace('a')
    const b = await lab.namespace('b')
    await lab.veth([a, 'eth0', '10.0.0.1/24'], [b, 'eth0', '10.0.0.2/24'])
    // The counted twin first, in a chain that only counts: the kernel's own count of what the uncounted rule met.
    await b.exec(['nft', '-f', '-'], {
      check: true,
      input: [
        'table inet f {',
        '  chain count { type filter hook input priority -10; policy accept; icmp type echo-request counter; }',
        '  chain input { type filter hook input priority 0; policy accept; tcp dport 22 drop; icmp type echo-request drop; }',
        '}',
        '',
      ].join('\n'),
    })
    const res = await reachable(a, '10.0.0.2', { timeoutMs: 600 })
    expect((await counters(b))[0]).toBeGreaterThan(0) // the echoes reached b's input hook
    expect(res.verdict).toBe('filtered')
    expect(res.evidence.filters).toHaveLength(1)
    expect(res.evidence.filters![0]).toMatch(/^in b: chain inet f input, rule 'icmp type echo-request drop' \(handle \d+\) \(dropped a probe in nftables' trace\)$/)
    expect(res.detail).not.toContain('tcp dport 22')
  })
})
