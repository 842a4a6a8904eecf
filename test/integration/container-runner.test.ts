// The runner container against a real Docker engine: the image built with no registry, a runner started
// with explicit capabilities and a lifeline, clear errors, and the whole suite run inside.
// Starts dockerd through scripts/dockerd.sh when docker is installed but no engine answers (and stops
// it afterwards if it did); skips, saying why, when docker is not installed.
import { spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
import { isNetspecError, Lab, reachable } from 'netspec'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { runInContainer } from '../../src/container/cli.js'
import { leaseEngine } from '../../src/container/engine.js'
import { buildImage, LATEST } from '../../src/container/image.js'
import { CONTAINERS_DIR, LABEL_OWNER, LABEL_RUN, removeDeadLifelines, startRunner } from '../../src/container/runner.js'
import { buildDist } from '../fixtures/dist.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const lease = await leaseEngine()
const title = lease.ok ? 'runner container' : `runner container (skipped: ${lease.reason})`
const docker = (args: string[]) => execa('docker', args, { reject: false })
// Only this file's own containers: other files (spec 07, the other container tests) may run at the same time.
const containers = async (owner = process.pid) =>
  (await docker(['ps', '-aq', '--no-trunc', '--filter', `label=netspec.owner-pid=${owner}`])).stdout.split('\n').filter(Boolean).sort()

describe.skipIf(!lease.ok)(title, { timeout: 60_000 }, () => {
  let before: string[]
  beforeAll(async () => {
    before = await containers()
    await buildImage() // cached after the first build on this machine
  }, 120_000)
  afterAll(async () => {
    expect(await containers()).toEqual(before) // none of ours left
    if (lease.ok) await lease.release()
  })

  test('the image is tagged latest and a cached build of the same inputs changes nothing', async () => {
    const first = await buildImage()
    const again = await buildImage()
    expect(again.cached).toBe(true)
    expect(again.image).toBe(first.image)
    const ids = await Promise.all([first.image, LATEST].map(async (t) => (await docker(['image', 'inspect', '-f', '{{.Id}}', t])).stdout))
    expect(ids[0]).toBe(ids[1])
    const r = await docker(['run', '--rm', '--network', 'none', LATEST, 'sh', '-c', 'ip -V; readlink /bin/sh; command -v ip'])
    expect(r.stdout).toMatch(/ip utility, iproute2/)
    expect(r.stdout.split('\n')[1]).toBe('dash') // not busybox's sh, which would run its own `ip` applet
    expect(r.stdout.split('\n')[2]).toMatch(/^\/usr\/s?bin\/ip$/) // iproute2's ip, not /opt/busybox/bin/ip
  })

  test('a runner has NET_ADMIN, SYS_ADMIN and NET_RAW, no network, our labels, writable /proc/sys and shared /run/netns', async () => {
    const runner = await startRunner()
    try {
      const inspect = JSON.parse((await docker(['inspect', runner.id])).stdout)[0]
      expect(inspect.HostConfig.NetworkMode).toBe('none')
      expect(inspect.HostConfig.Privileged).toBe(false)
      expect(inspect.HostConfig.CapAdd).toEqual(expect.arrayContaining(['CAP_NET_ADMIN', 'CAP_SYS_ADMIN', 'CAP_NET_RAW'].map((c) => expect.stringMatching(new RegExp(`^(CAP_)?${c.slice(4)}$`)))))
      expect(inspect.Config.Labels[LABEL_RUN]).toBe(runner.runId)
      expect(inspect.Config.Labels[LABEL_OWNER]).toBe(String(process.pid))
      expect(inspect.HostConfig.AutoRemove).toBe(true)
      // Nothing through the process environment: a user's own testcontainers here keeps Ryuk and host detection.
      expect(Object.keys(process.env).filter((k) => k.startsWith('TESTCONTAINERS_'))).toEqual([])
      // Behaviour: a namespace inside, forwarding set in it, NAT rules accepted, only lo in the container.
      const script = [
        'ip -j link show | grep -o "\\"ifname\\":\\"[^\\"]*\\"" | tr "\\n" " "; echo',
        'ip netns add probe && ip netns exec probe sh -c "echo 1 > /proc/sys/net/ipv4/ip_forward && cat /proc/sys/net/ipv4/ip_forward"',
        'ip netns exec probe nft add table ip t && ip netns exec probe nft add chain ip t c "{ type nat hook postrouting priority 100; }" && echo nft-ok',
        'findmnt -n -o PROPAGATION /run/netns 2>/dev/null || grep " /run/netns " /proc/self/mountinfo | grep -o shared: | head -1',
        'ip netns del probe',
      ].join('\n')
      const r = await docker(['exec', runner.id, 'sh', '-c', script])
      expect(r.stderr).toBe('')
      const [links, fwd, nft, propagation] = r.stdout.split('\n')
      expect(links?.trim()).toBe('"ifname":"lo"')
      expect(fwd).toBe('1')
      expect(nft).toBe('nft-ok')
      expect(propagation).toMatch(/shared/)
    } finally {
      await runner.stop()
    }
    expect((await docker(['ps', '-aq', '--filter', `label=${LABEL_RUN}=${runner.runId}`])).stdout).toBe('')
  })

  test('a runner dies with its owner, even by SIGKILL (the lifeline), and leaves no container', async () => {
    await buildDist() // the owner is a plain Node process running the built package, as a user's would
    const script = `const { startRunner } = await import(${JSON.stringify(`${root}dist/index.js`)})
const r = await startRunner(); console.log('ID ' + r.id); setInterval(() => {}, 1000)`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (out += c.toString()))
    await expect.poll(() => out, { timeout: 30_000, interval: 50 }).toMatch(/ID [0-9a-f]{64}/)
    const id = /ID ([0-9a-f]{64})/.exec(out)![1]!
    expect((await docker(['inspect', '-f', '{{.State.Running}}', id])).stdout).toBe('true')
    child.kill('SIGKILL')
    // Gone: PID 1 read EOF on the lifeline, and Docker's auto-remove deleted the container.
    await expect.poll(async () => (await docker(['inspect', id])).exitCode, { timeout: 10_000, interval: 50 }).not.toBe(0)
    await expect.poll(() => existsSync(`/proc/${child.pid}`), { timeout: 5_000 }).toBe(false)
    const lifelines = () => readdirSync(CONTAINERS_DIR).filter((f) => f.startsWith(`${child.pid}-`))
    expect(lifelines()).toHaveLength(1) // the dead owner's FIFO: the next start or sweep removes it
    removeDeadLifelines()
    expect(lifelines()).toEqual([])
  })

  test('--privileged that the machine refuses becomes advice, and the Created container is removed', async () => {
    const err = await startRunner({ privileged: true }).then(
      async (r) => {
        await r.stop() // this machine allows it after all: nothing to translate
        return undefined
      },
      (e: unknown) => e,
    )
    if (err === undefined) return
    expect(isNetspecError(err, 'container')).toBe(true)
    expect((err as Error).message).toMatch(/unable to apply caps|privileged/)
    expect((err as { hint?: string }).hint).toMatch(/leave `privileged` off/)
    const left = (await docker(['ps', '-aq', '--filter', `label=${LABEL_OWNER}=${process.pid}`])).stdout
    expect(left).toBe('')
  })

  test("a user's own testcontainers container in the same process is adopted into a lab, with its settings untouched", async () => {
    const { GenericContainer } = await import('testcontainers')
    // The user's own setting, as this machine needs it (dockerd --bridge=none inside a container: testcontainers
    // cannot find the host's address). netspec neither sets nor needs it.
    const userHadOverride = 'TESTCONTAINERS_HOST_OVERRIDE' in process.env
    process.env.TESTCONTAINERS_HOST_OVERRIDE ??= 'localhost'
    const before = { ...process.env }
    // withAutoCleanup(false): Ryuk's image needs a registry, which this machine does not have (a user's choice, not ours).
    const web = await new GenericContainer(LATEST).withNetworkMode('none').withAutoCleanup(false).withEntrypoint(['sleep']).withCommand(['60']).start()
    try {
      {
        await using lab = await Lab.create({ label: 'adopt testcontainers' })
        const webNs = await lab.adopt(web, 'web')
        const client = await lab.namespace('client')
        await lab.veth([client, 'eth0', '10.0.77.1/24'], [webNs, 'eth1', '10.0.77.2/24'])
        expect((await reachable(client, '10.0.77.2')).verdict).toBe('replied')
      }
      expect((await docker(['inspect', '-f', '{{.State.Running}}', web.getId()])).stdout).toBe('true') // adopted, not owned
    } finally {
      await web.stop()
    }
    expect(process.env).toEqual(before)
    if (!userHadOverride) delete process.env.TESTCONTAINERS_HOST_OVERRIDE
  })

  test('a missing image names the command that builds it', async () => {
    const err = await startRunner({ image: 'netspec-runner:does-not-exist' }).catch((e: unknown) => e)
    expect(isNetspecError(err, 'container')).toBe(true)
    expect((err as { hint?: string }).hint).toContain('npx netspec image build')
  })

  test('netspec run --container runs the specs inside, streams their output and passes the exit code through', async () => {
    let output = ''
    const io = { log: (l: string) => (output += `${l}\n`), output: (c: string) => (output += c) }
    const plan = { args: ['run', '--project', 'specs', 'specs/02-veth-pair.spec.ts', 'specs/04-bridge.spec.ts'], env: { NO_COLOR: '1' }, keep: 'off' as const, container: true }
    const code = await runInContainer({ ...plan, cwd: root }, io)
    expect(output).toMatch(/running Vitest in container netspec-/)
    expect(output).toMatch(/Test Files\s+2 passed \(2\)/)
    expect(code).toBe(0)
    output = ''
    const failed = await runInContainer({ ...plan, args: ['run', '--project', 'specs', 'specs/no-such-spec'], cwd: root }, io)
    expect(output).toMatch(/No test files found/)
    expect(failed).toBe(1)
  })
})
