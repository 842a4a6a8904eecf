// Issue 13, item 6: hostile strings (quotes, '#', '\', newlines, NUL, U+2028, '..', '/', leading '-',
// 300-byte and multi-byte strings; see test/unit/values.test.ts) for the string inputs of every public verb,
// on both kernel paths. One invariant, judged from the kernel's own output (`ip -j`, `nft -j`, files):
//   - refused with 'invalid-input' and the lab's namespaces read back exactly as before, or
//   - refused by the kernel ('command-failed', e.g. no such device) and, again, nothing changed, or
//   - done, and the kernel holds exactly what was asked;
// and in every case nothing outside the lab changed: the root namespace's links, addresses and routes, /etc,
// and this process's markers under /run/netspec apart from the lab's own (other processes' labs come and go).
// Bounded in `npm test` (NETSPEC_FUZZ_RUNS per path, default 12: ~20 s); `npm run fuzz` runs a larger size.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { Lab, isNetspecError, masquerade, portForward, snat, type Namespace } from 'netspec'
import { LABS_DIR } from '../../src/lab/owner.js'
import { labIsGone } from '../fixtures/kernel.js'
import { hostile } from '../fixtures/hostile.js'
import { labOnPath } from '../fixtures/lab-path.js'

const RUNS = Number(process.env.NETSPEC_FUZZ_RUNS ?? 12)
const SEED = process.env.NETSPEC_FUZZ_SEED === undefined ? undefined : Number(process.env.NETSPEC_FUZZ_SEED)

const ipj = (args: string[]): unknown[] => JSON.parse(execFileSync('ip', ['-j', ...args], { encoding: 'utf8' }) || '[]') as unknown[]

/** Links (name, kind, alias, master, mtu), addresses and routes of all tables of one namespace (root: undefined). */
function netState(netns?: string): unknown {
  const n = netns === undefined ? [] : ['-n', netns]
  const links = (ipj([...n, '-d', 'link', 'show']) as { ifname: string; ifalias?: string; master?: string; mtu: number; linkinfo?: { info_kind?: string } }[])
    .map((l) => `${l.ifname} ${l.linkinfo?.info_kind ?? ''} ${l.master ?? ''} ${l.mtu} ${JSON.stringify(l.ifalias ?? '')}`)
    .sort()
  const addrs = (ipj([...n, 'addr', 'show']) as { ifname: string; addr_info: { local: string; prefixlen: number }[] }[])
    .flatMap((l) => l.addr_info.map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`))
    .sort()
  const routes = [...ipj([...n, '-4', 'route', 'show', 'table', 'all']), ...ipj([...n, '-6', 'route', 'show', 'table', 'all'])]
    .map((r) => {
      const { dst, dev, gateway, table } = r as Record<string, string>
      return `${dst} ${dev ?? ''} ${gateway ?? ''} ${table ?? 'main'}`
    })
    .sort()
  return { links, addrs, routes }
}

function nftRuleset(netns: string): string {
  return execFileSync('ip', ['netns', 'exec', netns, 'nft', '-j', 'list', 'ruleset'], { encoding: 'utf8' })
}

/** /etc without /etc/netns (entries, sizes, mtimes), and the names in /etc/netns. */
function etcState(): { etc: string[]; netns: string[] } {
  const etc = readdirSync('/etc')
    .filter((e) => e !== 'netns')
    .map((e) => {
      const s = statSync(`/etc/${e}`, { throwIfNoEntry: false })
      return `${e} ${s?.size ?? '-'} ${s?.mtimeMs ?? '-'}`
    })
  return { etc, netns: existsSync('/etc/netns') ? readdirSync('/etc/netns') : [] }
}

/** Markers of this process: other processes' labs come and go on a shared machine and are not ours to judge. */
const ownMarkers = (): string[] => (existsSync(LABS_DIR) ? readdirSync(LABS_DIR).filter((f) => f.startsWith(`${process.pid}-`)).sort() : [])

const labOn = (path: 'netlink' | 'ip'): Promise<Lab> => labOnPath(path, `fuzz (${path})`)

interface World {
  lab: Lab
  a: Namespace
  b: Namespace
}

/** One verb with a hostile string; returns a check of the kernel state when the verb succeeded. */
type Verb = (w: World, s: string) => Promise<() => void | Promise<void>>

const linkOf = (ns: Namespace, name: string) =>
  (ipj(['-n', ns.name, '-d', 'link', 'show']) as { ifname: string; ifalias?: string; linkinfo?: { info_kind?: string }; master?: string }[]).find((l) => l.ifname === name)
const addrsOf = (ns: Namespace) => (netState(ns.name) as { addrs: string[] }).addrs
const routesOf = (ns: Namespace) => (netState(ns.name) as { routes: string[] }).routes

const VERBS: Record<string, Verb> = {
  'addrAdd dev': async ({ a }, s) => {
    await a.addrAdd(s, '10.9.9.9/24')
    return () => expect(addrsOf(a)).toContain(`${s} 10.9.9.9/24`)
  },
  'addrAdd cidr': async ({ a }, s) => {
    await a.addrAdd('veth1', s)
    return () => expect(addrsOf(a).some((x) => x.startsWith('veth1 ') && !x.includes('10.0.12.1/24'))).toBe(true)
  },
  'routeAdd dev': async ({ a }, s) => {
    await a.routeAdd('10.77.0.0/16', { dev: s })
    return () => expect(routesOf(a)).toContain(`10.77.0.0/16 ${s}  main`)
  },
  'routeAdd table': async ({ a }, s) => {
    await a.routeAdd('10.78.0.0/16', { via: '10.0.12.2', table: s })
    return () => expect(routesOf(a).some((r) => r.startsWith('10.78.0.0/16 veth1 10.0.12.2 '))).toBe(true)
  },
  'routeAdd destination': async ({ a }, s) => {
    await a.routeAdd(s, { dev: 'veth1' })
    return () => expect(routesOf(a).filter((r) => r.includes(' veth1 ')).length).toBeGreaterThan(1)
  },
  'linkSet dev': async ({ a }, s) => {
    await a.linkSet(s, { mtu: 1400 })
    return () => expect((netState(a.name) as { links: string[] }).links.some((l) => l.startsWith(`${s} `) && l.includes(' 1400 '))).toBe(true)
  },
  'linkSet alias': async ({ a }, s) => {
    await a.linkSet('veth1', { alias: s })
    return () => expect(linkOf(a, 'veth1')?.ifalias).toBe(s)
  },
  'veth end alias': async ({ lab, a, b }, s) => {
    await lab.veth([a, 'x1', { alias: s }], [b, 'y1'])
    return () => expect(linkOf(a, 'x1')?.ifalias).toBe(s)
  },
  linkDel: async ({ a }, s) => {
    await a.linkDel(s)
    return () => expect(linkOf(a, s)).toBeUndefined()
  },
  'veth names': async ({ lab, a, b }, s) => {
    await lab.veth([a, s], [b, `${s.slice(0, 13)}p`])
    return () => {
      expect(linkOf(a, s)?.linkinfo?.info_kind).toBe('veth')
      expect(linkOf(b, `${s.slice(0, 13)}p`)?.linkinfo?.info_kind).toBe('veth')
    }
  },
  'bridge and plug': async ({ lab, a, b }, s) => {
    const br = await lab.bridge(a, s)
    await br.plug([b, 'eth9'], { port: `p${s.slice(0, 10)}` })
    return () => {
      expect(linkOf(a, s)?.linkinfo?.info_kind).toBe('bridge')
      expect(linkOf(a, `p${s.slice(0, 10)}`)?.master).toBe(s)
    }
  },
  'namespace label': async ({ lab }, s) => {
    const ns = await lab.namespace(s)
    return () => expect(ipj(['netns', 'list']).some((n) => (n as { name: string }).name === ns.name)).toBe(true)
  },
  'sysctl key': async ({ a }, s) => {
    await a.sysctlSet(s, 1)
    return async () => expect(await a.sysctlGet(s)).toBe('1')
  },
  'namespace sysctls': async ({ lab }, s) => {
    const ns = await lab.namespace('z', { sysctls: { [s]: 0 } })
    return async () => expect(await ns.sysctlGet(s)).toBe('0')
  },
  'files name': async ({ lab }, s) => {
    const ns = await lab.namespace('f', { files: { [s]: 'x' } })
    return () => {
      if (lab.executor.kind === 'local') expect(readFileSync(`/etc/netns/${ns.name}/${s}`, 'utf8')).toBe('x')
    }
  },
  'masquerade outInterface': async ({ a }, s) => {
    const rule = await masquerade(a, { source: '10.0.12.0/24', outInterface: s })
    return () => expect(JSON.stringify(rule.expr)).toContain(JSON.stringify(s))
  },
  'snat outInterface': async ({ a }, s) => {
    const rule = await snat(a, { source: '10.0.12.0/24', to: '10.0.12.1', outInterface: s })
    return () => expect(JSON.stringify(rule.expr)).toContain(JSON.stringify(s))
  },
  'portForward inInterface': async ({ a }, s) => {
    const rule = await portForward(a, { port: 8080, to: '10.0.12.2:80', inInterface: s })
    return () => expect(JSON.stringify(rule.expr)).toContain(JSON.stringify(s))
  },
  'capture iface': async ({ a }, s) => {
    const cap = await a.capture(s)
    return async () => {
      expect(Array.isArray(await cap.stop())).toBe(true)
    }
  },
  'capture filter': async ({ a }, s) => {
    const cap = await a.capture('veth1', { filter: s, readyTimeoutMs: 5000 })
    return async () => {
      expect(Array.isArray(await cap.stop())).toBe(true)
    }
  },
}

/** Hostile strings, plus plain ones (so the "done exactly as asked" side is exercised too). */
const input = fc.oneof(
  { weight: 3, arbitrary: hostile() },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z][a-z0-9_.-]{0,10}$/) },
  { weight: 1, arbitrary: fc.constantFrom('veth1', 'lo', 'net.ipv4.ip_forward', 'net.ipv4.conf.all.rp_filter', '100', 'main', 'icmp', 'hosts', '10.55.0.0/16', 'x y', 'é') },
)

describe.each(['netlink', 'ip'] as const)('hostile input on the %s path', (path) => {
  test(`${RUNS} random verbs with hostile strings: refused before anything changed, or done exactly`, { timeout: 600_000 }, async () => {
    const tally = { refused: 0, kernelRefused: 0, done: 0 }
    const verbs = Object.keys(VERBS)
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...verbs), input, async (verb, s) => {
        const rootBefore = netState()
        const etcBefore = etcState()
        const lab = await labOn(path)
        try {
          const a = await lab.namespace('a')
          const b = await lab.namespace('b')
          await lab.veth([a, 'veth1', '10.0.12.1/24'], [b, 'veth2', '10.0.12.2/24'])
          await Promise.all([a.links(), b.links()]) // everything owed is sent: the state below is settled
          const before = [netState(a.name), netState(b.name), nftRuleset(a.name)]
          const namespacesBefore = [...lab.marker.namespaces]
          const t0 = performance.now()
          const outcome = await VERBS[verb]!({ lab, a, b }, s).then(
            (check) => ({ check }),
            (error: unknown) => ({ error }),
          )
          if (performance.now() - t0 > 1000) console.log(`slow: ${verb} ${JSON.stringify(s)} ${Math.round(performance.now() - t0)} ms`)
          if ('error' in outcome) {
            const e = outcome.error
            if (!isNetspecError(e, 'invalid-input') && !isNetspecError(e, 'command-failed')) throw e
            isNetspecError(e, 'invalid-input') ? tally.refused++ : tally.kernelRefused++
            expect([netState(a.name), netState(b.name), nftRuleset(a.name)], `${verb} ${JSON.stringify(s)}: ${String(e)}`).toEqual(before)
            // A refused namespace leaves no name in the lab; a kernel-refused one is removed at teardown like any other.
            if (isNetspecError(e, 'invalid-input')) expect(lab.marker.namespaces).toEqual(namespacesBefore)
          } else {
            tally.done++
            await outcome.check()
          }
          expect(ownMarkers()).toEqual([`${lab.id}.json`])
        } finally {
          await lab.destroy()
        }
        expect(labIsGone(lab)).toEqual([])
        expect(netState(), 'the root namespace changed').toEqual(rootBefore)
        const etcAfter = etcState()
        expect(etcAfter.etc, '/etc changed').toEqual(etcBefore.etc)
        expect(etcAfter.netns.filter((n) => !etcBefore.netns.includes(n) && n.includes(`-${lab.id}-`))).toEqual([])
        expect(ownMarkers()).toEqual([])
      }),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: true },
    )
    console.log(`netspec fuzz (${path}): ${RUNS} runs, ${tally.refused} refused (invalid-input), ${tally.kernelRefused} refused by the kernel, ${tally.done} done and read back`)
  })
})
