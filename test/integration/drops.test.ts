// Drop reasons (issue 15): each verdict proven against the kernel's own counters and a plain ping.
//
//   h1 (10.0.1.1) ── gw (10.0.1.254 | 10.0.2.254) ── srv (10.0.2.1)
//    └────────────── 10.0.3.1 ── 10.0.3.2 (srv's second link: the asymmetric way back) ──┘
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { beforeAll, onTestFinished } from 'vitest'
import { describe, expect, test } from 'netspec/vitest'
import { explain, isDropped, reachable } from 'netspec'
import type { Lab, Namespace } from 'netspec'
import { dropsSupport, dropWatcherInfo } from '../../src/drops/watcher.js'
import { buildDist, ROOT } from '../fixtures/dist.js'

const support = dropsSupport()
const on = support.on

async function line(lab: Lab, opts: { forwarding?: boolean } = {}): Promise<{ h1: Namespace; gw: Namespace; srv: Namespace }> {
  const h1 = await lab.namespace('h1')
  const gw = await lab.namespace('gw', { forwarding: opts.forwarding ?? true })
  const srv = await lab.namespace('srv')
  await lab.veth([h1, 'eth0', '10.0.1.1/24'], [gw, 'eth0', '10.0.1.254/24'])
  await lab.veth([gw, 'eth1', '10.0.2.254/24'], [srv, 'eth0', '10.0.2.1/24'])
  await h1.routeAdd('default', { via: '10.0.1.254' })
  await srv.routeAdd('default', { via: '10.0.2.254' })
  return { h1, gw, srv }
}

/** A counter of the namespace's /proc/net/snmp or /proc/net/netstat ('Ip', 'InAddrErrors'), read inside it. */
async function counter(ns: Namespace, file: 'snmp' | 'netstat', group: string, name: string): Promise<number> {
  const text = (await ns.exec(['cat', `/proc/net/${file}`], { check: true })).stdout
  const rows = text.split('\n').filter((l) => l.startsWith(`${group}:`))
  const keys = rows[0]!.split(/\s+/)
  const values = rows[1]!.split(/\s+/)
  return Number(values[keys.indexOf(name)])
}

describe.skipIf(!on)('drop reasons decide negative checks at once', () => {
  test('forwarding off: dropped in gw by the kernel (IP_INADDRERRORS in ip_error), as InAddrErrors counts', async ({ lab }) => {
    const { h1, gw } = await line(lab, { forwarding: false })
    const before = await counter(gw, 'snmp', 'Ip', 'InAddrErrors')
    const r = await reachable(h1, '10.0.2.1', { expectFailure: true })
    expect(r).toMatchObject({ ok: false, verdict: 'dropped', evidence: { drop: { namespace: 'gw', reason: 'IP_INADDRERRORS', function: 'ip_error', direction: 'request' } } })
    expect(r.detail).toBe('dropped in gw by the kernel: it does not forward (IP_INADDRERRORS in ip_error)')
    expect(await counter(gw, 'snmp', 'Ip', 'InAddrErrors')).toBeGreaterThan(before)
    expect((await h1.exec(['ping', '-n', '-c1', '-W1', '10.0.2.1'])).exitCode).toBe(1)
    const again = await reachable(h1, '10.0.2.1', { expectFailure: true })
    expect(again.verdict).toBe('dropped')
    console.log(`netspec drops: hub ${process.env.NETSPEC_DROPS_HUB ?? 'none'}; forwarding off decided in ${r.durationMs.toFixed(1)} ms (first check of the process), then ${again.durationMs.toFixed(1)} ms; watcher ${JSON.stringify(dropWatcherInfo())}`)
  })

  test('strict rp_filter on an asymmetric path: dropped in srv (IP_RPFILTER), as IPReversePathFilter counts', async ({ lab }) => {
    const { h1, srv } = await line(lab)
    await lab.veth([h1, 'eth1', '10.0.3.1/24'], [srv, 'eth1', '10.0.3.2/24'])
    await srv.routeAdd('10.0.1.0/24', { via: '10.0.3.1' }) // the way back is not the way in
    await srv.sysctlSet('net.ipv4.conf.all.rp_filter', 1)
    await srv.sysctlSet('net.ipv4.conf.eth0.rp_filter', 1)
    const before = await counter(srv, 'netstat', 'TcpExt', 'IPReversePathFilter')
    const r = await reachable(h1, '10.0.2.1', { expectFailure: true })
    expect(r).toMatchObject({ verdict: 'dropped', evidence: { drop: { namespace: 'srv', reason: 'IP_RPFILTER', direction: 'request' } } })
    expect(r.detail).toMatch(/^dropped in srv by the kernel: reverse-path filter \(IP_RPFILTER in \w+\)$/)
    expect(await counter(srv, 'netstat', 'TcpExt', 'IPReversePathFilter')).toBeGreaterThan(before)
    expect((await h1.exec(['ping', '-n', '-c1', '-W1', '10.0.2.1'])).exitCode).toBe(1)
    await srv.sysctlSet('net.ipv4.conf.all.rp_filter', 0)
    await srv.sysctlSet('net.ipv4.conf.eth0.rp_filter', 0)
    expect((await reachable(h1, '10.0.2.1')).verdict).toBe('replied') // the same path, filter off: it was the filter
  })

  test('an nft drop rule in gw: filtered, naming the rule whose counter moved', async ({ lab }) => {
    const { h1, gw, srv } = await line(lab)
    await srv.listen(22)
    await gw.exec(['nft', '-f', '-'], { check: true, input: 'table inet fw { chain forward { type filter hook forward priority 0; tcp dport 22 counter drop; }; }\n' })
    const r = await reachable(h1, 'tcp://10.0.2.1:22', { expectFailure: true })
    expect(r).toMatchObject({ verdict: 'filtered', evidence: { drop: { namespace: 'gw', reason: 'NETFILTER_DROP', direction: 'request' } } })
    const handle = /\(handle (\d+)\)$/.exec(r.detail)?.[1]
    expect(r.detail).toBe(`dropped in gw by nftables: inet fw forward, rule 'tcp dport 22 counter drop' (handle ${handle})`)
    const rules = JSON.parse((await gw.exec(['nft', '-j', 'list', 'ruleset'], { check: true })).stdout) as { nftables: { rule?: { handle: number; expr: { counter?: { packets: number } }[] } }[] }
    const rule = rules.nftables.find((x) => x.rule?.handle === Number(handle))!.rule!
    expect(rule.expr.find((e) => e.counter)!.counter!.packets).toBeGreaterThanOrEqual(1) // the kernel's own count of the drop
    expect(r.durationMs).toBeLessThan(500)
    expect((await reachable(h1, '10.0.2.1')).verdict).toBe('replied') // ICMP passes: it is the rule
  })

  test('a neighbour that never answers: unresolved when the kernel drops the queued probe (NEIGH_FAILED), the entry FAILED', async ({ lab }) => {
    const { h1 } = await line(lab)
    const r = await reachable(h1, '10.0.1.99', { expectFailure: true, timeoutMs: 8000 })
    expect(r).toMatchObject({ verdict: 'unresolved', evidence: { drop: { namespace: 'h1', reason: 'NEIGH_FAILED', function: 'neigh_invalidate', direction: 'request' } } })
    expect(r.detail).toMatch(/^dropped in h1 by the kernel: the next hop never answered ARP\/ND.*\(NEIGH_FAILED in neigh_invalidate\)$/)
    const entry = (await h1.neighbors()).find((n) => n.dst === '10.0.1.99')
    expect(entry?.state).toEqual(['FAILED'])
    expect(r.durationMs).toBeLessThan(7000) // the kernel's own timers (3 probes, 1 s apart), not our deadline
    const ping = await h1.exec(['ping', '-n', '-c1', '-W4', '10.0.1.99'])
    expect(ping.stdout).toMatch(/Destination Host Unreachable/)
  })

  test('NETSPEC_DROPS=off: today\'s verdicts, decided as before', async ({ lab }) => {
    const { h1 } = await line(lab, { forwarding: false })
    process.env.NETSPEC_DROPS = 'off'
    try {
      const r = await reachable(h1, '10.0.2.1', { expectFailure: true })
      expect(r.verdict).toBe('timed-out')
      expect(r.detail).toContain('the next hop 10.0.1.254 is gw, which does not forward (net.ipv4.ip_forward = 0)')
      expect(r.evidence.drop).toBeUndefined()
    } finally {
      delete process.env.NETSPEC_DROPS
    }
  })
})

// The watcher never outlives its owner: a plain Node script (the published dist) starts it, is SIGKILLed, and
// the kernel kills bpftrace with it (pdeathsig), judged by that PID and its start time only.
describe.skipIf(!on)('the drop watcher dies with its owner', () => {
  beforeAll(buildDist, 180_000)

  const startTime = (pid: number): string | undefined => {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
      return f[0] === 'Z' ? undefined : f[19]
    } catch {
      return undefined
    }
  }

  test('the run’s hub (one bpftrace for all workers) dies with the run’s main process (SIGKILL); its clients start no bpftrace and get the reason names', async () => {
    const script = `
      import { mkdtempSync } from 'node:fs'
      import { startDropHub } from './dist/internal.js'
      import { DropWatcher } from './dist/internal.js'
      const hub = await startDropHub(mkdtempSync('/tmp/netspec-drops-hub-'))
      const w = new DropWatcher({ ...process.env, NETSPEC_DROPS_HUB: hub.path })
      if (!(await w.ready)) { console.log(JSON.stringify({ failure: w.failure })); process.exit(1) }
      const late = new DropWatcher({ ...process.env, NETSPEC_DROPS_HUB: hub.path }) // a worker that comes later
      await late.ready
      console.log(JSON.stringify({ pid: hub.pid, dir: hub.path.replace(/\\/[^/]+$/, ''), reasons: late.reasons.size, clientPid: w.pid ?? null }))
      setInterval(() => {}, 60_000)`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env: { ...process.env, NETSPEC_DROPS_HUB: '' }, stdio: ['ignore', 'pipe', 'inherit'] })
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve)
      child.once('exit', (code) => reject(new Error(`hub owner exited early with ${code}`)))
    })
    const { pid, dir, reasons, clientPid } = JSON.parse(line) as { pid: number; dir: string; reasons: number; clientPid: number | null }
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    expect(clientPid).toBeNull() // the clients start no bpftrace of their own
    expect(reasons).toBeGreaterThan(50) // the reason names are replayed to a client that comes later
    const started = startTime(pid)
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).toBe('bpftrace')
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    await exited
    await expect.poll(() => startTime(pid) === started, { timeout: 5000, interval: 20 }).toBe(false)
  })

  for (const how of ['SIGKILL', 'exit'] as const) {
    test(`owner ends by ${how}: bpftrace is gone`, async () => {
      const script = `
        import { dropWatcher } from './dist/internal.js'
        const w = dropWatcher()
        if (!(await w.ready)) { console.log(JSON.stringify({ failure: w.failure })); process.exit(1) }
        console.log(JSON.stringify({ pid: w.pid }))
        if (process.argv[1] === 'exit') setTimeout(() => process.exit(0), 100)
        else setInterval(() => {}, 60_000)`
      // Its own watcher, not the run's hub (NETSPEC_DROPS_HUB, which a child would inherit).
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, how], { cwd: ROOT, env: { ...process.env, NETSPEC_DROPS_HUB: '' }, stdio: ['ignore', 'pipe', 'inherit'] })
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve)
        child.once('exit', (code) => reject(new Error(`owner exited early with ${code}`)))
      })
      const { pid } = JSON.parse(line) as { pid: number }
      const started = startTime(pid)
      expect(started).toBeDefined()
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).toBe('bpftrace')
      const exited = new Promise((r) => child.once('exit', r))
      if (how === 'SIGKILL') child.kill('SIGKILL')
      await exited
      await expect.poll(() => startTime(pid) === started, { timeout: 5000, interval: 20 }).toBe(false)
    })
  }
})

describe.skipIf(!on)('asserting on drops', () => {
  test('not.toReach with droppedIn and reason passes only for that drop, and says what it saw otherwise', async ({ lab }) => {
    const { h1, gw, srv } = await line(lab, { forwarding: false })
    await expect(h1).not.toReach('10.0.2.1', { droppedIn: gw, reason: 'IP_INADDRERRORS' })
    await expect(expect(h1).not.toReach('10.0.2.1', { droppedIn: srv })).rejects.toThrow(
      /expected h1 not to reach 10\.0\.2\.1, dropped as described: dropped in gw by the kernel: it does not forward \(IP_INADDRERRORS in ip_error\); expected a drop in srv$/,
    )
    const c = await isDropped(h1, '10.0.2.1', { reason: 'IP_RPFILTER' })
    expect(c).toMatchObject({ ok: false, reachability: { verdict: 'dropped' } })
    expect(c.detail).toMatch(/expected a drop IP_RPFILTER$/)
    await expect(expect(h1).toReach('10.0.2.1', { droppedIn: gw })).rejects.toThrow(/use expect\(ns\)\.not\.toReach/)
    await gw.forwarding(true)
    expect((await isDropped(h1, '10.0.2.1', { droppedIn: gw })).detail).toMatch(/^it arrived \(10\.0\.2\.1 replied to h1/)
  })
})

describe.skipIf(!on)('explain() shows the kernel’s drop on its hop', () => {
  test('rp_filter in srv: the walk says it arrives, the kernel says it dropped it there', async ({ lab }) => {
    const { h1, srv } = await line(lab)
    await lab.veth([h1, 'eth1', '10.0.3.1/24'], [srv, 'eth1', '10.0.3.2/24'])
    await srv.routeAdd('10.0.1.0/24', { via: '10.0.3.1' })
    await srv.sysctlSet('net.ipv4.conf.all.rp_filter', 1)
    await srv.sysctlSet('net.ipv4.conf.eth0.rp_filter', 1)
    await expect(h1).not.toReach('10.0.2.1', { droppedIn: srv, reason: 'IP_RPFILTER' }) // starts the watcher once
    const why = await explain(h1, '10.0.2.1')
    expect(why.verdict).toMatch(/^dropped in srv by the kernel: reverse-path filter \(IP_RPFILTER in \w+\)$/)
    expect(why.hops.map((h) => h.namespace)).toEqual(['h1', 'gw', 'srv'])
    expect(why.hops[2]!.drop).toMatchObject({ namespace: 'srv', reason: 'IP_RPFILTER', direction: 'request' })
    expect(String(why)).toContain('3. srv: 10.0.2.1 is local — dropped by the kernel: reverse-path filter (IP_RPFILTER')
  })

  test('forwarding off: the walk’s verdict stays, the hop of gw carries the kernel’s words', async ({ lab }) => {
    const { h1 } = await line(lab, { forwarding: false })
    await expect(h1).not.toReach('10.0.2.1')
    const why = await explain(h1, '10.0.2.1')
    expect(why.verdict).toBe('ip_forward is 0 in gw')
    expect(why.hops[1]).toMatchObject({ namespace: 'gw', drop: { reason: 'IP_INADDRERRORS', function: 'ip_error' } })
    expect(why.hops[1]!.note).toContain('dropped by the kernel: it does not forward (IP_INADDRERRORS in ip_error)')
  })
})

describe.skipIf(!on)('which nftables rule: a counter that moved during the check, never a stale one', () => {
  test('two drop rules, one with an old count: the rule named is the one that dropped this probe', async ({ lab }) => {
    const { h1, gw, srv } = await line(lab)
    await srv.listen(22)
    await gw.exec(['nft', '-f', '-'], {
      check: true,
      input: 'table inet fw { chain forward { type filter hook forward priority 0; tcp dport 23 counter drop; tcp dport 22 counter drop; }; }\n',
    })
    expect((await reachable(h1, 'tcp://10.0.2.1:23', { expectFailure: true })).detail).toMatch(/rule 'tcp dport 23 counter drop'/) // counts now, for ever
    const r = await reachable(h1, 'tcp://10.0.2.1:22', { expectFailure: true })
    expect(r.verdict).toBe('filtered')
    expect(r.detail).toMatch(/^dropped in gw by nftables: inet fw forward, rule 'tcp dport 22 counter drop' \(handle \d+\)$/)
    expect(r.evidence.filters?.[0]).toMatch(/^in gw: chain inet fw forward: rule #\d+ drop \(\d+ packets counted, [1-9]\d* during this check\)$/)
  })

  test('a counting accept rule whose comment says "drop" is not a drop rule: the rule named is the one that dropped', async ({ lab }) => {
    const { h1, gw, srv } = await line(lab)
    await srv.listen(22)
    // Listed first, counting every forwarded packet (its counter moves with the probe's), verdict accept.
    await gw.exec(['nft', '-f', '-'], {
      check: true,
      input:
        'table inet audit { chain forward { type filter hook forward priority -10; counter accept comment "seen before fw may drop it"; }; }\n' +
        'table inet fw { chain forward { type filter hook forward priority 0; tcp dport 22 counter drop; }; }\n',
    })
    const r = await reachable(h1, 'tcp://10.0.2.1:22', { expectFailure: true })
    expect(r.verdict).toBe('filtered')
    expect(r.detail).toMatch(/^dropped in gw by nftables: inet fw forward, rule 'tcp dport 22 counter drop' \(handle \d+\)$/)
  })
})

// bpftrace absent (PATH without it, as on a machine that never installed it): today's behaviour, in a plain Node script.
test('without bpftrace on PATH: verdicts decided as before, and doctor-style reason given', async () => {
  await buildDist()
  const bin = mkdtempSync(join(tmpdir(), 'netspec-drops-path-'))
  try {
    for (const tool of ['ip', 'nft', 'ping', 'sh', 'cat', 'bash', 'timeout', 'setpriv', 'unshare', 'mount']) {
      const p = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].map((d) => join(d, tool)).find((x) => existsSync(x))
      if (p !== undefined) symlinkSync(p, join(bin, tool))
    }
    const script = `
      import { Lab, reachable, dropsAvailable } from './dist/index.js'
      const lab = await Lab.create({ label: 'no bpftrace' })
      const h1 = await lab.namespace('h1'), gw = await lab.namespace('gw', { forwarding: false }), srv = await lab.namespace('srv')
      await lab.veth([h1, 'eth0', '10.0.1.1/24'], [gw, 'eth0', '10.0.1.254/24'])
      await lab.veth([gw, 'eth1', '10.0.2.254/24'], [srv, 'eth0', '10.0.2.1/24'])
      await h1.routeAdd('default', { via: '10.0.1.254' })
      const r = await reachable(h1, '10.0.2.1', { expectFailure: true })
      console.log(JSON.stringify({ verdict: r.verdict, detail: r.detail, drop: r.evidence.drop ?? null, available: await dropsAvailable() }))
      await lab.destroy()`
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env: { ...process.env, PATH: bin, NETSPEC_DROPS_HUB: '' }, stdio: ['ignore', 'pipe', 'inherit'] })
      let text = ''
      child.stdout.on('data', (b: Buffer) => (text += b.toString()))
      child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}: ${text}`))))
    })
    const r = JSON.parse(out.trim().split('\n').pop()!) as { verdict: string; detail: string; drop: unknown; available: unknown }
    expect(r).toMatchObject({ verdict: 'timed-out', drop: null, available: { on: false, why: 'no bpftrace on PATH', fix: 'apt-get install -y bpftrace' } })
    expect(r.detail).toContain('the next hop 10.0.1.254 is gw, which does not forward (net.ipv4.ip_forward = 0)')
  } finally {
    rmSync(bin, { recursive: true, force: true })
  }
}, 240_000)

describe.skipIf(!on)('IPv6', () => {
  test('forwarding off in an IPv6 router: dropped in gw, the kernel’s reason and function named', async ({ lab }) => {
    const h1 = await lab.namespace('h1')
    const gw = await lab.namespace('gw', { forwarding: false })
    const srv = await lab.namespace('srv')
    await lab.veth([h1, 'eth0', 'fd00:1::1/64'], [gw, 'eth0', 'fd00:1::fe/64'])
    await lab.veth([gw, 'eth1', 'fd00:2::fe/64'], [srv, 'eth0', 'fd00:2::1/64'])
    await h1.routeAdd('default', { via: 'fd00:1::fe' })
    const inAddrErrors = async () => Number(/^Ip6InAddrErrors\s+(\d+)$/m.exec((await gw.exec(['cat', '/proc/net/snmp6'], { check: true })).stdout)![1])
    const before = await inAddrErrors()
    const r = await reachable(h1, 'fd00:2::1', { expectFailure: true })
    expect(r.detail).toBe('dropped in gw by the kernel: it does not forward (IP_INADDRERRORS in ip6_forward)')
    expect(await inAddrErrors()).toBeGreaterThan(before)
    expect(r).toMatchObject({ verdict: 'dropped', evidence: { drop: { namespace: 'gw', direction: 'request', packet: { family: 6, dst: 'fd00:2::1', proto: 'icmp', icmpType: 128 } } } })
    expect((await h1.exec(['ping', '-6', '-n', '-c1', '-W1', 'fd00:2::1'])).exitCode).not.toBe(0)
  })
})
