// Spawned processes as first-class citizens: a failure shows the namespace, the spec line, the exit code and
// the LAST lines of the process's output; `ready` takes a check; the diagnostics list every spawned process.
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, test } from 'netspec/vitest'
import { isNetspecError } from 'netspec'
import { attachDiagnostics } from '../../src/vitest/diagnostics.js'

const THIS_FILE = /daemons\.test\.ts:\d+:\d+/

test('a daemon that exits before it is ready: namespace, call site, exit code and its last output, not its banner', async ({ lab }) => {
  const client = await lab.namespace('client')
  // 30 lines of banner on stdout, then the line that matters on stderr, then exit 2 (as dhclient does).
  const script = 'i=1; while [ $i -le 30 ]; do echo "banner line $i"; i=$((i+1)); done; echo "No DHCPOFFERS received." >&2; exit 2'

  const e = await client.spawn(script, { ready: /bound to/, name: 'dhclient' }).catch((err: unknown) => err)

  expect(isNetspecError(e, 'command-failed')).toBe(true)
  const message = (e as Error).message
  expect(message).toContain('dhclient in client did not become ready: process exited with code 2 before printing /bound to/')
  expect(message).toContain(`namespace: client (kernel name ${client.name})`)
  expect(message).toMatch(new RegExp(`called at: \\S*${THIS_FILE.source}`))
  expect(message).toContain('exit code: 2')
  expect(message).toMatch(/output \(last 20 lines\):\n(?: {4}\| .*\n)*? {4}\| banner line 30\n {4}\| No DHCPOFFERS received\.$/m)
  expect(message).not.toContain('banner line 1\n')
  expect(message).not.toContain('kernel said')
})

test('ready accepts a check: spawn resolves once it returns true, and fails at its own deadline with the last output', async ({ lab }) => {
  const r1 = await lab.namespace('r1')
  const dir = await lab.tempDir()
  const flag = join(dir, 'up')

  const t0 = performance.now()
  const proc = await r1.spawn(['sh', '-c', `echo starting; sleep 0.3; touch ${flag}; echo up; exec sleep 60`], { ready: () => existsSync(flag) })
  expect(performance.now() - t0).toBeGreaterThanOrEqual(250)
  expect(proc.running).toBe(true)
  expect(existsSync(flag)).toBe(true)

  const never = await r1
    .spawn(['sh', '-c', 'echo "bgp1: Received: Bad peer AS: 65002"; exec sleep 60'], {
      name: 'bird',
      ready: async () => {
        throw new Error('connect ENOENT bird.ctl')
      },
      readyTimeoutMs: 400,
    })
    .catch((err: unknown) => err)
  expect(isNetspecError(never, 'timed-out')).toBe(true)
  const m = (never as Error).message
  expect(m).toContain('bird in r1 did not become ready: ready check did not pass within 400 ms (the check last threw: connect ENOENT bird.ctl)')
  expect(m).toContain('    | bgp1: Received: Bad peer AS: 65002')
  expect(m).toMatch(THIS_FILE)

  // A process that dies while its check is polled fails at once, not at the deadline.
  const t1 = performance.now()
  const dead = await r1.spawn(['sh', '-c', 'echo bye; exit 4'], { ready: () => false, readyTimeoutMs: 10_000 }).catch((err: unknown) => err)
  expect((dead as Error).message).toContain('process exited with code 4 before its ready check passed')
  expect(performance.now() - t1).toBeLessThan(5000)
})

test('bad spawn options are refused before anything starts', async ({ lab }) => {
  const ns = await lab.namespace('ns')
  await expect(ns.spawn(['sleep', '1'], { ready: 'listening' as never })).rejects.toThrow(/'ready' must be a RegExp or a function/)
  await expect(ns.spawn(['sleep', '1'], { readyTimeoutMs: -1 })).rejects.toThrow(/'readyTimeoutMs' must be a positive number/)
  await expect(ns.spawn(['sleep', '1'], { name: 'a\nb' })).rejects.toThrow(/'name' must be 1–64 characters/)
  await expect(ns.spawn(['sleep', '1'], { bogus: 1 } as never)).rejects.toThrow(/unknown option 'bogus'/)
  expect(await ns.pids()).toEqual([])
})

test('a program that cannot run is refused at spawn, as exec() refuses it, never a handle that looks running', async ({ lab }) => {
  const a = await lab.namespace('a')
  for (const argv of [['no-such-program-here', '-x'], ['/nonexistent/bin/x'], ['/etc/passwd'], ['/tmp']]) {
    const e = await a.spawn(argv).then((p) => p, (x: unknown) => x)
    expect(isNetspecError(e) && e.kind === 'missing-tool', `${argv[0]}: ${String(e)}`).toBe(true)
    expect((e as Error).message).toContain('cannot be spawned in a')
    // the kernel agrees: exec() of the same never runs it (missing-tool, or exec's own EACCES exit)
    expect(await a.exec(argv).then((r) => r.exitCode, () => 'refused')).not.toBe(0)
  }
  const sh = await a.spawn(['sleep', '30'])
  expect(sh.running).toBe(true)
  expect((await a.spawn(['/bin/sleep', '30'])).running).toBe(true)
})

test('diagnostics list every spawned process: name, namespace, running or its exit code, and its last lines', async ({ lab }) => {
  const r1 = await lab.namespace('r1')
  const r2 = await lab.namespace('r2')
  await r1.spawn(['sh', '-c', 'for i in $(seq 1 50); do echo "r1 line $i"; done; exec sleep 60'], { name: 'bird', ready: /r1 line 50/ })
  const crashed = await r2.spawn(['sh', '-c', 'echo "bgp1: Received: Bad peer AS" >&2; exit 3'], { name: 'bird' })
  await crashed.exited
  await r1.writeFile('bird.conf', 'router id 10.0.0.1;\n')

  const task = { name: `daemons-${process.pid}`, fullName: `daemon diagnostics ${process.pid}`, meta: {} } as never as Parameters<typeof attachDiagnostics>[0]
  await attachDiagnostics(task, lab)
  const { diagnostics, file } = task.meta.netspec!

  expect(diagnostics).toContain('── processes spawned by the test (2)')
  expect(diagnostics).toMatch(new RegExp(`bird in r1 \\(pid \\d+\\): still running; spawned at \\S*${THIS_FILE.source}\\n   last 20 lines of output:\\n   \\| r1 line 31\\n`))
  expect(diagnostics).toContain('   | r1 line 50\n')
  expect(diagnostics).not.toContain('r1 line 30\n')
  expect(diagnostics).toMatch(/bird in r2 \(pid \d+\): exited with code 3; spawned at .*\n   last 1 line of output:\n   \| bgp1: Received: Bad peer AS/)
  // The lab's files are kept beside the diagnostics.
  const copy = /── lab files \((\S+)\) copied to (\S+)/.exec(diagnostics)
  expect(copy).not.toBeNull()
  expect(readFileSync(join(copy![2]!, r1.name, 'bird.conf'), 'utf8')).toBe('router id 10.0.0.1;\n')
  rmSync(copy![2]!, { recursive: true })
  rmSync(file)
})

test('{ within } waits for a route to appear and to go; its timeout says what was last seen and what the daemon printed', async ({ lab }) => {
  const r1 = await lab.namespace('r1')
  const r2 = await lab.namespace('r2')
  await lab.veth([r1, 'eth0', '10.0.12.1/24'], [r2, 'eth0', '10.0.12.2/24'])
  // A stand-in "daemon" that installs a route after 400 ms and says so, as a routing daemon would.
  const script = `echo "bgp1: Established"; sleep 0.4; ip route add 10.2.0.0/24 via 10.0.12.2 proto 186; echo "installed"; exec sleep 60`
  await r1.spawn(['sh', '-c', script], { name: 'routed', ready: /Established/ })
  const t0 = performance.now()
  await expect(r1).toHaveRoute('10.2.0.0/24', { via: '10.0.12.2' }, { within: 10_000 })
  expect(performance.now() - t0).toBeGreaterThan(300)
  await expect(r1).toRouteVia('10.2.0.7', { gateway: '10.0.12.2' }, {}, { within: 1000 })
  await expect(r1).toReach('10.0.12.2', { within: 5000 })

  setTimeout(() => void r1.exec('ip route del 10.2.0.0/24'), 300)
  await expect(r1).not.toHaveRoute('10.2.0.0/24', {}, { within: 10_000 })

  const e = await expect(r1).toHaveRoute('10.9.0.0/24', { proto: 'bird' }, { within: 600 }).catch((err: Error) => err)
  const m = (e as Error).message
  expect(m).toMatch(/^expected a route: r1 has no route to 10\.9\.0\.0\/24 at all; its routes: 10\.0\.12\.0\/24 dev eth0/)
  expect(m).toMatch(/\(still so after 600 ms: checked [2-9]\d* times; the above is the last answer\)/)
  expect(m).toMatch(/processes in r1:\n {4}routed in r1 \(pid \d+\): still running; spawned at \S+daemons\.test\.ts:\d+:\d+\n {7}last 2 lines of output:\n {7}\| bgp1: Established\n {7}\| installed/)
})

test('expect.poll(() => ns).toHaveRoute(…) works too', async ({ lab }) => {
  const r1 = await lab.namespace('r1')
  await lab.veth([r1, 'eth0', '10.0.12.1/24'], [await lab.namespace('r2'), 'eth0', '10.0.12.2/24'])
  setTimeout(() => void r1.routeAdd('10.3.0.0/24', { via: '10.0.12.2' }), 300)
  await expect.poll(() => r1, { timeout: 5000, interval: 100 }).toHaveRoute('10.3.0.0/24', { via: '10.0.12.2' })
  await expect(r1).toHaveRoute('10.3.0.0/24')
})

test("'within' is validated", async ({ lab }) => {
  const r1 = await lab.namespace('r1')
  for (const within of [0, -5, Number.NaN, Infinity, '20s', 600_001])
    await expect(expect(r1).toHaveRoute('default', {}, { within } as never)).rejects.toThrow(/'within' must be a number of milliseconds/)
  await expect(expect(r1).toReach('10.0.0.1', { within: -1 })).rejects.toThrow(/'within'/)
})

describe.skipIf(!existsSync('/usr/sbin/bird'))('a misconfigured BIRD (skipped without bird2)', () => {
  test('the convergence timeout shows what BIRD last said: "Bad peer AS"', async ({ lab }) => {
    const r1 = await lab.namespace('r1')
    const r2 = await lab.namespace('r2')
    await lab.veth([r1, 'eth0', '10.0.12.1/24'], [r2, 'eth0', '10.0.12.2/24'])
    const conf = (id: string, as: number, peer: string, peerAs: number) =>
      `router id ${id};\nlog stderr all;\nprotocol device {}\nprotocol bgp peer {\n  local ${id} as ${as};\n  neighbor ${peer} as ${peerAs};\n` +
      `  connect delay time 1; connect retry time 1; error wait time 1, 2;\n  ipv4 { import all; export none; };\n}\n`
    const dir = await lab.tempDir()
    for (const [ns, c] of [[r1, conf('10.0.12.1', 65001, '10.0.12.2', 65003)], [r2, conf('10.0.12.2', 65002, '10.0.12.1', 65001)]] as const) {
      const sock = `${dir}/${ns.name}/bird.ctl`
      await ns.spawn(['/usr/sbin/bird', '-f', '-c', await ns.writeFile('bird.conf', c), '-s', sock, '-P', `${dir}/${ns.name}/bird.pid`], {
        ready: async () => (await ns.exec(['/usr/sbin/birdc', '-s', sock, 'show', 'status'])).exitCode === 0,
      })
    }

    const e = await expect(r1).toHaveRoute('10.2.0.0/24', { proto: 'bird' }, { within: 4000 }).catch((err: Error) => err)

    const m = (e as Error).message
    expect(m).toMatch(/^expected a route: r1 has no route to 10\.2\.0\.0\/24 at all/)
    expect(m).toMatch(/processes in r1:\n {4}bird in r1 \(pid \d+\): still running; spawned at \S+daemons\.test\.ts:\d+:\d+/)
    expect(m).toMatch(/\| .*peer: Error: Bad peer AS: 65002/)
  })
})
