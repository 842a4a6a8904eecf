import { describe, expect, test } from 'vitest'
import { judgeFeature, KERNEL_FEATURES, parseKernelConfig, parseProbeOutput, probeScript, skipReasonFor } from '../../src/kernel/features.js'

const CONFIG = `
CONFIG_VETH=y
CONFIG_NET_SCH_TBF=y
CONFIG_NET_SCH_NETEM=m
# CONFIG_VLAN_8021Q is not set
CONFIG_NF_TABLES=y
CONFIG_NF_TABLES_INET=y
`

describe('kernel config', () => {
  test('y, m and "is not set" are read; the rest is unknown', () => {
    const c = parseKernelConfig(CONFIG)
    expect(c.get('CONFIG_VETH')).toBe('y')
    expect(c.get('CONFIG_NET_SCH_NETEM')).toBe('m')
    expect(c.get('CONFIG_VLAN_8021Q')).toBe('n')
    expect(c.get('CONFIG_DUMMY')).toBeUndefined()
  })
})

describe('probes', () => {
  test('one script tries every feature and reports each by name', () => {
    const script = probeScript(KERNEL_FEATURES)
    for (const f of KERNEL_FEATURES) expect(script).toContain(`probe ${f} '`)
    expect(script).toContain("probe netem 'tc qdisc add dev lo root netem delay 1ms'")
  })

  test('its output is parsed per feature, unknown names ignored', () => {
    const out = '@@netspec-feature netem 2 Error: Specified qdisc kind is unknown.\n@@netspec-feature veth 0 \n@@netspec-feature bogus 0 \nnoise\n'
    const p = parseProbeOutput(out)
    expect(p.get('netem')).toEqual({ rc: 2, message: 'Error: Specified qdisc kind is unknown.' })
    expect(p.get('veth')).toEqual({ rc: 0, message: '' })
    expect(p.size).toBe(2)
  })
})

describe('judging a feature', () => {
  const config = parseKernelConfig(CONFIG)

  test('a probe that worked wins', () => {
    expect(judgeFeature('tbf', { rc: 0, message: '' }, config)).toMatchObject({ available: true, source: 'probe', evidence: 'works' })
  })

  test('a failed probe of a feature the kernel was built without says so, and that no module helps', () => {
    const s = judgeFeature('vlan', { rc: 2, message: 'Error: Unknown device type.' }, config)
    expect(s).toMatchObject({ available: false, source: 'probe' })
    expect(s.evidence).toBe('CONFIG_VLAN_8021Q is not set; the kernel said: Error: Unknown device type.')
    expect(s.hint).toContain('no module can add it')
  })

  test('a failed probe of a module feature says which module to load', () => {
    expect(judgeFeature('netem', { rc: 2, message: 'Error: Specified qdisc kind is unknown.' }, config).hint).toBe('load the module: modprobe sch_netem')
  })

  test('without probes (not root) the config decides; without either it is unknown', () => {
    expect(judgeFeature('nft', undefined, config)).toMatchObject({ available: true, source: 'config', evidence: 'CONFIG_NF_TABLES=y, CONFIG_NF_TABLES_INET=y' })
    expect(judgeFeature('vlan', undefined, config)).toMatchObject({ available: false, source: 'config' })
    expect(judgeFeature('dummy', undefined, undefined)).toMatchObject({ available: undefined, source: 'none' })
  })

  test('a probe that could not run (tool missing) falls back to the config', () => {
    expect(judgeFeature('tbf', { rc: 127, message: 'sh: 1: tc: not found' }, config)).toMatchObject({ available: true, source: 'config' })
  })

  test('the skip reason names every missing feature and why', () => {
    const statuses = [judgeFeature('tbf', { rc: 0, message: '' }, config), judgeFeature('vlan', { rc: 2, message: 'Error: Unknown device type.' }, config)]
    expect(skipReasonFor(statuses, ['tbf'])).toBeUndefined()
    expect(skipReasonFor(statuses, ['tbf', 'vlan'])).toBe('kernel lacks vlan (CONFIG_VLAN_8021Q is not set; the kernel said: Error: Unknown device type.)')
  })
})
