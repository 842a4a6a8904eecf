// Captured fragments decode as tcpdump decodes the same file (REVIEW-5): an IPv4 fragment past offset 0 has no
// ICMP/TCP/UDP header (tcpdump: "ip-proto-1"), an IPv6 Fragment header is walked to the ICMPv6 echo of the first
// fragment (tcpdump: "frag (0|1448) ICMP6, echo request"), and each fragment carries tcpdump's id and offset.
// Also a hop-by-hop header: the MLD report the kernel sends when an address joins its solicited-node group
// (tcpdump: "HBH (rtalert: 0x0000) (padn) … ICMP6, multicast listener report v2") shows its ICMPv6 header.
import { expect, test } from 'netspec/vitest'
import { labOnPath } from '../fixtures/lab-path.js'

interface Seen {
  version: 4 | 6
  id: number
  offset: number
  more: boolean
  /** What tcpdump decoded above IP: 'echo request', 'echo reply', or undefined for a fragment without a header. */
  icmp?: string
}

/**
 * `tcpdump -nn -v -r` lines: IPv4 "(tos 0x0, ttl 64, id 4660, offset 1480, flags [+], proto ICMP (1), length 1500)"
 * then "10.0.0.1 > 10.0.0.2: ICMP echo request, …" or "10.0.0.1 > 10.0.0.2: ip-proto-1"; IPv6 "… frag (0x1234:0|1448)
 * fd00::1 > fd00::2: ICMP6, echo request, …" or "frag (0x1234:1448|1448)".
 */
function parseTcpdump(text: string): Seen[] {
  const out: Seen[] = []
  // tcpdump -v folds an IPv4 packet's header and payload on two lines; IPv6 on one.
  const records = text.replace(/\n\s+(?=\d+\.\d+\.\d+\.\d+ > )/g, ' ').split('\n').filter((l) => l.trim() !== '')
  for (const line of records) {
    const v4 = /\bid (\d+), offset (\d+), flags \[([^\]]*)\]/.exec(line)
    if (/ IP /.test(line) && v4 !== null) {
      const icmp = /ICMP (echo request|echo reply)/.exec(line)?.[1]
      out.push({ version: 4, id: Number(v4[1]), offset: Number(v4[2]), more: v4[3]!.includes('+'), ...(icmp === undefined ? {} : { icmp }) })
      continue
    }
    const v6 = /frag \(0x([0-9a-f]+):(\d+)\|(\d+)\)/.exec(line)
    if (/ IP6 /.test(line) && v6 !== null) {
      const icmp = /ICMP6, (echo request|echo reply)/.exec(line)?.[1]
      // tcpdump does not print IPv6's M flag: 'more' is checked from the offsets instead.
      out.push({ version: 6, id: parseInt(v6[1]!, 16), offset: Number(v6[2]), more: false, ...(icmp === undefined ? {} : { icmp }) })
    }
  }
  return out
}

test('captured fragments decode as tcpdump decodes them', async () => {
  await using lab = await labOnPath('netlink', 'capture-fragments')
  const a = await lab.namespace('a')
  const b = await lab.namespace('b')
  await lab.veth([a, 'eth0', '10.0.0.1/24', 'fd00::1/64'], [b, 'eth0', '10.0.0.2/24', 'fd00::2/64'])
  const cap = await b.capture('eth0', { filter: 'ip or (ip6 and not icmp6[0] >= 133)' })
  await a.exec(['ping', '-c1', '-W1', '-s', '3000', '10.0.0.2'], { check: true })
  await a.exec(['ping', '-c1', '-W1', '-s', '3000', 'fd00::2'], { check: true })
  const pkts = await cap.stop()
  const tcpdump = (await b.exec(['tcpdump', '-nn', '-v', '-r', cap.file], { check: true })).stdout
  const summaries = pkts.map((p) => p.summary).join('\n')

  // The kernel's tool on the same file: 12 fragments, 2 echo requests and 2 echo replies (in first fragments).
  const seen = parseTcpdump(tcpdump)
  expect(seen, tcpdump).toHaveLength(12)
  expect(seen.filter((s) => s.icmp === 'echo request')).toHaveLength(2)
  expect(seen.filter((s) => s.icmp === 'echo reply')).toHaveLength(2)
  expect(seen.filter((s) => s.offset > 0)).toHaveLength(8)

  // netspec's decoding of the same file, packet by packet.
  expect(pkts, summaries).toHaveLength(seen.length)
  for (const [i, s] of seen.entries()) {
    const p = pkts[i]!
    const at = `packet ${i + 1}: ${p.summary}`
    expect(p.ip?.version, at).toBe(s.version)
    expect(p.ip?.fragment?.id, at).toBe(s.id)
    expect(p.ip?.fragment?.offset, at).toBe(s.offset)
    if (s.version === 4) expect(p.ip?.fragment?.more, at).toBe(s.more)
    expect(p.ip?.protocol, at).toBe(s.version === 4 ? 1 : 58)
    if (s.version === 6) expect(p.ip?.extensions, at).toEqual([44])
    expect(p.icmp?.kind, at).toBe(s.icmp?.replace(' ', '-'))
    expect(p.tcp ?? p.udp, at).toBeUndefined()
  }
  // The last fragment of each datagram has no more-fragments flag (IPv6's is not printed by tcpdump: from the offsets).
  for (const v of [4, 6] as const) expect(pkts.filter((p) => p.ip?.version === v).map((p) => p.ip!.fragment!.more)).toEqual([true, true, false, true, true, false])
  expect(summaries).not.toMatch(/ICMP type-/)
  expect(pkts.filter((p) => p.icmp !== undefined)).toHaveLength(4)
})

test('a hop-by-hop header is walked to the ICMPv6 header behind it, as tcpdump walks it', async () => {
  await using lab = await labOnPath('netlink', 'capture-hbh')
  const a = await lab.namespace('a')
  const b = await lab.namespace('b')
  await lab.veth([a, 'eth0'], [b, 'eth0'])
  const cap = await b.capture('eth0', { filter: 'ip6 and ip6[6] == 0' }) // next header 0: hop-by-hop options
  // A new address joins its solicited-node group: the kernel sends an MLDv2 report with a router alert option.
  await a.addrAdd('eth0', 'fd00::9/64')
  await expect.poll(async () => (await cap.packets()).some((p) => p.icmp?.type === 143), { timeout: 10_000 }).toBe(true)
  const pkts = await cap.stop()
  const tcpdump = (await b.exec(['tcpdump', '-nn', '-v', '-r', cap.file], { check: true })).stdout
  const reports = tcpdump.split('\n').filter((l) => / IP6 /.test(l))
  expect(reports.length, tcpdump).toBe(pkts.length)
  expect(reports.every((l) => /HBH \(rtalert/.test(l) && /multicast listener report v2/.test(l)), tcpdump).toBe(true)
  for (const p of pkts) {
    expect(p.ip, p.summary).toMatchObject({ version: 6, protocol: 58, extensions: [0] })
    expect(p.ip?.fragment).toBeUndefined()
    expect(p.icmp, p.summary).toMatchObject({ type: 143, code: 0 })
  }
})
