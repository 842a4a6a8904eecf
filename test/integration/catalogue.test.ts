// The bad-input catalogue: every way a user can get it wrong, one row each. Every row is refused with a
// NetspecError whose message names the cause and whose hint names the fix, nothing is created (the lab's
// namespaces read back the same before and after), and nothing is left once the lab is gone.
// The README's troubleshooting table is rendered from these rows: NETSPEC_CATALOGUE_TABLE=1 prints it.
import { execFile, execFileSync } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Lab, isNetspecError, type Bridge, type Namespace } from 'netspec'
import { execa } from 'execa'
import { requireEngine } from '../../src/container/docker.js'
import { leaseEngine } from '../../src/container/engine.js'
import { startRunner } from '../../src/container/runner.js'
import { distForAnyone, type AnyoneCopy } from '../fixtures/anyone.js'
import { labIsGone, netnsNames } from '../fixtures/kernel.js'

const run = promisify(execFile)

interface World {
  lab: Lab
  ns1: Namespace
  ns2: Namespace
}

interface Row {
  /** What the user did wrong (the table's first column). */
  cause: string
  /** An example of the wrong call. */
  example: string
  kind: string
  /** Text the error message must contain: it names the cause. */
  says: RegExp
  /** Text the hint must contain: it names the fix (the table's last column). Undefined: no hint yet (see docs/trust.md). */
  fix?: RegExp
  fixText: string
  /** Builds what the row needs (its state is the "before" of the comparison). */
  prelude?: (w: World) => Promise<unknown>
  /** The wrong call. */
  wrong: (w: World, prelude: any) => Promise<unknown>
}

const rows: Row[] = [
  {
    cause: 'malformed CIDR',
    example: "lab.veth([ns1, 'veth1', '10.0.12.300/24'], …)",
    kind: 'invalid-input',
    says: /'10\.0\.12\.300\/24' is not an address with a prefix length \(CIDR\)/,
    fix: /write it like '10\.0\.12\.1\/24' or 'fd00::1\/64'/,
    fixText: "write it like '10.0.12.1/24' or 'fd00::1/64'",
    wrong: ({ lab, ns1, ns2 }) => lab.veth([ns1, 'veth1', '10.0.12.300/24'], [ns2, 'veth2', '10.0.12.2/24']),
  },
  {
    cause: 'address without prefix length',
    example: "ns1.addrAdd('lo', '10.0.12.1')",
    kind: 'invalid-input',
    says: /'10\.0\.12\.1' is not an address with a prefix length/,
    fix: /add the prefix length, e\.g\. '10\.0\.12\.1\/24'/,
    fixText: "add the prefix length, e.g. '10.0.12.1/24'",
    wrong: ({ ns1 }) => ns1.addrAdd('lo', '10.0.12.1'),
  },
  {
    cause: 'malformed IP (gateway)',
    example: "ns1.routeAdd('default', { via: '10.0.12' })",
    kind: 'invalid-input',
    says: /'10\.0\.12' is not an IP address/,
    fixText: "give a plain address such as '10.0.12.1' or 'fd00::1'",
    wrong: ({ ns1 }) => ns1.routeAdd('default', { via: '10.0.12' }),
  },
  {
    cause: 'prefix length too long',
    example: "'fd00::1/129'",
    kind: 'invalid-input',
    says: /'fd00::1\/129': prefix length 129 is over 128 for IPv6/,
    fixText: 'at most 32 for IPv4, 128 for IPv6',
    wrong: ({ lab, ns1, ns2 }) => lab.veth([ns1, 'veth1', 'fd00::1/129'], [ns2, 'veth2']),
  },
  {
    cause: 'IPv4/IPv6 mix-up (route)',
    example: "ns1.routeAdd('10.9.0.0/16', { via: 'fd00::1' })",
    kind: 'invalid-input',
    says: /route to 10\.9\.0\.0\/16 \(IPv4\) cannot go via fd00::1 \(IPv6\)/,
    fix: /the gateway must be of the same address family as the destination/,
    fixText: 'the gateway must be of the same address family as the destination',
    wrong: ({ ns1 }) => ns1.routeAdd('10.9.0.0/16', { via: 'fd00::1' }),
  },
  {
    cause: 'interface name over 15 bytes',
    example: "lab.veth([ns1, 'veth-sixteen-chr'], …)",
    kind: 'invalid-input',
    says: /interface name 'veth-sixteen-chr' is 16 bytes; Linux allows at most 15 \(IFNAMSIZ\)/,
    fix: /shorten it, e\.g\. 'veth-sixteen-ch'/,
    fixText: 'shorten it (the hint suggests a name)',
    wrong: ({ lab, ns1, ns2 }) => lab.veth([ns1, 'veth-sixteen-chr'], [ns2, 'veth2']),
  },
  {
    cause: "interface name with '/'",
    example: "lab.bridge(ns1, 'br/0')",
    kind: 'invalid-input',
    says: /interface name 'br\/0' is not allowed: no '\/', ':' or white space/,
    fix: /use letters, digits, - and _/,
    fixText: 'use letters, digits, - and _ (e.g. veth1, br-ns2)',
    wrong: ({ lab, ns1 }) => lab.bridge(ns1, 'br/0'),
  },
  {
    cause: 'interface name with a space',
    example: "lab.veth([ns1, 'veth 1'], …)",
    kind: 'invalid-input',
    says: /interface name 'veth 1' is not allowed/,
    fix: /use letters, digits, - and _/,
    fixText: 'use letters, digits, - and _ (e.g. veth1, br-ns2)',
    wrong: ({ lab, ns1, ns2 }) => lab.veth([ns1, 'veth 1'], [ns2, 'veth2']),
  },
  {
    cause: 'duplicate namespace label',
    example: "lab.namespace('ns1') twice",
    kind: 'invalid-input',
    says: /namespace label 'ns1' is already used in this lab/,
    fix: /declared first at .*catalogue\.test\.ts:\d+.*; pick another label/,
    fixText: 'pick another label (the hint says where the first one was declared)',
    wrong: ({ lab }) => lab.namespace('ns1'),
  },
  {
    cause: 'duplicate interface name in a namespace',
    example: "two veths named 'veth1' in ns1",
    kind: 'invalid-input',
    says: /interface 'veth1' already exists in namespace 'ns1'/,
    fix: /interface names must be unique within a namespace/,
    fixText: 'interface names must be unique within a namespace',
    prelude: ({ lab, ns1, ns2 }) => lab.veth([ns1, 'veth1'], [ns2, 'veth2']),
    wrong: ({ lab, ns1, ns2 }) => lab.veth([ns1, 'veth1'], [ns2, 'veth3']),
  },
  {
    cause: 'address clash on one segment',
    example: "br0.plug([ns2, 'eth0', '172.16.0.100/24']) where br0 has .100",
    kind: 'invalid-input',
    says: /address 172\.16\.0\.100 is used twice on one layer-2 segment: by ns1\/br0 and ns2\/eth0/,
    fix: /every interface on a link or bridge needs its own address; pick another host number/,
    fixText: 'every interface on a link or bridge needs its own address; pick another host number',
    prelude: ({ lab, ns1 }) => lab.bridge(ns1, 'br0', { addresses: ['172.16.0.100/24'] }),
    wrong: (_w, br0: Bridge) => br0.plug([_w.ns2, 'eth0', '172.16.0.100/24']),
  },
  {
    cause: 'route via an unreachable gateway',
    example: "ns1.routeAdd('10.9.0.0/16', { via: '192.168.77.1' })",
    kind: 'command-failed', // judged by the kernel (it knows every address, also those added by exec): nothing is created
    says: /ip route add failed[\s\S]*kernel said: Error: Nexthop has invalid gateway/,
    fix: /the gateway is not on a directly connected subnet of that namespace: add an address in its subnet first/,
    fixText: 'add an address in the gateway’s subnet first (or `onlink`)',
    prelude: ({ lab, ns1, ns2 }) => lab.veth([ns1, 'veth1', '10.0.12.1/24'], [ns2, 'veth2', '10.0.12.2/24']),
    wrong: ({ ns1 }) => ns1.routeAdd('10.9.0.0/16', { via: '192.168.77.1' }),
  },
  {
    cause: 'deleting a route that is not there',
    example: "ns1.routeDel('10.9.0.0/16', { via: '10.0.12.3' })",
    kind: 'command-failed', // judged by the kernel ("No such process"): nothing is deleted
    says: /routeDel: ns1 has no route to 10\.9\.0\.0\/16 via 10\.0\.12\.3 \(table main\)[\s\S]*kernel said: RTNETLINK answers: No such process/,
    fix: /for 10\.9\.0\.0\/16 it has: 10\.9\.0\.0\/16 via 10\.0\.12\.2 dev veth1/,
    fixText: 'the hint lists what the namespace has for that destination: give what selects one of them (or the prefix alone)',
    prelude: ({ lab, ns1, ns2 }) => lab.veth([ns1, 'veth1', '10.0.12.1/24'], [ns2, 'veth2', '10.0.12.2/24']).then(() => ns1.routeAdd('10.9.0.0/16', { via: '10.0.12.2' })),
    wrong: ({ ns1 }) => ns1.routeDel('10.9.0.0/16', { via: '10.0.12.3' }),
  },
  {
    cause: 'veth end in a torn-down lab',
    example: 'lab.veth([ns1, …], [nsOfDestroyedLab, …])',
    kind: 'invalid-input',
    says: /namespace 'x' belongs to another lab \('gone'\)/,
    fix: /a lab can only wire its own namespaces; create the namespace in this lab/,
    fixText: 'a lab can only wire its own namespaces; create the namespace in this lab',
    prelude: async () => {
      const other = await Lab.create({ label: 'gone' })
      const x = await other.namespace('x')
      await other.destroy()
      return x
    },
    wrong: ({ lab, ns1 }, x: Namespace) => lab.veth([ns1, 'veth1'], [x, 'veth2']),
  },
  {
    cause: 'use of a handle after teardown',
    example: 'ns1.exec(…) after the test (or lab.destroy())',
    kind: 'torn-down',
    says: /lab 'catalogue: use of a handle after teardown' was torn down: namespace 'ns1' \(ns-[\da-z-]+ns1\) no longer exists/,
    fix: /use handles only inside the test \(or before destroy\(\)\) that created them/,
    fixText: 'use handles only inside the test (or before destroy()) that created them',
    prelude: ({ lab }) => lab.destroy(),
    wrong: ({ ns1 }) => ns1.exec('true'),
  },
  {
    cause: 'unknown option key (a typo)',
    example: "lab.namespace('ns3', { loopbak: false })",
    kind: 'invalid-input',
    says: /unknown option 'loopbak' for namespace/,
    fix: /did you mean 'loopback'\?/,
    fixText: "did you mean 'loopback'? (the closest known option, or the list of them)",
    wrong: ({ lab }) => lab.namespace('ns3', { loopbak: false } as never),
  },
]

// `ip` warns on stderr about a veth peer in a namespace it cannot name; the JSON is what counts.
const quiet: { encoding: 'utf8'; stdio: ('ignore' | 'pipe')[] } = { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }

// What the lab's namespaces look like to the kernel: which exist, and every link, address and route in them.
function kernelState(lab: Lab): string {
  const mine = netnsNames().filter((n) => n.startsWith(`ns-${lab.id}-`)).sort()
  return JSON.stringify(
    mine.map((n) => [
      n,
      execFileSync('ip', ['-n', n, '-j', 'link', 'show'], quiet).replace(/"(operstate|flags)":[^,]*,/g, ''),
      execFileSync('ip', ['-n', n, '-j', 'addr', 'show'], quiet).replace(/"(operstate|flags|valid_life_time|preferred_life_time)":[^,}]*,?/g, ''),
      execFileSync('ip', ['-n', n, '-j', 'route', 'show', 'table', 'all'], quiet),
    ]),
  )
}

describe('the catalogue: refused with the cause and the fix, nothing created, nothing left', () => {
  test.each(rows.map((r) => [r.cause, r] as const))('%s', async (_cause, row) => {
    const lab = await Lab.create({ label: `catalogue: ${row.cause}` })
    const ns1 = await lab.namespace('ns1')
    const ns2 = await lab.namespace('ns2')
    const world: World = { lab, ns1, ns2 }
    const built = await row.prelude?.(world)
    if (lab.state === 'live') await lab.settle()
    const before = lab.state === 'live' ? kernelState(lab) : ''
    const e = await row.wrong(world, built).then(
      () => undefined,
      (err: unknown) => err,
    )
    try {
      expect(isNetspecError(e, row.kind as never), `expected a NetspecError '${row.kind}', got ${String(e)}`).toBe(true)
      const err = e as Error & { hint?: string }
      expect(err.message).toMatch(row.says)
      if (row.fix !== undefined) expect(err.hint ?? '').toMatch(row.fix)
      if (lab.state === 'live') {
        // Nothing of the refused call exists: the namespaces read back exactly as just before it.
        expect(kernelState(lab)).toBe(before)
      }
    } finally {
      await lab.destroy()
    }
    expect(labIsGone(lab)).toEqual([])
  })
})

describe('the catalogue, outside the lab: not root, missing tools, no container engine', () => {
  let copy: AnyoneCopy // dist/ where uid 65534 can read it, wherever the checkout lives
  beforeAll(async () => {
    copy = await distForAnyone()
  }, 180_000)
  afterAll(() => copy?.remove())

  const createIn = async (cmd: string[], env: NodeJS.ProcessEnv) => {
    const script = `
      import { Lab } from ${JSON.stringify(copy.index)}
      try { const lab = await Lab.create(); await lab.namespace('ns1'); await lab.destroy(); console.log(JSON.stringify({ created: true })) }
      catch (e) { console.log(JSON.stringify({ kind: e.kind, message: e.message, hint: e.hint })) }`
    const { stdout } = await run(cmd[0]!, [...cmd.slice(1), process.execPath, '--input-type=module', '-e', script], { env, timeout: 20_000, cwd: copy.dir })
    return JSON.parse(stdout) as { kind?: string; message?: string; hint?: string; created?: boolean }
  }
  let before: string[]
  beforeAll(() => {
    before = netnsNames()
  })
  afterAll(() => {
    // Neither child created a namespace (both were refused at Lab.create).
    expect(netnsNames().filter((n) => !before.includes(n) && /^ns-\d+-[0-9a-z]+-1-ns1$/.test(n))).toEqual([])
  })

  test('not root', async () => {
    const r = await createIn(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'], process.env)

    expect(r.kind).toBe('not-permitted')
    expect(r.message).toMatch(/netspec needs root: this process lacks CAP_NET_ADMIN and CAP_SYS_ADMIN/)
    expect(r.hint).toMatch(/Run as root \(sudo -E env "PATH=\$PATH" npx vitest run\)/)
  })

  test("missing tools ('ip' not on PATH)", async () => {
    const r = await createIn(['env', `PATH=/nonexistent`], { ...process.env })

    expect(r.kind).toBe('missing-tool')
    expect(r.message).toMatch(/'ip' is not installed \(or not on PATH\)/)
    expect(r.hint).toMatch(/apt-get install -y iproute2/)
  })

  test('container engine absent (no Docker daemon answers)', async () => {
    const saved = process.env.DOCKER_HOST
    process.env.DOCKER_HOST = `unix:///run/netspec/no-engine-${process.pid}.sock` // a socket nothing listens on
    try {
      const e = await requireEngine().then(
        () => undefined,
        (err: unknown) => err as Error & { hint?: string },
      )
      expect(isNetspecError(e, 'container')).toBe(true)
      expect(e!.message).toMatch(/no Docker engine answers/)
      expect(e!.hint).toMatch(/start a Docker engine: npx netspec engine start/)
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST
      else process.env.DOCKER_HOST = saved
    }
  })

  test('container image missing', async (ctx) => {
    const lease = await leaseEngine()
    if (!lease.ok) return ctx.skip(`no container engine here: ${lease.reason}`)
    try {
      const before = (await execa('docker', ['ps', '-aq'], { reject: false })).stdout
      const e = await startRunner({ image: 'netspec-runner:does-not-exist' }).then(
        () => undefined,
        (err: unknown) => err as Error & { hint?: string },
      )
      expect(isNetspecError(e, 'container')).toBe(true)
      expect(e!.message).toMatch(/netspec-runner:does-not-exist/)
      expect(e!.hint).toMatch(/npx netspec image build/)
      expect((await execa('docker', ['ps', '-aq'], { reject: false })).stdout).toBe(before) // nothing left behind
    } finally {
      await lease.release()
    }
  })
})

// The README's troubleshooting table, from the rows above (printed with NETSPEC_CATALOGUE_TABLE=1).
if (process.env.NETSPEC_CATALOGUE_TABLE === '1') {
  const extra = [
    ['not root', '`npx vitest run` as a normal user', '`not-permitted`', 'run as root: `sudo -E env "PATH=$PATH" npx vitest run`, or a container with NET_ADMIN + SYS_ADMIN'],
    ['missing tools', '`ip` not installed / not on PATH', '`missing-tool`', '`apt-get install -y iproute2` (the hint names the package; `npx netspec doctor` lists all)'],
    ['container engine absent', 'container mode with no Docker daemon', '`container`', 'start a Docker engine (`npx netspec engine start`), or `apt-get install -y docker.io`'],
    ['container image missing', 'a runner with an image that was never built', '`container`', 'build it: `npx netspec image build`'],
  ]
  const lines = [
    '| you did | example | error kind | what to do |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.cause} | \`${r.example.replace(/\|/g, '\\|')}\` | \`${r.kind}\` | ${r.fixText} |`),
    ...extra.map((e) => `| ${e.join(' | ')} |`),
  ]
  console.log(lines.join('\n'))
}
