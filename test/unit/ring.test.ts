import { describe, expect, test } from 'vitest'
import { LineRing } from '../../src/exec/ring.js'
import { NetspecError } from '../../src/errors.js'

describe('LineRing', () => {
  test('keeps the newest lines of both streams in arrival order, lines split across chunks joined', () => {
    const r = new LineRing({ lines: 3 })
    r.append('stderr', 'bird: Started\nbird: Chosen router ID 10.0.0.1\nbgp1: Rece')
    r.append('stdout', 'hello\n')
    r.append('stderr', 'ived: Bad peer AS: 65002\n')
    expect(r.lines()).toEqual(['bird: Chosen router ID 10.0.0.1', 'hello', 'bgp1: Received: Bad peer AS: 65002'])
    expect(r.dropped).toBe(1)
    expect(r.lines(1)).toEqual(['bgp1: Received: Bad peer AS: 65002'])
  })

  test('a line not ended yet is shown last; CRLF loses its CR', () => {
    const r = new LineRing()
    r.append('stdout', 'a\r\nNo DHCPOFFERS received.')
    expect(r.lines()).toEqual(['a', 'No DHCPOFFERS received.'])
  })

  test('bounded: 100 000 lines keep 200, and a long line is cut', () => {
    const r = new LineRing({ lineLength: 10 })
    for (let i = 0; i < 100_000; i++) r.append('stdout', `line ${i}\n`)
    expect(r.lines()).toHaveLength(200)
    expect(r.lines().at(-1)).toBe('line 99999')
    r.append('stderr', `${'x'.repeat(50)}\n`)
    expect(r.lines(1)[0]).toBe(`${'x'.repeat(9)}…`)
    expect(() => new LineRing({ lines: 0 })).toThrow(RangeError)
  })
})

describe('a process error', () => {
  test('shows the last output lines under "output", not "kernel said", with the call site', () => {
    const e = new NetspecError('command-failed', 'dhclient in client did not become ready', {
      namespace: 'client',
      netns: 'ns-1-1-client',
      calledAt: '/work/specs/x.spec.ts:9:3',
      exitCode: 2,
      output: ['Internet Systems Consortium DHCP Client', 'No DHCPOFFERS received.'],
    })
    expect(e.message).toBe(
      [
        'dhclient in client did not become ready',
        '  namespace: client (kernel name ns-1-1-client)',
        '  called at: /work/specs/x.spec.ts:9:3',
        '  exit code: 2',
        '  output (last 2 lines):',
        '    | Internet Systems Consortium DHCP Client',
        '    | No DHCPOFFERS received.',
      ].join('\n'),
    )
    expect(e.message).not.toContain('kernel said')
  })
})
