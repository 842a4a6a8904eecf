// The sealed-lab check (scripts/sealed-check.mjs) itself: labs with traffic in every topology leave the
// root namespace exactly as it was and put no lab address on its interfaces; and the check really catches
// a leak. The leak is staged inside a lab namespace (the check judges whatever namespace it runs in), so
// the machine's root namespace is never touched.
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { beforeAll, expect, test } from 'vitest'
import { Lab } from 'netspec'
import { buildDist, ROOT } from '../fixtures/dist.js'

const run = promisify(execFile)
const CHECK = `${ROOT}scripts/sealed-check.mjs`

interface Verdict {
  sealed: boolean
  changes: string[]
  packets: string[]
  packetCount: number
}

// Runs a command under the check (optionally inside a namespace); returns its exit code and verdict.
async function checked(cmd: string[], netns?: string): Promise<{ code: number; verdict: Verdict; output: string }> {
  const report = `/run/netspec/sealed-test-${process.pid}.json`
  const pcap = `/run/netspec/sealed-test-${process.pid}.pcap`
  const argv = [...(netns === undefined ? [] : ['ip', 'netns', 'exec', netns]), process.execPath, CHECK, '--', ...cmd]
  const r = await run(argv[0]!, argv.slice(1), {
    cwd: ROOT,
    env: { ...process.env, NETSPEC_SEALED: 'on', NETSPEC_SEALED_REPORT: report, NETSPEC_SEALED_PCAP: pcap },
    timeout: 60_000,
  }).then(
    (ok) => ({ ...ok, code: 0 }),
    (e: { stdout: string; stderr: string; code: number }) => e,
  )
  const verdict = JSON.parse(readFileSync(report, 'utf8')) as Verdict
  rmSync(report, { force: true })
  rmSync(pcap, { force: true })
  return { code: r.code, verdict, output: `${r.stdout}${r.stderr}` }
}

// Pair, IPv6, bridge and NAT labs with traffic in each, built by the published package.
const LABS = `
  import { Lab } from './dist/index.js'
  const lab = await Lab.create({ label: 'sealed' })
  const a = await lab.namespace('a', { files: { hosts: '10.0.12.2 b\\n' } })
  const b = await lab.namespace('b', { sysctls: { 'net.ipv4.conf.all.rp_filter': 0 } })
  await lab.veth([a, 'veth1', '10.0.12.1/24', 'fd00:12::1/64'], [b, 'veth2', '10.0.12.2/24', 'fd00:12::2/64'])
  const sw = await lab.namespace('sw')
  const br = await lab.bridge(sw, 'br0', { addresses: ['172.16.0.100/24'] })
  await br.plug([a, 'eth1', '172.16.0.101/24'])
  const r = await lab.namespace('router', { forwarding: true })
  const out = await lab.namespace('out')
  await lab.veth([b, 'lan0', '192.168.50.2/24'], [r, 'lan1', '192.168.50.1/24'])
  await lab.veth([r, 'wan0', '198.51.100.1/24'], [out, 'wan1', '198.51.100.2/24'])
  await b.routeAdd('default', { via: '192.168.50.1' })
  await r.exec(['nft', '-f', '-'], { input: 'table ip nat {\\n chain post {\\n  type nat hook postrouting priority 100;\\n  oifname "wan0" masquerade\\n }\\n}\\n', check: true })
  for (const [ns, cmd] of [[a, 'ping -c2 -i0.2 -W1 b'], [a, 'ping -6 -c2 -i0.2 -W1 fd00:12::2'], [a, 'ping -c2 -i0.2 -W1 172.16.0.100'], [b, 'ping -c2 -i0.2 -W1 198.51.100.2']])
    if ((await ns.exec(cmd)).exitCode !== 0) throw new Error('no reply: ' + cmd)
  await lab.destroy()
`

beforeAll(buildDist, 180_000)

test('labs with traffic in every topology leave the root namespace sealed', async () => {
  const { code, verdict, output } = await checked([process.execPath, '--input-type=module', '-e', LABS])

  expect(output).toContain('netspec sealed-check: sealed')
  expect(verdict).toEqual({ sealed: true, changes: [], packets: [], packetCount: 0, filter: expect.any(String) })
  expect(code).toBe(0)
})

test('a leak is caught: a route, a sysctl and a packet with a lab address (staged inside a lab namespace)', async () => {
  await using lab = await Lab.create({ label: 'staged leak' })
  const stage = await lab.namespace('stage') // plays the machine's root namespace for the check
  await lab.settle()

  const { code, verdict, output } = await checked(
    ['sh', '-c', 'ip route add 10.99.0.0/16 dev lo && echo 1 > /proc/sys/net/ipv4/ip_forward && ping -c1 -W1 10.99.0.2; true'],
    stage.name,
  )

  expect(code).toBe(1)
  expect(verdict.sealed).toBe(false)
  expect(verdict.changes).toContain('route v4: new: {"dst":"10.99.0.0/16","dev":"lo","scope":"link","flags":[]}')
  expect(verdict.changes).toContain('sysctl: net.ipv4.ip_forward changed: 0 -> 1')
  expect(verdict.packetCount).toBe(1)
  expect(verdict.packets[0]).toMatch(/ > 10\.99\.0\.2: ICMP echo request/)
  expect(output).toContain('netspec sealed-check: LEAK')
})

test("a killed run's capture file is removed by the next run (a plain file of a dead PID only)", async () => {
  const dead = Number(execFileSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).trim())
  const stale = `/run/netspec/sealed-${dead}.pcap`
  const live = `/run/netspec/sealed-${process.pid}.pcap` // this process is alive: never touched
  writeFileSync(stale, 'x')
  writeFileSync(live, 'mine')
  try {
    await checked(['true'])
    expect(existsSync(stale)).toBe(false)
    expect(readFileSync(live, 'utf8')).toBe('mine')
  } finally {
    rmSync(stale, { force: true })
    rmSync(live, { force: true })
  }
})

test("the check's own verdict on a quiet namespace is 'sealed' (no false alarm from counters or timers)", async () => {
  await using lab = await Lab.create({ label: 'quiet' })
  const quiet = await lab.namespace('quiet')
  await lab.settle()

  const { code, verdict } = await checked(['sh', '-c', 'ping -c3 -i0.2 127.0.0.1 >/dev/null'], quiet.name)

  expect(verdict.changes).toEqual([])
  expect(verdict.packetCount).toBe(0)
  expect(code).toBe(0)
})

test('as a Vitest globalSetup, it fails a run whose tests all passed but leaked (staged inside a lab namespace)', async () => {
  await using lab = await Lab.create({ label: 'staged vitest leak' })
  const stage = await lab.namespace('stage')
  await lab.settle()

  const r = await run('ip', ['netns', 'exec', stage.name, 'npx', 'vitest', 'run', '--config', 'test/torture/child/vitest.config.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NETSPEC_CHILD_INCLUDE: 'staged-leak.spec.ts',
      NETSPEC_CHILD_SEALED: '1',
      NETSPEC_STAGE_NETNS: stage.name,
      NETSPEC_SEALED: 'on',
      NETSPEC_SEALED_PCAP: `/run/netspec/sealed-vitest-${process.pid}.pcap`,
      NO_COLOR: '1',
      CI: '',
    },
    timeout: 120_000,
  }).then(
    (ok) => ({ ...ok, code: 0 }),
    (e: { stdout: string; stderr: string; code: number }) => e,
  )
  rmSync(`/run/netspec/sealed-vitest-${process.pid}.pcap`, { force: true })
  const output = `${r.stdout}${r.stderr}`

  expect(output).toMatch(/Tests\s+1 passed/)
  expect(output).toContain('netspec sealed-check: LEAK')
  expect(output).toContain('route v4: new: {"dst":"10.99.0.0/16","dev":"lo"')
  expect(output).toMatch(/1 packet\(s\) with a lab address/)
  expect(r.code).toBe(1)
}, 150_000)
