// One strict grammar for ports (src/values/port.ts), judged by the kernel on both paths: 'tcp://10.0.12.2:080'
// used to be read as port 80 and probe a listener there; now it is refused before anything runs. For portForward's
// 'to', a property over port-shaped and hostile strings: refused with 'invalid-input' and the gateway's nft ruleset
// and links read back as before, or done, and the DNAT rule nft holds goes to exactly the address and port written.
//
//   a (veth1 10.0.12.1/24) ──── b (veth2 10.0.12.2/24, a listener on tcp 80)
import { execFileSync } from 'node:child_process'
import fc from 'fast-check'
import { afterEach, describe, expect, test } from 'vitest'
import { isNetspecError, listen, portForward, reachable, type Lab } from 'netspec'
import { labIsGone } from '../fixtures/kernel.js'
import { hostile } from '../fixtures/hostile.js'
import { labOnPath } from '../fixtures/lab-path.js'

const RUNS = 3 * Number(process.env.NETSPEC_FUZZ_RUNS ?? 12)

const labs: Lab[] = []
afterEach(async () => {
  for (const lab of labs.splice(0)) {
    await lab.destroy()
    expect(labIsGone(lab)).toEqual([])
  }
})

const ruleset = (netns: string): string => execFileSync('ip', ['netns', 'exec', netns, 'nft', '-j', 'list', 'ruleset'], { encoding: 'utf8' })
const links = (netns: string): string => execFileSync('ip', ['-j', '-n', netns, 'link', 'show'], { encoding: 'utf8' })
/** Every DNAT target in a namespace's ruleset, as nft -j reads it back. */
const dnats = (netns: string): { addr: string; port: number }[] =>
  (JSON.parse(ruleset(netns)) as { nftables: { rule?: { expr: Record<string, { addr: string; port: number }>[] } }[] }).nftables
    .flatMap((o) => o.rule?.expr ?? [])
    .flatMap((e) => (e.dnat === undefined ? [] : [{ addr: e.dnat.addr, port: e.dnat.port }]))

const portText = fc.oneof(
  fc.integer({ min: 0, max: 70000 }).map(String),
  fc.constantFrom('080', '0080', '+80', '-80', ' 80', '80 ', '0x50', '8e1', '80.0', '65536', '', '80/', '80:80'),
)
const toText = fc.oneof(
  fc.tuple(fc.constantFrom('10.0.12.2', '[fd00::2]', 'fd00::2', '[10.0.12.2]', '10.0.12.2 '), portText).map(([a, p]) => `${a}:${p}`),
  hostile(),
)

describe.each(['netlink', 'ip'] as const)('ports on the %s path', (path) => {
  test("'tcp://10.0.12.2:080' is refused before any probe; ':80' reaches the listener", async () => {
    const lab = await labOnPath(path, `ports (${path})`)
    labs.push(lab)
    const a = await lab.namespace('a')
    const b = await lab.namespace('b')
    await lab.veth([a, 'veth1', '10.0.12.1/24'], [b, 'veth2', '10.0.12.2/24'])
    const listener = await listen(b, 80)
    for (const bad of ['tcp://10.0.12.2:080', 'tcp://10.0.12.2:+80', 'tcp://10.0.12.2:80/', 'tcp://10.0.12.2:0x50']) {
      const e = await reachable(a, bad).then(
        () => undefined,
        (err: unknown) => err,
      )
      expect(isNetspecError(e, 'invalid-input') && e.message, bad).toMatch(/reachability target '.*'|must be a decimal number/)
    }
    expect(listener.peers()).toEqual([]) // nothing reached the listener: no probe ran
    const ok = await reachable(a, 'tcp://10.0.12.2:80')
    expect(ok.ok).toBe(true)
    expect((await listener.waitForPeers(1)).map((p) => p.address)).toEqual(['10.0.12.1'])
  })

  test(`portForward 'to': ${RUNS} port-shaped and hostile strings, refused with nothing created or forwarded exactly as written`, { timeout: 120_000 }, async () => {
    const lab = await labOnPath(path, `ports to (${path})`)
    labs.push(lab)
    const gw = await lab.namespace('gw')
    const b = await lab.namespace('b')
    await lab.veth([gw, 'veth1', '10.0.12.1/24', 'fd00::1/64'], [b, 'veth2', '10.0.12.2/24', 'fd00::2/64'])
    const tally = { refused: 0, done: 0 }
    await fc.assert(
      fc.asyncProperty(toText, async (to) => {
        const before = { rules: ruleset(gw.name), links: links(gw.name) }
        const outcome = await portForward(gw, { port: 8080, to }).then(
          () => undefined,
          (e: unknown) => e,
        )
        if (outcome !== undefined) {
          expect(isNetspecError(outcome, 'invalid-input'), `${JSON.stringify(to)}: ${String(outcome)}`).toBe(true)
          expect({ rules: ruleset(gw.name), links: links(gw.name) }).toEqual(before)
          tally.refused++
          return
        }
        tally.done++
        // Accepted: the kernel forwards to exactly the address and port that were written (no leading zero, no sign).
        const m = /^\[?([^\]]+?)\]?:([1-9][0-9]*)$/.exec(to)
        expect(m, to).not.toBeNull()
        expect(dnats(gw.name).at(-1)).toEqual({ addr: m![1], port: Number(m![2]) })
      }),
      { numRuns: RUNS, endOnFailure: true },
    )
    expect(tally.refused).toBeGreaterThan(0)
    // And the accepted side, whatever the random draw: both families, read back from nft.
    await portForward(gw, { port: 8081, to: '10.0.12.2:80' })
    expect(dnats(gw.name).at(-1)).toEqual({ addr: '10.0.12.2', port: 80 })
    await portForward(gw, { proto: 'udp', port: 5353, to: '[fd00::2]:53' })
    expect(dnats(gw.name).at(-1)).toEqual({ addr: 'fd00::2', port: 53 })
    console.log(`ports (${path}): ${tally.refused} refused, ${tally.done} forwarded`)
  })
})
