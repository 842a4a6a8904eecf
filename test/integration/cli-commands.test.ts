// The netspec binary against the real machine: doctor, sweep and graph, run as a user would run them.
// The CLI is compiled into a private directory (not dist/), so parallel test files never read a
// half-written build; sweeps use their own NETSPEC_STATE_DIR, so they never see other runs' labs.
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
import { Lab } from 'netspec'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { compileCliInto } from '../fixtures/dist.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
let dir: string
let cli: string
const mine = new Set<string>() // namespaces this file created by hand, for the safety net

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra }
  delete e.VITEST
  delete e.VITEST_WORKER_ID
  delete e.VITEST_POOL_ID
  return e
}

const netspec = (args: string[], options: { env?: NodeJS.ProcessEnv } = {}) =>
  execa(process.execPath, [cli, ...args], { env: options.env ?? env(), reject: false, all: true })

async function netnsList(): Promise<string[]> {
  const r = await execa('ip', ['-j', 'netns', 'list'])
  return (JSON.parse(r.stdout || '[]') as { name: string }[]).map((n) => n.name)
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'netspec-cli-'))
  chmodSync(dir, 0o755) // readable by the unprivileged user of the doctor test
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n')
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'))
  cli = await compileCliInto(dir)
  execFileSync('chmod', ['-R', 'a+rX', dir]) // whatever the umask of this checkout's user
}, 120_000)

afterAll(async () => {
  const present = new Set(await netnsList())
  for (const n of mine) if (present.has(n)) await execa('ip', ['netns', 'del', n], { reject: false })
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

describe('netspec doctor', () => {
  test('as root on this machine: ready, exit 0, and its kernel verdicts match what the kernel does', async () => {
    const r = await netspec(['doctor', '--json'])
    expect(r.exitCode, r.all).toBe(0)
    const report = JSON.parse(r.stdout) as { ready: boolean; checks: { group: string; name: string; status: string; detail: string }[] }
    expect(report.ready).toBe(true)
    const check = (group: string, name: string) => report.checks.find((c) => c.group === group && c.name === name)!
    expect(check('system', 'privileges').status).toBe('ok')
    expect(check('system', 'lab').status).toBe('ok')
    expect(check('tools', 'ip').detail).toContain('(iproute2)')

    // Ask the kernel ourselves, in a lab namespace, and compare with doctor's verdicts.
    await using lab = await Lab.create({ label: 'doctor cross-check' })
    const ns = await lab.namespace('x')
    await lab.veth([ns, 'v0'], [ns, 'v1'])
    const tries: Record<string, string> = {
      veth: 'true',
      netem: 'tc qdisc add dev lo root netem delay 1ms',
      vlan: 'ip link add link v0 name v0.5 type vlan id 5',
      dummy: 'ip link add name d0 type dummy',
      tbf: 'tc qdisc add dev v0 root tbf rate 1mbit burst 32kbit latency 400ms',
      macvlan: 'ip link add name m0 link v0 type macvlan mode bridge',
    }
    for (const [feature, cmd] of Object.entries(tries)) {
      const works = (await ns.exec(cmd)).exitCode === 0
      expect(check('kernel', feature).status, `${feature}: ${check('kernel', feature).detail}`).toBe(works ? 'ok' : 'warn')
    }
  }, 30_000)

  test('text output: sections, a mark per check, and the verdict', async () => {
    const r = await netspec(['doctor'])
    expect(r.exitCode).toBe(0)
    for (const section of ['System', 'Tools', 'Kernel features']) expect(r.stdout).toMatch(new RegExp(`^${section}$`, 'm'))
    expect(r.stdout).toMatch(/^ {2}✔ ip\s+\/\S+\/ip \(iproute2\)$/m)
    expect(r.stdout).toMatch(/^Ready: netspec can run here/m)
  }, 30_000)

  test('a missing required tool: exit 1, its package and the exact install command', async () => {
    // A PATH with every tool but ping and tcpdump.
    const bin = join(dir, 'bin')
    mkdirSync(bin, { recursive: true })
    for (const tool of ['ip', 'tc', 'bridge', 'nft', 'iptables', 'conntrack', 'unshare', 'nsenter', 'sh', 'head', 'docker']) {
      const at = (await execa('sh', ['-c', `command -v ${tool}`], { reject: false })).stdout.trim()
      if (at !== '' && !existsSync(join(bin, tool))) symlinkSync(at, join(bin, tool))
    }
    const r = await netspec(['doctor'], { env: env({ PATH: bin }) })
    expect(r.exitCode, r.all).toBe(1)
    expect(r.stdout).toMatch(/^ {2}✘ ping\s+not found on PATH: needed for ICMP reachability {2}\[required\]$/m)
    expect(r.stdout).toMatch(/→ apt-get install -y iputils-ping$/m)
    expect(r.stdout).toMatch(/^ {2}! tcpdump\s+not found on PATH/m)
    expect(r.stdout).toContain('Install every missing tool at once:\n  apt-get install -y iputils-ping tcpdump')
    expect(r.stdout).toMatch(/^NOT READY: ping missing/m)
  }, 30_000)

  test('without root: exit 1, names the missing capabilities and how to get them', async () => {
    const r = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, cli, 'doctor'], {
      env: env(),
      cwd: dir, // not the checkout: it may live in a directory uid 65534 cannot enter
      reject: false,
      all: true,
    })
    expect(r.exitCode, r.all).toBe(1)
    expect(r.stdout).toMatch(/✘ privileges\s+uid 65534, lacks CAP_NET_ADMIN and CAP_SYS_ADMIN {2}\[required\]/)
    expect(r.stdout).toContain('sudo -E env "PATH=$PATH" npx netspec doctor')
    expect(r.stdout).toContain('features read from the kernel config only')
  }, 30_000)
})

describe('netspec sweep', () => {
  test('lists a dead run’s lab (dry run), removes it with --force, and leaves look-alikes alone', async () => {
    const state = mkdtempSync(join(dir, 'state-'))
    // A run that dies without teardown: a process builds a lab, and is SIGKILLed.
    const script = `
      import { Lab } from ${JSON.stringify(join(dir, 'dist/index.js'))}
      const lab = await Lab.create({ label: 'crashed run' })
      const ns = await lab.namespace('victim')
      console.log('NAME ' + ns.name)
      setInterval(() => {}, 1000)
    `
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: env({ NETSPEC_STATE_DIR: state, NETSPEC_REAPER: 'off' }), stdio: ['ignore', 'pipe', 'inherit'] })
    const name = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString()
        const m = /NAME (\S+)/.exec(out)
        if (m !== null) resolve(m[1]!)
      })
      child.on('exit', () => reject(new Error(`child exited early: ${out}`)))
    })
    mine.add(name)
    const gone = new Promise((r) => child.on('exit', r))
    child.kill('SIGKILL')
    await gone

    const lookalike = `ns-${process.pid}-zz-9999-lookalike`
    mine.add(lookalike)
    await execa('ip', ['netns', 'add', lookalike])

    const dry = await netspec(['sweep'], { env: env({ NETSPEC_STATE_DIR: state }) })
    expect(dry.exitCode, dry.all).toBe(0)
    expect(dry.stdout).toContain(`would remove lab 'crashed run'`)
    expect(dry.stdout).toContain(name)
    expect(dry.stdout).toContain(`namespace ${lookalike} looks like netspec's but no marker lists it: left alone`)
    expect(dry.stdout).toContain('dry run: nothing was removed; add --force')
    expect(await netnsList()).toEqual(expect.arrayContaining([name, lookalike]))

    const json = await netspec(['sweep', '--json'], { env: env({ NETSPEC_STATE_DIR: state }) })
    expect(JSON.parse(json.stdout).removed).toEqual([expect.objectContaining({ label: 'crashed run', namespaces: [name] })])

    const force = await netspec(['sweep', '--force'], { env: env({ NETSPEC_STATE_DIR: state }) })
    expect(force.exitCode, force.all).toBe(0)
    expect(force.stdout).toContain(`removed lab 'crashed run'`)
    const after = await netnsList()
    expect(after).not.toContain(name)
    expect(after).toContain(lookalike) // never touched: no marker lists it
    expect(readdirSync(join(state, 'labs')).filter((f) => f.endsWith('.json'))).toEqual([])

    const again = await netspec(['sweep', '--force'], { env: env({ NETSPEC_STATE_DIR: state }) })
    expect(again.stdout).not.toContain('crashed run')
    await execa('ip', ['netns', 'del', lookalike])
  }, 30_000)
})

describe('netspec graph', () => {
  test('draws a lab’s namespaces and which namespace holds the other end of each veth, changing nothing', async () => {
    await using lab = await Lab.create({ label: 'graph demo' })
    const a = await lab.namespace('gA')
    const b = await lab.namespace('gB')
    const c = await lab.namespace('gC')
    await lab.veth([a, 'veth1', '10.0.12.1/24'], [b, 'veth2', '10.0.12.2/24'])
    const br = await lab.bridge(a, 'br0', { addresses: ['172.16.0.1/24'] })
    await br.plug([c, 'eth0', '172.16.0.2/24'], { port: 'portc' })
    await lab.settle()
    const prefix = `ns-${lab.id}-`
    await lab.settle() // read from outside the lab below: what the lab still owes the kernel must be done first
    const state = async () => Promise.all([a, b, c].map(async (n) => (await execa('ip', ['-n', n.name, '-br', 'addr'])).stdout))
    const before = await state()

    const json = await netspec(['graph', '--match', prefix, '--json', '--no-docker'])
    expect(json.exitCode, json.all).toBe(0)
    const g = JSON.parse(json.stdout) as { namespaces: { key: string; lab?: { nsLabel: string; state: string } }[]; edges: unknown[] }
    expect(g.namespaces.map((n) => n.key).sort()).toEqual([a.name, b.name, c.name].sort())
    expect(g.namespaces.find((n) => n.key === a.name)!.lab).toMatchObject({ nsLabel: 'gA', state: 'live' })
    expect(g.edges).toHaveLength(2)
    const pair = (x: string, xi: string, y: string, yi: string) =>
      g.edges.some(
        (e) =>
          JSON.stringify(e) === JSON.stringify({ a: { key: x, iface: xi }, b: { key: y, iface: yi } }) ||
          JSON.stringify(e) === JSON.stringify({ a: { key: y, iface: yi }, b: { key: x, iface: xi } }),
      )
    expect(pair(a.name, 'veth1', b.name, 'veth2')).toBe(true)
    expect(pair(a.name, 'portc', c.name, 'eth0')).toBe(true)

    const text = await netspec(['graph', '--match', prefix, '--no-docker'])
    expect(text.exitCode).toBe(0)
    expect(text.stdout).toContain(`${a.name}   lab 'graph demo' › gA (live)`)
    expect(text.stdout).toMatch(new RegExp(`^ {2}veth1 \\(veth\\) UP 10\\.0\\.12\\.1/24 {2}⇄ {2}${b.name}:veth2$`, 'm'))
    expect(text.stdout).toMatch(new RegExp(`^ {2}portc \\(veth\\) UP master br0 {2}⇄ {2}${c.name}:eth0$`, 'm'))
    expect(text.stdout).toMatch(/^ {2}br0 \(bridge\) UP 172\.16\.0\.1\/24$/m)

    const mermaid = await netspec(['graph', '--match', prefix, '--mermaid', '--no-docker'])
    expect(mermaid.stdout.startsWith('```mermaid\nflowchart LR\n')).toBe(true)
    expect(mermaid.stdout.match(/^ {2}subgraph /gm)).toHaveLength(3)
    expect(mermaid.stdout.match(/ --- /g)).toHaveLength(2)

    // Read-only: the lab's namespaces and addresses are exactly as before.
    expect(await state()).toEqual(before)
  }, 30_000)

  test('asks Docker when it is there, and says so when it does not answer', async () => {
    const r = await netspec(['graph', '--match', 'no-namespace-has-this-name'])
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toContain('0 namespace(s), 0 veth pair(s)')
    const docker = await execa('docker', ['version', '--format', '{{.Server.Version}}'], { reject: false, timeout: 5000 }).catch(() => undefined)
    if (docker !== undefined && docker.exitCode !== 0) expect(r.stdout).toContain('note: docker did not answer')
    else expect(r.stdout).not.toContain('docker did not answer')
  }, 30_000)
})
