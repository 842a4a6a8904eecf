// The drop watcher's pure parts: reason names from the tracepoint's format, the printed line and packet header,
// an nft rule's text by handle, the words for a reason, and the feature detection.
import { describe, expect, test } from 'vitest'
import { bpftraceProgram, decodePacket, parseDropLine } from '../../src/drops/program.js'
import { isDecisive, parseReasons, phraseFor } from '../../src/drops/reasons.js'
import { ruleLine } from '../../src/drops/probe-drops.js'
import { dropsSupport } from '../../src/drops/watcher.js'

// As /sys/kernel/tracing/events/skb/kfree_skb/format prints it (kernel 6.18, shortened).
const PRINT_FMT =
  'print fmt: "skbaddr=%p rx_sk=%p protocol=%u location=%pS reason: %s", REC->skbaddr, REC->rx_sk, REC->protocol, REC->location, ' +
  '__print_symbolic(REC->reason, { 2, "NOT_SPECIFIED" }, { 3, "NO_SOCKET" }, { 12, "NETFILTER_DROP" }, { 16, "IP_RPFILTER" }, { 58, "NEIGH_FAILED" }, { 87, "IP_INADDRERRORS" }, { 129, "MAX" })'

/** The line bpftrace prints for a packet: the header bytes as 8 little-endian u64 words. */
function line(inode: number, reason: number, fn: string, header: Buffer): string {
  const b = Buffer.alloc(64)
  header.copy(b)
  const words = Array.from({ length: 8 }, (_, i) => b.readBigUInt64LE(i * 8).toString(16))
  return `D ${inode} ${reason} 3 ${fn} ${words.join(' ')}`
}

const ipv4Echo = (type: number, id: number, seq: number) => {
  const b = Buffer.alloc(28)
  b[0] = 0x45
  b[9] = 1
  Buffer.from([10, 0, 1, 1, 10, 0, 2, 1]).copy(b, 12)
  b[20] = type
  b.writeUInt16BE(id, 24)
  b.writeUInt16BE(seq, 26)
  return b
}

describe('drop reasons', () => {
  test('names come from the running kernel’s print fmt, numbers as it numbers them', () => {
    const r = parseReasons(PRINT_FMT)
    expect(r.get(87)).toBe('IP_INADDRERRORS')
    expect(r.get(16)).toBe('IP_RPFILTER')
    expect(r.get(58)).toBe('NEIGH_FAILED')
    expect(r.size).toBe(7)
    expect(parseReasons('print fmt: "no reasons here"').size).toBe(0)
  })

  test('words for an engineer; a router that does not forward is named so only when its sysctl says 0', () => {
    expect(phraseFor('IP_INADDRERRORS', 'ip_error', '0')).toBe('it does not forward')
    expect(phraseFor('IP_INADDRERRORS', 'ip_error', '1')).toBe('invalid destination address')
    expect(phraseFor('IP_RPFILTER', 'ip_rcv_finish_core')).toBe('reverse-path filter')
    expect(phraseFor('SOME_NEW_REASON', 'f')).toBe('some new reason')
  })

  test('socket-level and flooded-frame drops never decide a check', () => {
    expect(['NO_SOCKET', 'OTHERHOST', 'TCP_CLOSE', 'SOCKET_FILTER', 'NOT_SPECIFIED', 'QUEUE_PURGE', 'CPU_BACKLOG', 'QDISC_DROP', 'A_REASON_OF_A_NEWER_KERNEL'].map(isDecisive)).toEqual(Array(9).fill(false))
    expect(['IP_RPFILTER', 'NETFILTER_DROP', 'NEIGH_FAILED', 'IP_INADDRERRORS'].map(isDecisive)).toEqual([true, true, true, true])
  })
})

describe('the printed drop line', () => {
  test('an IPv4 echo request: inode, reason number, function, addresses, id and sequence', () => {
    const d = parseDropLine(line(4026532001, 87, 'ip_error', ipv4Echo(8, 0xbeef, 7)))
    expect(d).toEqual({
      inode: 4026532001,
      reasonCode: 87,
      ifindex: 3,
      function: 'ip_error',
      packet: { family: 4, src: '10.0.1.1', dst: '10.0.2.1', proto: 'icmp', icmpType: 8, id: 0xbeef, seq: 7 },
    })
  })

  test('IPv6 TCP: ports; IPv4 with options: the transport header after them', () => {
    const v6 = Buffer.alloc(48)
    v6[0] = 0x60
    v6[6] = 6
    v6[8] = 0xfd
    v6[23] = 1
    v6[24] = 0xfd
    v6[39] = 2
    v6.writeUInt16BE(40000, 40)
    v6.writeUInt16BE(22, 42)
    expect(decodePacket(Buffer.concat([v6, Buffer.alloc(16)]))).toEqual({ family: 6, src: 'fd00::1', dst: 'fd00::2', proto: 'tcp', sport: 40000, dport: 22 })
    const opt = Buffer.alloc(64)
    opt[0] = 0x46 // IHL 6: four bytes of options
    opt[9] = 17
    opt.writeUInt16BE(5353, 24 + 2)
    expect(decodePacket(opt)).toMatchObject({ family: 4, proto: 'udp', dport: 5353 })
  })

  test('ARP or anything not IP has no packet; malformed lines are ignored', () => {
    expect(parseDropLine(line(1, 2, 'arp_rcv', Buffer.from([0x00, 0x01, 0x08, 0x00])))?.packet).toBeUndefined()
    expect(parseDropLine('Attaching 2 probes...')).toBeUndefined()
    expect(parseDropLine('D 1 2 3 f zz 0 0 0 0 0 0 0')).toBeUndefined()
  })

  test('a line carries when the kernel dropped the packet (CLOCK_MONOTONIC ns, as process.hrtime.bigint())', () => {
    const at = process.hrtime.bigint()
    const d = parseDropLine(`${line(4026532001, 87, 'ip_error', ipv4Echo(8, 1, 1))} ${at}`)
    expect(d?.nsecs).toBe(at)
    expect(d?.reasonCode).toBe(87)
    expect(parseDropLine(`${line(1, 2, 'f', ipv4Echo(8, 1, 1))} -5`)).toBeUndefined()
    expect(parseDropLine(`${line(1, 2, 'f', ipv4Echo(8, 1, 1))} 12x`)).toBeUndefined()
    expect(bpftraceProgram(4026531840)).toContain('nsecs);')
  })

  test('the program filters out the watcher’s own namespace, and takes only an inode number', () => {
    expect(bpftraceProgram(4026531840)).toContain('$ino != 4026531840')
    expect(() => bpftraceProgram(-1)).toThrow()
    expect(() => bpftraceProgram(1.5)).toThrow()
  })
})

test('an nft rule’s own text by family, table, chain and handle, without its counter values', () => {
  const text = [
    'table inet fw { # handle 1',
    '\tchain input { # handle 1',
    '\t\ttype filter hook input priority filter; policy accept;',
    '\t\ttcp dport 22 counter packets 4 bytes 240 drop # handle 2',
    '\t}',
    '\tchain forward { # handle 3',
    '\t\ttcp dport 22 counter packets 1 bytes 60 drop # handle 7',
    '\t\tct state established counter packets 9 bytes 540 accept comment "never drop these" # handle 8',
    '\t}',
    '}',
  ].join('\n')
  expect(ruleLine(text, { family: 'inet', table: 'fw', chain: 'forward', handle: 7 })).toBe('tcp dport 22 counter drop')
  expect(ruleLine(text, { family: 'ip', table: 'fw', chain: 'forward', handle: 7 })).toBeUndefined()
  expect(ruleLine(text, { family: 'inet', table: 'fw', chain: 'forward', handle: 8 })).toBe('ct state established counter accept comment "never drop these"')
})

test('feature detection says why drop reasons are off, and how to get them', () => {
  expect(dropsSupport({ ...process.env, NETSPEC_DROPS: 'off' })).toMatchObject({ on: false, why: 'turned off (NETSPEC_DROPS=off)' })
  if (process.getuid?.() === 0) {
    expect(dropsSupport({ ...process.env, PATH: '/nonexistent' })).toEqual({ on: false, why: 'no bpftrace on PATH', fix: 'apt-get install -y bpftrace' })
  }
})
