// Pure parts of impairments and partitions: the nft loss rule read back from recorded `nft -j` output,
// and the partition rules generated for both families.
import { describe, expect, test } from 'vitest'
import { lossTable, parseLossRule } from '../../src/impair/impair.js'
import { partitionRules } from '../../src/impair/partition.js'

// Recorded: `nft -j list table inet netspec_loss_eth0` on nft 1.0.6 after impair('eth0', { loss: 30 }).
const RECORDED = `{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "netspec_loss_eth0", "handle": 1}}, {"chain": {"family": "inet", "table": "netspec_loss_eth0", "name": "post", "handle": 1, "type": "filter", "hook": "postrouting", "prio": 0, "policy": "accept"}}, {"rule": {"family": "inet", "table": "netspec_loss_eth0", "chain": "post", "handle": 2, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "eth0"}}, {"match": {"op": "<", "left": {"numgen": {"mode": "random", "mod": 100, "offset": 0}}, "right": 30}}, {"counter": {"packets": 0, "bytes": 0}}, {"drop": null}]}}]}`

describe('loss rule read-back', () => {
  test('finds the numgen threshold', () => {
    expect(parseLossRule(RECORDED)).toBe(30)
  })
  test('a table without a numgen rule has no loss', () => {
    expect(parseLossRule('{"nftables": [{"table": {"family": "inet", "name": "x"}}]}')).toBeUndefined()
  })
  test('table names are safe for any interface name', () => {
    expect(lossTable('veth-a.1')).toBe('netspec_loss_veth_a_1')
  })
})

describe('partition rules', () => {
  const a = { v4: ['10.0.0.1'], v6: ['fd00::1'] }
  const b = { v4: ['10.0.0.2', '10.0.0.3'], v6: [] }
  test('two-way rules drop every packet between the address sets, per family present on both sides', () => {
    expect(partitionRules(a, b, false)).toEqual(['ip saddr { 10.0.0.1 } ip daddr { 10.0.0.2, 10.0.0.3 } counter drop'])
  })
  test('one-way rules drop only new flows, so replies to b still pass', () => {
    expect(partitionRules(a, { v4: [], v6: ['fd00::2'] }, true)).toEqual(['ip6 saddr { fd00::1 } ip6 daddr { fd00::2 } ct state new counter drop'])
  })
})
