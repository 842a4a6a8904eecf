// The `nft monitor` trace parser and the per-namespace verdict, on lines captured from nft 1.0.6 on kernel 6.18.
import { describe, expect, test } from 'vitest'
import { describeStop, fateOf, parseTraceLines, ruleName, tracedPackets } from '../../src/explain/trace-parse.js'
import { echoId, isProbePacket, makeProbe, probeMatch, type Probe } from '../../src/explain/probe.js'
import { parseTarget } from '../../src/assert/target.js'

// gw, `nft -a monitor`: the probe (icmp id 9837) marked by the trace table, then dropped by a forward rule.
const GW_RULE_DROP = `add chain inet netspec-trace-9837 ready0 # handle 3
delete chain inet netspec-trace-9837 ready0
# new generation 3 by process 29503 (nft)
trace id c136991c inet netspec-trace-9837 pre packet: iif "e1" ether saddr 16:0a:04:cc:13:56 ether daddr 56:ad:be:d4:7a:0b ip saddr 10.0.2.1 ip daddr 10.0.1.1 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 22979 ip protocol icmp ip length 84 icmp type echo-request icmp code net-unreachable icmp id 9837 icmp sequence 1 @th,64,96 0x4c62036b00000000f8b20d00 
trace id c136991c inet netspec-trace-9837 pre rule icmp type echo-request icmp id 9837 meta nftrace set 1 # handle 3 (verdict continue)
trace id c136991c inet netspec-trace-9837 pre policy accept 
trace id c136991c inet filter forward packet: iif "e1" oif "e0" ether saddr 16:0a:04:cc:13:56 ether daddr 56:ad:be:d4:7a:0b ip saddr 10.0.2.1 ip daddr 10.0.1.1 ip dscp cs0 ip ecn not-ect ip ttl 63 ip id 22979 ip protocol icmp ip length 84 icmp type echo-request icmp code net-unreachable icmp id 9837 icmp sequence 1 @th,64,96 0x4c62036b00000000f8b20d00 
trace id c136991c inet filter forward rule ip daddr 10.0.1.1 drop # handle 3 (verdict drop)
`

// h2: an ip-family input chain with policy drop.
const H2_POLICY_DROP = `trace id 285ea51a inet netspec-trace-53232 pre packet: iif "eth0" ether saddr 56:ad:be:d4:7a:0b ether daddr 16:0a:04:cc:13:56 ip saddr 10.0.1.1 ip daddr 10.0.2.1 ip dscp cs0 ip ecn not-ect ip ttl 63 ip id 25580 ip protocol icmp ip length 84 icmp type echo-request icmp code net-unreachable icmp id 53232 icmp sequence 1 @th,64,96 0x4d62036b000000005c2c0100 
trace id 285ea51a inet netspec-trace-53232 pre rule icmp type echo-request icmp id 53232 meta nftrace set 1 # handle 3 (verdict continue)
trace id 285ea51a inet netspec-trace-53232 pre policy accept 
trace id 285ea51a ip host input packet: iif "eth0" ether saddr 56:ad:be:d4:7a:0b ether daddr 16:0a:04:cc:13:56 ip saddr 10.0.1.1 ip daddr 10.0.2.1 ip dscp cs0 ip ecn not-ect ip ttl 63 ip id 25580 ip length 84 icmp type echo-request icmp code net-unreachable icmp id 53232 icmp sequence 1 @th,64,96 0x4d62036b000000005c2c0100 
trace id 285ea51a ip host input policy drop 
`

// gw: a TCP SYN jumps to a sub-chain and a counted, commented rule drops it (counters as the monitor's cache had them).
const GW_SUBCHAIN_DROP = `trace id a879a842 inet netspec-trace-61352 pre packet: iif "e0" ether saddr 06:04:c7:61:68:c2 ether daddr 1e:71:5d:67:ee:75 ip saddr 10.0.1.1 ip daddr 10.0.2.1 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 53266 ip protocol tcp ip length 60 tcp sport 61352 tcp dport 22 tcp flags == syn tcp window 64240 
trace id a879a842 inet netspec-trace-61352 pre rule tcp sport 61352 meta nftrace set 1 # handle 3 (verdict continue)
trace id a879a842 inet netspec-trace-61352 pre policy accept 
trace id a879a842 inet filter forward packet: iif "e0" oif "e1" ether saddr 06:04:c7:61:68:c2 ether daddr 1e:71:5d:67:ee:75 ip saddr 10.0.1.1 ip daddr 10.0.2.1 ip dscp cs0 ip ecn not-ect ip ttl 63 ip id 53266 ip protocol tcp ip length 60 tcp sport 61352 tcp dport 22 tcp flags == syn tcp window 64240 
trace id a879a842 inet filter forward rule jump sub # handle 5 (verdict jump sub)
trace id a879a842 inet filter sub rule tcp dport 22 counter packets 0 bytes 0 drop comment "no ssh" # handle 6 (verdict drop)
`

// gw: a UDP datagram rejected (nft reports a reject as verdict drop).
const GW_REJECT = `trace id 08eac7db inet netspec-trace-62594 pre packet: iif "e0" ether saddr 06:04:c7:61:68:c2 ether daddr 1e:71:5d:67:ee:75 ip saddr 10.0.1.1 ip daddr 10.0.2.1 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 6109 ip protocol udp ip length 43 udp sport 62594 udp dport 53 udp length 23 @th,64,96 0x6e6574737065632d6578706c 
trace id 08eac7db inet netspec-trace-62594 pre rule udp sport 62594 meta nftrace set 1 # handle 3 (verdict continue)
trace id 08eac7db inet netspec-trace-62594 pre policy accept 
trace id 08eac7db inet filter forward packet: iif "e0" oif "e1" ether saddr 06:04:c7:61:68:c2 ether daddr 1e:71:5d:67:ee:75 ip saddr 10.0.1.1 ip daddr 10.0.2.1 ip dscp cs0 ip ecn not-ect ip ttl 63 ip id 6109 ip protocol udp ip length 43 udp sport 62594 udp dport 53 udp length 23 @th,64,96 0x6e6574737065632d6578706c 
trace id 08eac7db inet filter forward rule udp dport 53 reject # handle 4 (verdict drop)
`

// h2: an accepted TCP SYN.
const H2_ACCEPT = `trace id 092319c7 inet netspec-trace-63420 pre packet: iif "eth0" ether saddr 56:ad:be:d4:7a:0b ether daddr 16:0a:04:cc:13:56 ip saddr 10.0.1.1 ip daddr 10.0.2.1 ip dscp cs0 ip ecn not-ect ip ttl 63 ip id 37239 ip protocol tcp ip length 60 tcp sport 63420 tcp dport 80 tcp flags == syn tcp window 64240 
trace id 092319c7 inet netspec-trace-63420 pre rule tcp sport 63420 meta nftrace set 1 # handle 3 (verdict continue)
trace id 092319c7 inet netspec-trace-63420 pre policy accept 
trace id 092319c7 ip host input packet: iif "eth0" ether saddr 56:ad:be:d4:7a:0b ether daddr 16:0a:04:cc:13:56 ip saddr 10.0.1.1 ip daddr 10.0.2.1 ip dscp cs0 ip ecn not-ect ip ttl 63 ip id 37239 ip length 60 tcp sport 63420 tcp dport 80 tcp flags == syn tcp window 64240 
trace id 092319c7 ip host input rule tcp dport 80 accept # handle 3 (verdict accept)
`

// gw: an ICMPv6 echo; nft 1.0.6 prints its id and sequence as "icmpv6 parameter-problem" (0x47470001: id 18247, seq 1).
const GW_V6 = `trace id d941a7c7 inet netspec-trace-18247 pre packet: iif "e0" ether saddr 06:04:c7:61:68:c2 ether daddr 1e:71:5d:67:ee:75 ip6 saddr fd00:1::1 ip6 daddr fd00:2::1 ip6 dscp cs0 ip6 ecn not-ect ip6 hoplimit 64 ip6 flowlabel 141018 ip6 nexthdr ipv6-icmp ip6 length 64 icmpv6 type echo-request icmpv6 code no-route icmpv6 parameter-problem 1195835393 @th,64,96 0x4d62036b000000003eab0500 
trace id d941a7c7 inet netspec-trace-18247 pre rule icmpv6 type echo-request icmpv6 id 18247 meta nftrace set 1 # handle 3 (verdict continue)
trace id d941a7c7 inet netspec-trace-18247 pre policy accept 
trace id d941a7c7 inet filter forward packet: iif "e0" oif "e1" ether saddr 06:04:c7:61:68:c2 ether daddr 1e:71:5d:67:ee:75 ip6 saddr fd00:1::1 ip6 daddr fd00:2::1 ip6 dscp cs0 ip6 ecn not-ect ip6 hoplimit 63 ip6 flowlabel 141018 ip6 nexthdr ipv6-icmp ip6 length 64 icmpv6 type echo-request icmpv6 code no-route icmpv6 parameter-problem 1195835393 @th,64,96 0x4d62036b000000003eab0500 
trace id d941a7c7 inet filter forward rule jump sub # handle 5 (verdict jump sub)
trace id d941a7c7 inet filter forward policy accept 
`

// Loopback, rules added after the monitor started ("unknown rule handle"), a jump and return, then a second
// input chain (priority filter + 10) whose policy drops.
const LO_UNKNOWN_HANDLES = `trace id a3c68c6f inet netspec-trace pre packet: iif "lo" @ll,0,112 0x800 ip saddr 127.0.0.1 ip daddr 127.0.0.1 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 24224 ip protocol icmp ip length 84 icmp type echo-request icmp code net-unreachable icmp id 4242 icmp sequence 1 @th,64,96 0x3a60036b000000002ec60100 
trace id a3c68c6f inet netspec-trace pre unknown rule handle 5 (verdict continue)
trace id a3c68c6f inet netspec-trace pre policy accept 
trace id a3c68c6f inet filter input packet: iif "lo" @ll,0,112 0x800 ip saddr 127.0.0.1 ip daddr 127.0.0.1 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 24224 ip protocol icmp ip length 84 icmp type echo-request icmp code net-unreachable icmp id 4242 icmp sequence 1 @th,64,96 0x3a60036b000000002ec60100 
trace id a3c68c6f inet filter input unknown rule handle 4 (verdict jump sub)
trace id a3c68c6f inet filter sub unknown rule handle 7 (verdict return)
trace id a3c68c6f inet filter input policy accept 
trace id a3c68c6f inet filter in2 packet: iif "lo" @ll,0,112 0x800 ip saddr 127.0.0.1 ip daddr 127.0.0.1 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 24224 ip protocol icmp ip length 84 icmp type echo-request icmp code net-unreachable icmp id 4242 icmp sequence 1 @th,64,96 0x3a60036b000000002ec60100 
trace id a3c68c6f inet filter in2 policy drop 
`

const probe = (target: string, marker: number): Probe => ({ target: parseTarget(target), marker })

describe('parseTraceLines', () => {
  test('reads packets, rules with handles, policies; skips the monitor ruleset lines', () => {
    const ev = parseTraceLines(GW_RULE_DROP)
    expect(ev.map((e) => `${e.kind} ${e.table} ${e.chain}`)).toEqual([
      'packet netspec-trace-9837 pre',
      'rule netspec-trace-9837 pre',
      'policy netspec-trace-9837 pre',
      'packet filter forward',
      'rule filter forward',
    ])
    expect(ev[0]).toMatchObject({ id: 'c136991c', family: 'inet', fields: expect.stringMatching(/^iif "e1" ether saddr .* icmp id 9837 icmp sequence 1 @th,64,96 0x4c62036b00000000f8b20d00$/) })
    expect(ev[2]).toMatchObject({ kind: 'policy', verdict: 'accept' })
    expect(ev[4]).toMatchObject({ kind: 'rule', rule: 'ip daddr 10.0.1.1 drop', handle: 3, verdict: 'drop' })
  })

  test('shows counters bare (the monitor prints its cached values) and keeps comments', () => {
    const drop = parseTraceLines(GW_SUBCHAIN_DROP).at(-1)
    expect(drop).toMatchObject({ chain: 'sub', rule: 'tcp dport 22 counter drop comment "no ssh"', handle: 6, verdict: 'drop' })
    expect(parseTraceLines(GW_SUBCHAIN_DROP).at(-2)).toMatchObject({ rule: 'jump sub', verdict: 'jump sub' })
  })

  test('a rule the monitor did not know is kept by its handle alone', () => {
    const ev = parseTraceLines(LO_UNKNOWN_HANDLES)
    expect(ev[4]).toMatchObject({ kind: 'rule', handle: 4, verdict: 'jump sub' })
    expect(ev[4]!.rule).toBeUndefined()
    expect(ev[5]).toMatchObject({ chain: 'sub', handle: 7, verdict: 'return' })
    expect(ev.at(-1)).toMatchObject({ kind: 'policy', chain: 'in2', verdict: 'drop' })
  })
})

describe('tracedPackets and fateOf', () => {
  test('a drop rule in a base chain', () => {
    const [p, ...rest] = tracedPackets(parseTraceLines(GW_RULE_DROP), 'netspec-trace-9837')
    expect(rest).toEqual([])
    expect(p).toMatchObject({ id: 'c136991c', marked: true })
    const fate = fateOf(p!)
    expect(fate.chains).toEqual(['inet filter forward'])
    expect(describeStop(fate.dropped!)).toBe("chain inet filter forward, rule 'ip daddr 10.0.1.1 drop' (handle 3)")
  })

  test('a base chain policy drop', () => {
    const fate = fateOf(tracedPackets(parseTraceLines(H2_POLICY_DROP), 'netspec-trace-53232')[0]!)
    expect(fate.dropped).toMatchObject({ family: 'ip', table: 'host', chain: 'input', policy: true, reject: false })
    expect(describeStop(fate.dropped!)).toBe('chain ip host input, policy drop')
  })

  test('a drop in a chain jumped to names the base chain it came from', () => {
    const fate = fateOf(tracedPackets(parseTraceLines(GW_SUBCHAIN_DROP), 'netspec-trace-61352')[0]!)
    expect(describeStop(fate.dropped!)).toBe(`chain inet filter sub (from forward), rule 'tcp dport 22 counter drop comment "no ssh"' (handle 6)`)
  })

  test('reject is told apart from drop by the rule text', () => {
    const fate = fateOf(tracedPackets(parseTraceLines(GW_REJECT), 'netspec-trace-62594')[0]!)
    expect(fate.dropped).toMatchObject({ rule: 'udp dport 53 reject', reject: true })
    expect(fateOf(tracedPackets(parseTraceLines(GW_RULE_DROP), 'netspec-trace-9837')[0]!).dropped?.reject).toBe(false)
  })

  test('accepted by a rule, or by a policy after a jump', () => {
    expect(fateOf(tracedPackets(parseTraceLines(H2_ACCEPT), 'netspec-trace-63420')[0]!)).toEqual({
      chains: ['ip host input'],
      accepted: "chain ip host input, rule 'tcp dport 80 accept' (handle 3)",
    })
    expect(fateOf(tracedPackets(parseTraceLines(GW_V6), 'netspec-trace-18247')[0]!)).toEqual({
      chains: ['inet filter forward'],
      accepted: 'chain inet filter forward, policy accept',
    })
  })

  test('a later base chain on the same hook can still drop what an earlier one accepted; unknown handles are named', () => {
    const fate = fateOf(tracedPackets(parseTraceLines(LO_UNKNOWN_HANDLES), 'netspec-trace')[0]!)
    expect(fate.chains).toEqual(['inet filter input', 'inet filter in2'])
    expect(describeStop(fate.dropped!)).toBe('chain inet filter in2, policy drop')
    expect(ruleName(undefined, 4)).toBe('rule handle 4')
  })

  test("a reused trace id starts a new packet at the trace table; packets traced by someone else's rule are not marked", () => {
    const twice = GW_RULE_DROP + GW_RULE_DROP.replace(/icmp id 9837 icmp sequence 1/g, 'icmp id 9837 icmp sequence 2')
    const packets = tracedPackets(parseTraceLines(twice), 'netspec-trace-9837')
    expect(packets.map((p) => /icmp sequence (\d)/.exec(p.fields)?.[1])).toEqual(['1', '2'])
    expect(packets.every((p) => p.events.length === 2)).toBe(true)
    // The same lines seen with another table name as "ours": the filter table's packet is not the trace table's.
    const foreign = tracedPackets(parseTraceLines(H2_POLICY_DROP), 'some-other-table')
    expect(foreign.map((p) => p.marked)).toEqual([false])
  })
})

describe('the probe', () => {
  test('matches only its own packets: echo id (IPv4, IPv6 as nft 1.0.6 prints it) or source port', () => {
    expect(echoId(parseTraceLines(GW_RULE_DROP)[0]!.fields!)).toBe(9837)
    expect(echoId(parseTraceLines(GW_V6)[0]!.fields!)).toBe(18247)
    expect(isProbePacket(probe('fd00:2::1', 18247), parseTraceLines(GW_V6)[0]!.fields!)).toBe(true)
    expect(isProbePacket(probe('10.0.1.1', 9838), parseTraceLines(GW_RULE_DROP)[0]!.fields!)).toBe(false)
    expect(isProbePacket(probe('udp://10.0.2.1:53', 62594), parseTraceLines(GW_REJECT)[0]!.fields!)).toBe(true)
    expect(isProbePacket(probe('tcp://10.0.2.1:53', 62594), parseTraceLines(GW_REJECT)[0]!.fields!)).toBe(false)
  })

  test('the nft match selects the request direction only', () => {
    expect(probeMatch(probe('10.0.2.1', 42))).toBe('icmp type echo-request icmp id 42')
    expect(probeMatch(probe('fd00::1', 42))).toBe('icmpv6 type echo-request icmpv6 id 42')
    expect(probeMatch(probe('tcp://10.0.2.1:80', 61001))).toBe('meta l4proto tcp th sport 61001')
    const p = makeProbe(parseTarget('udp://10.0.2.1:53'))
    expect(p.marker).toBeGreaterThanOrEqual(61000)
    expect(p.marker).toBeLessThan(65536)
  })
})
