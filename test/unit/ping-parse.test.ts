// The iputils ping parser (src/kernel/ping.ts) against output captured from iputils 20221126 (Debian 12).
import { describe, expect, test } from 'vitest'
import { parsePing, parsePingError, pingArgv } from '../../src/kernel/ping.js'
import { icmpErrorOfWords } from '../../src/assert/socket-errors.js'

const V4_REPLY = `PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.
64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.127 ms

--- 127.0.0.1 ping statistics ---
1 packets transmitted, 1 received, 0% packet loss, time 0ms
rtt min/avg/max/mdev = 0.127/0.127/0.127/0.000 ms
`
const V6_REPLY = `PING ::1(::1) 56 data bytes
64 bytes from ::1: icmp_seq=1 ttl=64 time=0.030 ms

--- ::1 ping statistics ---
1 packets transmitted, 1 received, 0% packet loss, time 0ms
rtt min/avg/max/mdev = 0.030/0.030/0.030/0.000 ms
`
const NO_REPLY = `PING 10.2.0.2 (10.2.0.2) 56(84) bytes of data.

--- 10.2.0.2 ping statistics ---
1 packets transmitted, 0 received, 100% packet loss, time 0ms

`
const HOST_UNREACHABLE = `PING 10.2.0.2 (10.2.0.2) 56(84) bytes of data.
From 10.2.0.1 icmp_seq=1 Destination Host Unreachable
From 10.2.0.1 icmp_seq=2 Destination Host Unreachable

--- 10.2.0.2 ping statistics ---
2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 1028ms
pipe 2
`

describe('parsePing', () => {
  test('an IPv4 reply: one received, the rtt line\'s average', () => {
    expect(parsePing(V4_REPLY)).toEqual({ received: 1, rttMs: 0.127 })
  })
  test('an IPv6 reply', () => {
    expect(parsePing(V6_REPLY)).toEqual({ received: 1, rttMs: 0.03 })
  })
  test('no reply and ICMP errors: nothing received, no rtt', () => {
    expect(parsePing(NO_REPLY)).toEqual({ received: 0 })
    expect(parsePing(HOST_UNREACHABLE)).toEqual({ received: 0 })
  })
  test('output cut before the statistics (the deadline killed ping): the reply lines count', () => {
    expect(parsePing(V4_REPLY.split('\n').slice(0, 2).join('\n'))).toEqual({ received: 1, rttMs: 0.127 })
  })
  test('empty output (ping missing or killed at once)', () => {
    expect(parsePing('')).toEqual({ received: 0 })
  })
})

describe('pingArgv', () => {
  test('one numeric echo, -6 for IPv6, the wait in seconds, the address after --', () => {
    expect(pingArgv('10.0.0.1', 4, 0.5)).toEqual(['ping', '-n', '-c', '1', '-s', '56', '-W', '0.50', '--', '10.0.0.1'])
    expect(pingArgv('fd00::1', 6, 1)).toEqual(['ping', '-n', '-c', '1', '-s', '56', '-6', '-W', '1.00', '--', 'fd00::1'])
  })
})

// Lines as iputils 20221126 prints them with -n (as in test/integration/reachable-icmp-echo-errors.test.ts's labs); the
// "name (address)" form is how it prints a sender without -n.
describe('parsePingError', () => {
  test("the first \"From X icmp_seq=N <words>\" line: the error's sender and ping's words", () => {
    expect(parsePingError(HOST_UNREACHABLE)).toEqual({ from: '10.2.0.1', words: 'Destination Host Unreachable' })
    expect(parsePingError('PING fd02::2(fd02::2) 56 data bytes\nFrom fd01::fe icmp_seq=1 Destination unreachable: Administratively prohibited\n')).toEqual({
      from: 'fd01::fe',
      words: 'Destination unreachable: Administratively prohibited',
    })
    expect(parsePingError('From gw (10.0.1.254) icmp_seq=1 Packet filtered\n')).toEqual({ from: '10.0.1.254', words: 'Packet filtered' })
  })
  test('replies and silence are no error', () => {
    expect(parsePingError(V4_REPLY)).toBeUndefined()
    expect(parsePingError(NO_REPLY)).toBeUndefined()
  })
})

describe('icmpErrorOfWords', () => {
  test("ping's words back to the ICMP type and code (RFC 792 / RFC 4443)", () => {
    expect(icmpErrorOfWords(4, 'Destination Host Unreachable')).toEqual({ type: 3, code: 1 })
    expect(icmpErrorOfWords(4, 'Destination Port Unreachable')).toEqual({ type: 3, code: 3 })
    expect(icmpErrorOfWords(4, 'Packet filtered')).toEqual({ type: 3, code: 13 })
    expect(icmpErrorOfWords(4, 'Frag needed and DF set (mtu = 1400)')).toEqual({ type: 3, code: 4 })
    expect(icmpErrorOfWords(6, 'Destination unreachable: Administratively prohibited')).toEqual({ type: 1, code: 1 })
    expect(icmpErrorOfWords(6, 'Destination unreachable: Address unreachable')).toEqual({ type: 1, code: 3 })
    expect(icmpErrorOfWords(6, 'Packet too big: mtu=1280')).toEqual({ type: 2, code: 0 })
    // Codes ping has no words for: the code it prints.
    expect(icmpErrorOfWords(6, 'Destination unreachable: Unknown code 5')).toEqual({ type: 1, code: 5 })
    expect(icmpErrorOfWords(4, 'Dest Unreachable, Bad Code: 16')).toEqual({ type: 3, code: 16 })
  })
  test('words of the other family, or unknown ones, are not guessed', () => {
    expect(icmpErrorOfWords(6, 'Destination Host Unreachable')).toBeUndefined()
    expect(icmpErrorOfWords(4, 'Redirect Host(New nexthop: 10.0.0.1)')).toBeUndefined()
  })
})
