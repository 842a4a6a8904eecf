// Teardown removes what the lab made and nothing else: processes first (however they were started),
// then namespaces, then their /etc/netns files; `await using` and explicit destroy() do the same.
import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { Lab } from 'netspec'
import { etcNetnsEntries, labIsGone, netnsNames, running } from '../fixtures/kernel.js'

describe('processes inside a namespace', () => {
  test('teardown stops a spawned process and one an exec left in the background, then removes the namespace', async () => {
    const lab = await Lab.create({ label: 'running processes' })
    const ns1 = await lab.namespace('ns1')
    const spawned = await ns1.spawn(['sleep', '100'])
    const backgrounded = await ns1.exec('sleep 101 & echo $!') // exec returns once the shell exits

    const orphan = Number(backgrounded.stdout.trim())
    expect((await ns1.pids()).sort()).toEqual([spawned.pid, orphan].sort())

    await lab.destroy()

    expect(running(spawned.pid)).toBe(false)
    expect(running(orphan)).toBe(false)
    expect(spawned.running).toBe(false)
    expect(labIsGone(lab)).toEqual([])
  })

  test('a spawned process that ignores SIGTERM, and whose child holds its output open, is killed', async () => {
    const lab = await Lab.create({ label: 'stubborn processes' })
    const ns1 = await lab.namespace('ns1')
    const stubborn = await ns1.spawn(`trap '' TERM; sleep 102 & echo "child $!"; wait`, { ready: /child \d+/ })
    const child = Number(/child (\d+)/.exec(stubborn.stdout())![1])

    await lab.destroy()

    expect(running(stubborn.pid)).toBe(false)
    expect(running(child)).toBe(false)
    expect(labIsGone(lab)).toEqual([])
  })

  test('spawn waits for a readiness line, and reports a process that exits before printing it', async () => {
    await using lab = await Lab.create({ label: 'readiness' })
    const ns1 = await lab.namespace('ns1')

    const server = await ns1.spawn(['sh', '-c', 'echo "listening on 7"; exec sleep 100'], { ready: /listening on (\d+)/ })
    expect(server.running).toBe(true)
    expect(server.stdout()).toBe('listening on 7\n')

    const e = await ns1.spawn(['sh', '-c', 'echo oops >&2; exit 3'], { ready: /listening/ }).catch((err: Error) => err)
    expect(e).toBeInstanceOf(Error)
    expect((e as Error).message).toContain('process exited with code 3 before printing /listening/')
    expect((e as Error).message).toContain('oops')
  })

  test('exec returns output and exit code, and a timeout is reported as such', async () => {
    await using lab = await Lab.create({ label: 'exec' })
    const ns1 = await lab.namespace('ns1')

    expect(await ns1.exec(['sh', '-c', 'echo out; echo err >&2; exit 7'])).toMatchObject({ exitCode: 7, stdout: 'out\n', stderr: 'err\n', timedOut: false })
    expect((await ns1.exec('cat', { input: 'fed to stdin' })).stdout).toBe('fed to stdin')
    expect((await ns1.exec('seq 1 200000')).stdout.length).toBe(1_288_895) // large output is read to the end
    expect(await ns1.exec(['sleep', '5'], { timeoutMs: 200 })).toMatchObject({ timedOut: true })
    await expect(ns1.exec('exit 4', { check: true })).rejects.toThrow(/command failed in ns1[\s\S]*exit code: 4/)
  })
})

describe('per-namespace files', () => {
  test('files under /etc/netns/<name> are what processes in that namespace see, and go with it', async () => {
    const hadEtcNetns = existsSync('/etc/netns')
    const lab = await Lab.create({ label: 'files' })
    const ns1 = await lab.namespace('ns1', { files: { hosts: '10.0.12.2 server\n', 'resolv.conf': 'nameserver 10.0.12.53\n' } })
    const ns2 = await lab.namespace('ns2')

    expect((await ns1.exec('cat /etc/hosts')).stdout).toBe('10.0.12.2 server\n')
    expect((await ns1.exec('cat /etc/resolv.conf')).stdout).toBe('nameserver 10.0.12.53\n')
    expect((await ns1.exec(['getent', 'hosts', 'server'])).stdout).toMatch(/^10\.0\.12\.2\s+server$/m)
    expect((await ns2.exec('cat /etc/hosts')).stdout).toBe(readFileSync('/etc/hosts', 'utf8'))

    await lab.destroy()

    expect(existsSync(`/etc/netns/${ns1.name}`)).toBe(false)
    expect(labIsGone(lab)).toEqual([])
    // /etc/netns is as before: if it was absent, it is gone again (unless another lab has files in it right now).
    if (!hadEtcNetns) expect(!existsSync('/etc/netns') || etcNetnsEntries().length > 0).toBe(true)
    expect(readFileSync('/etc/hosts', 'utf8')).not.toContain('10.0.12.2 server')
  })

  test.each([['../hosts'], ['.hidden'], ['a/b'], ['']])('a file name such as %j is refused', async (file) => {
    await using lab = await Lab.create({ label: 'bad file name' })
    await expect(lab.namespace('ns1', { files: { [file]: 'x' } })).rejects.toThrow(/is not a plain file name/)
    expect(lab.marker.namespaces).toEqual([])
  })
})

describe('explicit state', () => {
  test('forwarding is written as 0 on every new namespace, whatever the machine has', async () => {
    await using lab = await Lab.create({ label: 'forwarding off' })
    const ns1 = await lab.namespace('ns1')

    expect(await ns1.sysctlGet('net.ipv4.ip_forward')).toBe('0')
    expect(await ns1.sysctlGet('net.ipv6.conf.all.forwarding')).toBe('0')
  })

  test('forwarding: true turns IPv4 and IPv6 forwarding on; further sysctls are applied', async () => {
    await using lab = await Lab.create({ label: 'forwarding on' })
    const router = await lab.namespace('router', { forwarding: true, sysctls: { 'net.ipv4.conf.all.rp_filter': 2 } })

    expect(await router.sysctlGet('net.ipv4.ip_forward')).toBe('1')
    expect(await router.sysctlGet('net.ipv6.conf.all.forwarding')).toBe('1')
    expect(await router.sysctlGet('net.ipv4.conf.all.rp_filter')).toBe('2')
    await router.forwarding(false)
    expect(await router.sysctlGet('net.ipv4.ip_forward')).toBe('0')
    await router.sysctlSet('net.ipv4.ip_forward', 1)
    expect(await router.sysctlGet('net.ipv4.ip_forward')).toBe('1')
  })

  test('only net.* sysctls of the namespace can be set', async () => {
    await using lab = await Lab.create({ label: 'sysctl keys' })
    const ns1 = await lab.namespace('ns1')

    await expect(ns1.sysctlSet('kernel.hostname', 'x')).rejects.toThrow(/a lab sets only net\.\* keys/)
    await expect(ns1.sysctlSet('net.ipv4.ip_forward', '1; reboot')).rejects.toThrow(/not allowed/)
    await expect(lab.namespace('ns2', { sysctls: { 'vm.swappiness': 1 } })).rejects.toThrow(/only net\.\* keys/)
    // One way to write them whatever the verb: a key this kernel has no file for is named, with what to check.
    await expect(ns1.sysctlSet('net.ipv4.tcp_no_such_knob', 1)).rejects.toMatchObject({
      kind: 'command-failed',
      namespace: 'ns1',
      message: expect.stringContaining('net.ipv4.tcp_no_such_knob'),
      hint: expect.stringContaining('check its name'),
    })
    expect(await ns1.sysctlGet('net.ipv4.ip_forward')).toBe('0')
  })
})

describe('outside Vitest fixtures', () => {
  test('`await using` tears the lab down at the end of the block', async () => {
    let kept: Lab
    let name: string
    {
      await using lab = await Lab.create({ label: 'await using' })
      name = (await lab.namespace('ns1')).name
      kept = lab
      expect(netnsNames()).toContain(name)
    }
    expect(kept.state).toBe('torn-down')
    expect(netnsNames()).not.toContain(name)
    expect(labIsGone(kept)).toEqual([])
  })

  test('Symbol.asyncDispose and destroy() are the same teardown, and deferred steps run first, last first', async () => {
    const lab = await Lab.create({ label: 'dispose' })
    const ns1 = await lab.namespace('ns1')
    const order: string[] = []
    lab.defer(() => order.push('first registered'))
    lab.defer(async () => {
      order.push(`last registered, namespace still there: ${netnsNames().includes(ns1.name)}`)
    })

    await lab[Symbol.asyncDispose]()
    await lab.destroy()

    expect(order).toEqual(['last registered, namespace still there: true', 'first registered'])
    expect(labIsGone(lab)).toEqual([])
  })

  test('destroy() called while namespaces and links are still being built waits for them, and leaves nothing', async () => {
    for (let i = 0; i < 5; i++) {
      const lab = await Lab.create({ label: `destroyed mid-build ${i}` })
      const ns1 = await lab.namespace('ns1')
      const building = Promise.allSettled([lab.namespace('ns2'), lab.namespace('ns3'), lab.veth([ns1, 'a'], [ns1, 'b'])])

      await lab.destroy()
      await building

      expect(labIsGone(lab)).toEqual([])
    }
  })

  test('a deferred step that throws fails the teardown loudly, after everything else was removed', async () => {
    const lab = await Lab.create({ label: 'failing defer' })
    await lab.namespace('ns1')
    lab.defer(() => {
      throw new Error('cleanup broke')
    }, 'stop the fake server')

    await expect(lab.destroy()).rejects.toThrow(/teardown of lab 'failing defer' left things behind: stop the fake server failed: cleanup broke/)
    expect(labIsGone(lab)).toEqual([])
  })
})
