// What a failed test attaches: every namespace's state, the nft ruleset with counters, conntrack, a Mermaid picture.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test } from 'netspec/vitest'
import { masquerade, natMaps } from 'netspec'
import { DIAGNOSTICS_DIR, attachDiagnostics, clearDiagnostics } from '../../src/vitest/diagnostics.js'

test('diagnostics contain links, nft counters, conntrack entries and the topology', async ({ lab }) => {
  const inside = await lab.namespace('inside')
  const gw = await lab.namespace('gw')
  const outside = await lab.namespace('outside')
  await lab.veth([inside, 'eth0', '172.16.0.2/24'], [gw, 'lan', '172.16.0.1/24'])
  await lab.veth([gw, 'wan', '10.0.1.48/24'], [outside, 'eth0', '10.0.1.26/24'])
  await inside.routeAdd('default', { via: '172.16.0.1' })
  await masquerade(gw, { source: '172.16.0.0/24', outInterface: 'wan' })
  expect((await natMaps(gw, { from: inside, to: 'tcp://10.0.1.26:80', as: '10.0.1.48' })).ok).toBe(true)

  const task = { name: `diag-${process.pid}`, fullName: `assert diagnostics ${process.pid}`, meta: {} } as never as Parameters<typeof attachDiagnostics>[0]
  await attachDiagnostics(task, lab)
  const { diagnostics, file } = task.meta.netspec!
  expect(diagnostics).toMatch(/── gw: nft list ruleset\n[\s\S]*masquerade/)
  expect(diagnostics).toMatch(/counter packets [1-9]\d* bytes \d+ masquerade/)
  expect(diagnostics).toMatch(/── gw: conntrack -L\n\s+ipv4 .*tcp .*src=172\.16\.0\.2 dst=10\.0\.1\.26/)
  expect(diagnostics).toContain('```mermaid\nflowchart LR')
  expect(diagnostics).toMatch(/inside ---\|"eth0 172\.16\.0\.2\/24 ⇄ lan 172\.16\.0\.1\/24"\| gw/)
  expect(readFileSync(file, 'utf8')).toBe(`${diagnostics}\n`)
  // Forwarding, always; the net.* sysctls that differ from a fresh namespace's (masquerade turned forwarding on in gw).
  expect(diagnostics).toMatch(/── gw: sysctl\n\s+forwarding: IPv4 on, IPv6 (on|off)\n[\s\S]*net\.ipv4\.ip_forward = 1 \(fresh namespace: 0\)/)
  expect(diagnostics).toMatch(/── inside: sysctl\n\s+forwarding: IPv4 off, IPv6 off\n\s+net\.\* sysctls: all as in a fresh namespace/)
  rmSync(file)
})

test('a changed per-interface sysctl is named against the fresh default; the defaults come from a throwaway namespace', async ({ lab }) => {
  const a = await lab.namespace('a')
  const b = await lab.namespace('b')
  await lab.veth([a, 'eth0', '10.0.9.1/24'], [b, 'eth0', '10.0.9.2/24'])
  await a.sysctlSet('net.ipv4.conf.eth0.rp_filter', '2')
  await a.sysctlSet('net.ipv4.icmp_echo_ignore_all', '1')
  const task = { name: 'sysctl', fullName: `assert diagnostics sysctl ${process.pid}`, meta: {} } as never as Parameters<typeof attachDiagnostics>[0]
  await attachDiagnostics(task, lab)
  const { diagnostics, file } = task.meta.netspec!
  const section = /── a: sysctl\n([\s\S]*?)\n──/.exec(diagnostics)?.[1] ?? ''
  expect(section).toContain('net.ipv4.conf.eth0.rp_filter = 2 (fresh namespace: 0)')
  expect(section).toContain('net.ipv4.icmp_echo_ignore_all = 1 (fresh namespace: 0)')
  expect(section).not.toContain('mtu') // the IPv6 MTU follows the link: not a setting
  expect(diagnostics).toMatch(/── b: sysctl\n\s+forwarding: IPv4 off, IPv6 off\n\s+net\.\* sysctls: all as in a fresh namespace/)
  rmSync(file)
})

test("an earlier run's files of the same test are cleared, and only those", () => {
  const task = { name: 'stale', fullName: `assert diagnostics stale ${process.pid}`, meta: {} } as never as Parameters<typeof attachDiagnostics>[0]
  const base = `assert_diagnostics_stale_${process.pid}`
  mkdirSync(DIAGNOSTICS_DIR, { recursive: true })
  const own = join(DIAGNOSTICS_DIR, `${base}.txt`)
  const shared = join(DIAGNOSTICS_DIR, `${base}--x.spec.ts_file_lab_.txt`)
  const other = join(DIAGNOSTICS_DIR, `${base}_other.txt`)
  for (const f of [own, shared, other]) writeFileSync(f, 'old\n')
  clearDiagnostics(task)
  expect([own, shared, other].map(existsSync)).toEqual([false, false, true])
  rmSync(other)
})
