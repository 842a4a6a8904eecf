// Path MTU pieces without root: ping's words (captured from iputils ping on this machine), sizes, the echo request.
import { describe, expect, test } from 'vitest'
import { checkSize, packetBytes, parsePingTooBig } from '../../src/assert/path-mtu.js'
import { echoRequest } from '../../src/kernel/icmp.js'

describe('ping -M do -s N', () => {
  test.each([
    ['From 10.0.1.1 icmp_seq=1 Frag needed and DF set (mtu = 1400)', { by: '10.0.1.1', mtu: 1400, words: 'Frag needed and DF set (mtu = 1400)' }],
    ['From fd01::1 icmp_seq=1 Packet too big: mtu=1400', { by: 'fd01::1', mtu: 1400, words: 'Packet too big: mtu=1400' }],
    ['ping: local error: message too long, mtu=1400', { by: 'local', mtu: 1400, words: 'message too long' }],
    ['ping: local error: message too long, mtu: 1300', { by: 'local', mtu: 1300, words: 'message too long' }],
    ['1 packets transmitted, 0 received, 100% packet loss', undefined],
  ])('%s', (line, want) => {
    expect(parsePingTooBig(`PING x\n${line}\n`)).toEqual(want)
  })
  test('sizes as ping counts them, checked', () => {
    expect(packetBytes(1472, 4)).toBe(1500)
    expect(packetBytes(1452, 6)).toBe(1500)
    expect(checkSize({ size: 1472 }, 'icmp')).toEqual({ size: 1472, dontFragment: true })
    expect(checkSize({}, 'icmp')).toBeUndefined()
    expect(() => checkSize({ size: 1.5 }, 'icmp')).toThrow(/whole number/)
    expect(() => checkSize({ size: 10 }, 'udp')).toThrow(/ICMP probes/)
    expect(echoRequest(4, 1, 2, 1472)).toHaveLength(1480)
    expect(echoRequest(6, 1, 2, 0)).toHaveLength(8)
  })
})
