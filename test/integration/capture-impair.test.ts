// Capture, impairment and partition edge cases against the real kernel.
import { test, expect } from 'netspec/vitest'
import { capturesOf } from 'netspec'
import { existsSync } from 'node:fs'

test('a capture on a missing interface fails with the namespace and a hint, and leaves no file', async ({ lab }) => {
  const ns = await lab.namespace('ns1')
  const err = await ns.capture('nope0').catch((e: unknown) => e)
  expect(err).toMatchObject({ kind: 'command-failed', namespace: 'ns1', hint: expect.stringMatching(/nope0/) })
})

test('captures are listed per lab (for diagnostics) and their file is removed at teardown', async ({ lab }) => {
  const ns = await lab.namespace('ns1')
  const cap = await ns.capture('lo', { filter: 'icmp' })
  await ns.exec(['ping', '-c2', '-i0.2', '127.0.0.1'], { check: true })
  const packets = await cap.stop()
  expect(packets.filter((p) => p.icmp?.kind === 'echo-request')).toHaveLength(2)
  expect(await cap.stop()).toEqual(packets) // idempotent
  expect(capturesOf(ns.lab)).toContain(cap)
  expect(existsSync(cap.file)).toBe(true)
  await lab.destroy()
  expect(existsSync(cap.file)).toBe(false)
})

test('bad impairments are rejected before anything is applied', async ({ lab }) => {
  const ns = await lab.namespace('ns1')
  await expect(ns.impair('lo', { loss: 120 })).rejects.toMatchObject({ kind: 'invalid-input' })
  await expect(ns.impair('lo', { rate: 'fast' })).rejects.toMatchObject({ kind: 'invalid-input' })
  await expect(ns.impair('nope0', { loss: 1 })).rejects.toMatchObject({ kind: 'invalid-input', message: expect.stringMatching(/nope0/) })
  // @ts-expect-error unknown key
  await expect(ns.impair('lo', { los: 1 })).rejects.toMatchObject({ kind: 'invalid-input' })
  expect((await ns.exec(['nft', 'list', 'ruleset'])).stdout).toBe('')
})

test('impair() replaces an earlier impairment, and state() reads the kernel back', async ({ lab }) => {
  const ns = await lab.namespace('ns1')
  const a = await lab.namespace('a')
  await lab.veth([ns, 'eth0', '10.0.0.1/24'], [a, 'eth0', '10.0.0.2/24'])
  await ns.impair('eth0', { loss: 10, rate: '2mbit' })
  const link = await ns.impair('eth0', { loss: 40 })
  const state = await link.state()
  if (link.mechanism.qdisc === 'netem') expect(state.qdisc?.kind).toBe('netem')
  else expect(state).toEqual({ nftLoss: 40 }) // tbf from the first call is gone
  await link.clear()
  expect(await link.state()).toEqual({})
})

test('partition input errors: overlapping groups, no addresses', async ({ lab }) => {
  const a = await lab.namespace('a')
  const b = await lab.namespace('b')
  await expect(lab.partition([a], [a, b])).rejects.toMatchObject({ kind: 'invalid-input', message: expect.stringMatching(/both groups/) })
  await expect(lab.partition(a, b)).rejects.toMatchObject({ kind: 'invalid-input', message: expect.stringMatching(/no global addresses/) })
})
