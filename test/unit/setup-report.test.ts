// The start-of-run sweep prints what it removed, never other runs' live labs or lookalike namespaces.
import { describe, expect, test } from 'vitest'
import { startOfRunReport } from '../../src/vitest/setup.js'
import type { SweepReport } from '../../src/lab/sweep.js'

const marker = (labId: string, label: string, ownerPid: number) =>
  ({ labId, label, ownerPid, namespaces: [`ns-${labId}-a`] }) as unknown as SweepReport['live'][number]
const empty = (): SweepReport => ({ removed: [], kept: [], live: [], bad: [], lookalikes: [], failed: [], dryRun: false })

describe('startOfRunReport', () => {
  test('silent when it removed nothing, however many other runs are live', () => {
    const r = empty()
    r.live.push(marker('aaaa', 'other run', 4242), marker('bbbb', 'another run', 4343))
    r.lookalikes.push('ns-cccc-x')
    expect(startOfRunReport(r)).toBeUndefined()
  })

  test('names what it removed and what it could not, and nothing of the live labs', () => {
    const r = empty()
    r.removed.push({ labId: 'dead1', label: 'crashed test', ownerPid: 77, namespaces: ['ns-dead1-a', 'ns-dead1-b'], adopted: [], processes: [], etc: [], marker: '/run/netspec/labs/dead1.json' })
    r.failed.push('ns-dead1-b')
    r.live.push(marker('aaaa', 'other run', 4242))
    r.lookalikes.push('ns-cccc-x')
    const text = startOfRunReport(r)!
    expect(text.split('\n')).toEqual([
      "netspec: removed lab 'crashed test' (id dead1, dead owner pid 77):",
      'netspec:     delete namespace ns-dead1-a',
      'netspec:     delete namespace ns-dead1-b',
      'netspec:     remove marker /run/netspec/labs/dead1.json',
      'netspec: could not remove ns-dead1-b',
    ])
  })

  test('a bad marker is named, with the reason, and nothing in it is acted on', () => {
    const r = empty()
    r.bad.push({ file: '4711-99.json', reason: "namespaces[0] '../../tmp/x' is not a kernel name of lab 4711-99" })
    expect(startOfRunReport(r)).toBe(
      "netspec: bad marker 4711-99.json: namespaces[0] '../../tmp/x' is not a kernel name of lab 4711-99; nothing in it was acted on (look at it, then remove it by hand)",
    )
  })

  test('kept labs: one line, with the commands', () => {
    const r = empty()
    r.kept.push(marker('k1', 'kept one', 1), marker('k2', 'kept two', 2))
    expect(startOfRunReport(r)).toBe('netspec: 2 labs kept for debugging (NETSPEC_KEEP): `npx netspec sweep` lists, `npx netspec sweep --kept --force` removes')
  })
})
