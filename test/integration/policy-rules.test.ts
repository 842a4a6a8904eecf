// Policy routing against the kernel: rules added, read back and deleted as `ip -j rule` shows them (both
// families), the route lookup model agreeing with `ip -j route get` for rules with every selector, refusing
// rules named by reachable(), rules in a declarative topology, and the README's table-100 example made true.
import { describe, expect, test } from 'netspec/vitest'
import { reachable, type Namespace } from 'netspec'
import { rmSync } from 'node:fs'
import { lookup } from '../../src/assert/fib-lookup.js'
import { attachDiagnostics } from '../../src/vitest/diagnostics.js'

async function rawRules(ns: Namespace, family: 4 | 6): Promise<Record<string, unknown>[]> {
  return JSON.parse((await ns.exec(['ip', '-j', `-${family}`, 'rule', 'show'], { check: true })).stdout) as Record<string, unknown>[]
}

describe('rules', () => {
  test('ruleAdd/ruleDel/rules(): typed as ip -j rule prints them, both families', async ({ lab }) => {
    const a = await lab.namespace('a')
    await a.ruleAdd({ from: '10.0.0.2', table: 100, priority: 100 })
    await a.ruleAdd({ to: '10.9.0.0/16', fwmark: { value: 7, mask: 0xff }, iif: 'lo', table: 'main', priority: 200 })
    await a.ruleAdd({ oif: 'lo', action: 'prohibit', priority: 300 })
    await a.ruleAdd({ family: 6, table: 100, priority: 100 })
    await a.ruleAdd({ from: 'fd00::/64', action: 'unreachable', priority: 150 })
    const raw4 = await rawRules(a, 4)
    expect(raw4).toEqual(expect.arrayContaining([
      { priority: 100, src: '10.0.0.2', table: '100' },
      { priority: 200, src: 'all', dst: '10.9.0.0', dstlen: 16, fwmark: '0x7', fwmask: '0xff', iif: 'lo', table: 'main' },
      { priority: 300, src: 'all', oif: 'lo', action: 'prohibit' },
    ]))
    expect(await rawRules(a, 6)).toEqual(expect.arrayContaining([{ priority: 100, src: 'all', table: '100' }, { priority: 150, src: 'fd00::', srclen: 64, action: 'unreachable' }]))
    const rules = await a.rules()
    expect(rules.filter((r) => r.family === 4).map((r) => r.priority)).toEqual(raw4.map((r) => r.priority))
    expect(rules).toEqual(expect.arrayContaining([
      { family: 4, priority: 100, from: '10.0.0.2/32', to: 'all', not: false, action: 'lookup', table: '100' },
      { family: 4, priority: 200, from: 'all', to: '10.9.0.0/16', iif: 'lo', fwmark: 7, fwmask: 0xff, not: false, action: 'lookup', table: 'main' },
      { family: 4, priority: 300, from: 'all', to: 'all', oif: 'lo', not: false, action: 'prohibit' },
      { family: 6, priority: 100, from: 'all', to: 'all', not: false, action: 'lookup', table: '100' },
      { family: 6, priority: 150, from: 'fd00::/64', to: 'all', not: false, action: 'unreachable' },
    ]))
    await a.ruleDel({ from: '10.0.0.2', table: 100, priority: 100 })
    await a.ruleDel({ family: 6, table: 100 })
    expect((await rawRules(a, 4)).some((r) => r.priority === 100)).toBe(false)
    expect((await rawRules(a, 6)).some((r) => r.priority === 100)).toBe(false)
  })

  test('refused before the kernel is touched: keywords as tables, mixed families, unknown keys', async ({ lab }) => {
    const a = await lab.namespace('a')
    const before = await rawRules(a, 4)
    for (const bad of [{ table: 'all' }, { table: 100, from: '10.0.0.1', to: 'fd00::1' }, { table: 100, iif: 'eth0 table 5' }, { table: 100, oif: '-eth0x'.repeat(3) }, { table: 100, prio: 3 }, { table: 'x y' }, { table: 100, fwmark: 2 ** 32 }])
      await expect(a.ruleAdd(bad as never), JSON.stringify(bad)).rejects.toMatchObject({ kind: 'invalid-input', namespace: 'a' })
    expect(await rawRules(a, 4)).toEqual(before)
    // What the kernel refuses comes back in its words, with the command.
    await expect(a.ruleDel({ from: '10.1.2.3', table: 77 })).rejects.toMatchObject({ kind: 'command-failed', stderr: expect.stringContaining('No such file or directory') })
  })

  test('the lookup model picks the route `ip -j route get` picks, for rules with every selector', async ({ lab }) => {
    const r = await lab.namespace('r', { forwarding: true })
    const x = await lab.namespace('x')
    const y = await lab.namespace('y')
    await lab.veth([r, 'eth0', '10.0.1.1/24', 'fd01::1/64'], [x, 'eth0', '10.0.1.2/24', 'fd01::2/64'])
    await lab.veth([r, 'eth1', '10.0.2.1/24', 'fd02::1/64'], [y, 'eth0', '10.0.2.2/24', 'fd02::2/64'])
    await r.routeAdd('default', { via: '10.0.1.2' })
    await r.routeAdd('default', { via: '10.0.2.2', table: 100 })
    await r.routeAdd('10.9.0.0/16', { via: '10.0.2.2', table: 200 })
    await r.routeAdd('10.9.9.0/24', { type: 'throw', table: 200 })
    await r.routeAdd('10.9.0.0/16', { via: '10.0.1.2', metric: 10 })
    await r.routeAdd('10.9.0.0/16', { via: '10.0.2.2', metric: 5 })
    await r.routeAdd('default', { via: 'fd02::2', table: 100 })
    await r.ruleAdd({ from: '10.0.2.1', table: 100, priority: 100 })
    await r.ruleAdd({ fwmark: 7, table: 100, priority: 110 })
    await r.ruleAdd({ iif: 'eth0', to: '10.9.0.0/16', table: 200, priority: 120 })
    await r.ruleAdd({ oif: 'eth1', table: 100, priority: 130 })
    await r.ruleAdd({ from: 'fd01::/64', table: 100, priority: 100 })
    const [rules, routes] = [await r.rules(), await r.routes()]
    const flows = [
      { dst: '192.0.2.1' },
      { dst: '192.0.2.1', src: '10.0.2.1' },
      { dst: '192.0.2.1', src: '10.0.1.1' },
      { dst: '192.0.2.1', fwmark: 7 },
      { dst: '192.0.2.1', fwmark: 8 },
      { dst: '10.9.1.1' },
      { dst: '10.9.1.1', src: '10.0.1.2', iif: 'eth0' },
      { dst: '10.9.9.1', src: '10.0.1.2', iif: 'eth0' },
      { dst: '192.0.2.1', oif: 'eth1' },
      { dst: 'fd09::1', src: 'fd01::1' },
      { dst: 'fd01::9' },
    ]
    for (const f of flows) {
      const argv = ['ip', '-j', 'route', 'get', f.dst]
      if (f.src !== undefined) argv.push('from', f.src)
      if (f.iif !== undefined) argv.push('iif', f.iif)
      if (f.oif !== undefined) argv.push('oif', f.oif)
      if (f.fwmark !== undefined) argv.push('mark', String(f.fwmark))
      const out = await r.exec(argv)
      const kernel = out.exitCode === 0 ? (JSON.parse(out.stdout) as { gateway?: string; dev?: string; table?: string }[])[0]! : { error: out.stderr.trim() }
      const model = lookup(rules, routes, f)
      const mine = model.kind === 'route' ? { gateway: model.route.via, dev: model.route.dev, table: model.route.table } : { kind: model.kind }
      const theirs = 'error' in kernel ? kernel : { gateway: kernel.gateway, dev: kernel.dev, table: kernel.table ?? 'main' }
      expect(mine, `${argv.slice(4).join(' ')}: ip says ${JSON.stringify(kernel)}`).toEqual(theirs)
    }
  })

  test('a refusing rule is named by reachable()', async ({ lab }) => {
    const a = await lab.namespace('a')
    const b = await lab.namespace('b')
    await lab.veth([a, 'eth0', '10.0.0.1/24'], [b, 'eth0', '10.0.0.2/24'])
    await a.ruleAdd({ to: '10.0.0.2', action: 'prohibit', priority: 50 })
    expect((await a.exec(['ip', 'route', 'get', '10.0.0.2'])).stderr).toContain('Permission denied')
    const r = await reachable(a, '10.0.0.2')
    expect(r).toMatchObject({ verdict: 'prohibited', attempts: 0 })
    expect(r.detail).toBe(`a's prohibit rule (50: from all to 10.0.0.2 prohibit): an administrative refusal: the kernel answers "Permission denied"`)
    await a.ruleDel({ to: '10.0.0.2', action: 'prohibit', priority: 50 })
    expect((await reachable(a, '10.0.0.2')).verdict).toBe('replied')
  })

  test('rules in a declarative topology are validated with it and built after the routes', async ({ lab }) => {
    await expect(lab.build({ namespaces: { a: {} }, rules: { a: [{ table: 'unspec' }] } })).rejects.toMatchObject({ kind: 'invalid-input' })
    await expect(lab.build({ namespaces: { a: {} }, rules: { b: [{ table: 1 }] } })).rejects.toThrow(/names namespace 'b'/)
    expect(lab.namespaces).toHaveLength(0)
    const { namespaces } = await lab.build({
      namespaces: { a: {}, b: {} },
      links: [[{ ns: 'a', name: 'eth0', addresses: ['10.0.0.1/24'] }, { ns: 'b', name: 'eth0', addresses: ['10.0.0.2/24'] }]],
      routes: { a: [{ to: '10.9.0.0/16', via: '10.0.0.2', table: 100 }] },
      rules: { a: [{ to: '10.9.0.0/16', table: 100, priority: 100 }] },
    })
    expect(await rawRules(namespaces.a!, 4)).toContainEqual({ priority: 100, src: 'all', dst: '10.9.0.0', dstlen: 16, table: '100' })
    await expect(namespaces.a!).toRouteVia('10.9.1.1', { gateway: '10.0.0.2', dev: 'eth0' })
  })

  test("README: a route in table 100, a rule that selects it, and toRouteVia('10.9.1.1') uses it", async ({ lab }) => {
    const ns1 = await lab.namespace('ns1')
    const ns2 = await lab.namespace('ns2')
    await lab.veth([ns1, 'veth1', '10.0.12.1/24', 'fd00:12::1/64', { mac: 'ee:ee:ee:ee:ee:ee', mtu: 1400, alias: 'to ns2', up: true }],
                   [ns2, 'veth2', '10.0.12.2/24'])
    // The README's lines, as written there:
    await ns1.routeAdd('10.9.0.0/16', { via: '10.0.12.2', metric: 50, table: 100 })   // also { dev, src, onlink, type, mtu }
    await ns1.ruleAdd({ to: '10.9.0.0/16', table: 100, priority: 100 })              // policy routing: look table 100 up for 10.9/16
    await expect(ns1).toRouteVia('10.9.1.1', { gateway: '10.0.12.2', dev: 'veth1' })
    // Without the rule nothing selects table 100: the kernel has no route.
    await ns1.ruleDel({ to: '10.9.0.0/16', table: 100, priority: 100 })
    await expect(ns1).not.toRouteVia('10.9.1.1', { gateway: '10.0.12.2', dev: 'veth1' })
  })

  test("a failed test's diagnostics show a namespace's rules when it has more than the kernel's own", async ({ lab }) => {
    const a = await lab.namespace('a')
    const plain = await lab.namespace('plain')
    void plain
    await a.ruleAdd({ from: '10.0.0.2', table: 100, priority: 100 })
    await a.ruleAdd({ family: 6, fwmark: 7, table: 200, priority: 200 })
    const task = { name: `rules-${process.pid}`, fullName: `policy rules diagnostics ${process.pid}`, meta: {} } as never as Parameters<typeof attachDiagnostics>[0]
    await attachDiagnostics(task, lab)
    const { diagnostics, file } = task.meta.netspec!
    const v4 = (await a.exec(['ip', '-4', 'rule', 'show'], { check: true })).stdout.trimEnd().split('\n').map((l) => `   ${l}`).join('\n')
    expect(diagnostics).toContain(`── a: ip -4 rule\n${v4}`)
    expect(diagnostics).toMatch(/── a: ip -6 rule\n[\s\S]*200:\s+from all fwmark 0x7 lookup 200/)
    expect(diagnostics).not.toContain('── plain: ip')
    rmSync(file)
  })
})
