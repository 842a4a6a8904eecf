// Pure parsers behind the assertions: targets, conntrack lines, nft -j rulesets.
import { describe, expect, test } from 'vitest'
import { parseConntrack, parseTarget } from '../../src/assert/index.js'
import { dropsBetween, parseRuleTexts, parseRuleset } from '../../src/kernel/nft.js'

describe('parseTarget', () => {
  test('ICMP, TCP, UDP, IPv4 and IPv6', () => {
    expect(parseTarget('10.0.0.2')).toMatchObject({ proto: 'icmp', address: '10.0.0.2', family: 4 })
    expect(parseTarget('tcp://10.0.0.2:80')).toMatchObject({ proto: 'tcp', port: 80 })
    expect(parseTarget('udp://[fd00::2]:53')).toMatchObject({ proto: 'udp', address: 'fd00::2', family: 6, port: 53 })
    expect(parseTarget({ host: '10.0.0.2', port: 22 })).toMatchObject({ proto: 'tcp', text: 'tcp://10.0.0.2:22' })
  })
  test('rejects before anything runs', () => {
    expect(() => parseTarget('tcp://10.0.0.2')).toThrow(/needs a port/)
    expect(() => parseTarget('icmp://10.0.0.2:80')).toThrow(/ICMP has no ports/)
    expect(() => parseTarget('10.0.0.300')).toThrow()
  })
})

test('parseConntrack: original vs reply tuple', () => {
  const line =
    'ipv4     2 tcp      6 119 TIME_WAIT src=172.16.0.2 dst=10.0.1.26 sport=40000 dport=80 src=10.0.1.26 dst=10.0.1.48 sport=80 dport=40000 [ASSURED] mark=0 use=1'
  expect(parseConntrack(`${line}\nconntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.\n`)).toEqual([
    {
      proto: 'tcp',
      state: 'TIME_WAIT',
      original: { src: '172.16.0.2', dst: '10.0.1.26', sport: 40000, dport: 80 },
      reply: { src: '10.0.1.26', dst: '10.0.1.48', sport: 80, dport: 40000 },
    },
  ])
})

test('parseRuleset + dropsBetween: only counters that moved are blamed; uncounted rules and drop policies only may have', () => {
  const rs = parseRuleset(
    JSON.stringify({
      nftables: [
        { chain: { family: 'inet', table: 'fw', name: 'input', hook: 'input', policy: 'accept' } },
        { chain: { family: 'inet', table: 'fw', name: 'fwd', hook: 'forward', policy: 'drop' } },
        { rule: { family: 'inet', table: 'fw', chain: 'input', handle: 3, expr: [{ counter: { packets: 0, bytes: 0 } }, { drop: null }] } },
        { rule: { family: 'inet', table: 'fw', chain: 'input', handle: 4, expr: [{ counter: { packets: 5, bytes: 420 } }, { drop: null }] } },
        { rule: { family: 'inet', table: 'fw', chain: 'input', handle: 5, expr: [{ accept: null }] } },
      ],
    }),
  )
  // Read again after one more probe: rule #4 counted 2 more, rule #3 stayed at 0, a rule without a counter appeared.
  const after = parseRuleset(
    JSON.stringify({
      nftables: [
        { chain: { family: 'inet', table: 'fw', name: 'fwd', hook: 'forward', policy: 'drop' } },
        { rule: { family: 'inet', table: 'fw', chain: 'input', handle: 3, expr: [{ counter: { packets: 0, bytes: 0 } }, { drop: null }] } },
        { rule: { family: 'inet', table: 'fw', chain: 'input', handle: 4, expr: [{ counter: { packets: 7, bytes: 588 } }, { drop: null }] } },
        { rule: { family: 'inet', table: 'fw', chain: 'input', handle: 6, expr: [{ reject: null }] } },
      ],
    }),
  )
  expect(dropsBetween(rs, after)).toEqual({
    moved: ['chain inet fw input: rule #4 drop (7 packets counted, 2 during this check)'],
    maybe: ['chain inet fw input: rule #6 reject (no counter)', 'chain inet fw fwd: policy drop (hook forward)'],
  })
  // A stale count (5 before, 5 after) is not blamed.
  expect(dropsBetween(rs, rs).moved).toEqual([])
  expect(parseRuleset('').drops).toEqual([])
})

test('parseRuleTexts: each rule in nft’s own words, keyed by family, table, chain and handle; the comment stays quoted', () => {
  const listing = [
    'table inet fw { # handle 3',
    '\tchain input { # handle 1',
    '\t\ttype filter hook input priority filter; policy accept;',
    '\t\tip saddr 10.0.12.1 counter packets 4 bytes 336 drop comment "no # handle 9 here" # handle 2',
    '\t}',
    '}',
    'table ip nat { # handle 4',
    '\tchain postrouting { # handle 1',
    '\t\tmasquerade # handle 5',
    '\t}',
    '}',
  ].join('\n')
  const texts = parseRuleTexts(listing)
  expect([...texts]).toEqual([
    ['inet fw input 2', 'ip saddr 10.0.12.1 counter packets 4 bytes 336 drop comment "no # handle 9 here"'],
    ['ip nat postrouting 5', 'masquerade'],
  ])
  // Without the text (not read), the JSON comment is still quoted.
  const rs = parseRuleset(
    JSON.stringify({ nftables: [{ rule: { family: 'inet', table: 'fw', chain: 'input', handle: 2, comment: 'say "no"', expr: [{ counter: { packets: 1, bytes: 84 } }, { drop: null }] } }] }),
  )
  expect(dropsBetween(undefined, rs).moved).toEqual(['chain inet fw input: rule #2 drop (comment "say \\"no\\"") (1 packets counted, 1 during this check)'])
})
