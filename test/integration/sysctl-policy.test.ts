// Issue 13, item 1: a lab writes only sysctls the kernel keeps per network namespace. A global one-way key
// (net.netfilter.nf_hooks_lwtunnel) is refused before anything is created; a per-namespace key still works and
// reads back; and every key writable inside a fresh namespace of this kernel is classified by the policy.
// Nothing here writes a sysctl of the root namespace, or any key the policy refuses.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, test } from 'vitest'
import { Lab, isNetspecError } from 'netspec'
import { sysctlPolicy } from '../../src/values/sysctl.js'
import { labIsGone, netnsNames } from '../fixtures/kernel.js'
import { labOnPath } from '../fixtures/lab-path.js'

const labs: Lab[] = []
afterEach(async () => {
  for (const lab of labs.splice(0)) {
    await lab.destroy()
    expect(labIsGone(lab)).toEqual([])
  }
})

async function labOn(path: 'netlink' | 'ip', label: string): Promise<Lab> {
  const lab = await labOnPath(path, `sysctl ${label} (${path})`)
  labs.push(lab)
  return lab
}

const LWT = '/proc/sys/net/netfilter/nf_hooks_lwtunnel'
const rootValue = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return undefined // the module is not loaded: the key does not exist
  }
}

describe.each(['netlink', 'ip'] as const)('sysctl policy on the %s path', (path) => {
  test('net.netfilter.nf_hooks_lwtunnel is refused before anything is created', async () => {
    const lab = await labOn(path, 'lwtunnel')
    const namesBefore = netnsNames()
    const machineBefore = rootValue(LWT)
    const e = await lab.namespace('x', { sysctls: { 'net.netfilter.nf_hooks_lwtunnel': 1 } }).then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(isNetspecError(e, 'invalid-input'), String(e)).toBe(true)
    expect((e as Error).message).toMatch(/shared by every namespace of the machine/)
    expect(lab.marker.namespaces).toEqual([])
    expect(netnsNames().filter((n) => !namesBefore.includes(n) && n.includes(lab.id))).toEqual([])
    // The same through sysctlSet on an existing namespace.
    const ns = await lab.namespace('y')
    await expect(ns.sysctlSet('net.netfilter.nf_hooks_lwtunnel', 1)).rejects.toMatchObject({ kind: 'invalid-input' })
    await expect(ns.sysctlSet('net/netfilter/nf_hooks_lwtunnel', '1')).rejects.toMatchObject({ kind: 'invalid-input' })
    expect(rootValue(LWT)).toBe(machineBefore)
  })

  test('a per-namespace key is written in the namespace, read back, and the machine keeps its own', async () => {
    const lab = await labOn(path, 'per-ns')
    const machine = rootValue('/proc/sys/net/ipv4/conf/all/rp_filter')
    const a = await lab.namespace('a', { sysctls: { 'net.ipv4.conf.all.rp_filter': 2, 'net.ipv4.tcp_syncookies': 0 } })
    const b = await lab.namespace('b')
    expect(await a.sysctlGet('net.ipv4.conf.all.rp_filter')).toBe('2')
    expect(await a.sysctlGet('net.ipv4.tcp_syncookies')).toBe('0')
    const inKernel = execFileSync('ip', ['netns', 'exec', a.name, 'cat', '/proc/sys/net/ipv4/conf/all/rp_filter'], { encoding: 'utf8' }).trim()
    expect(inKernel).toBe('2')
    // An interface name holding a dot takes the slash form, as sysctl(8) does.
    await lab.veth([a, 'v.1'], [b, 'v.2'])
    await a.sysctlSet('net/ipv4/conf/v.1/rp_filter', 1)
    expect(await a.sysctlGet('net/ipv4/conf/v.1/rp_filter')).toBe('1')
    expect(rootValue('/proc/sys/net/ipv4/conf/all/rp_filter')).toBe(machine)
  })

  test('the read-back is the truth: an empty value is refused, a value the kernel did not take throws, a rounded one is returned', async () => {
    const lab = await labOn(path, 'read-back')
    const a = await lab.namespace('a', { forwarding: true })
    const b = await lab.namespace('b')
    await lab.veth([a, 'eth0'], [b, 'eth0'])
    const inKernel = (key: string) => execFileSync('ip', ['netns', 'exec', a.name, 'cat', `/proc/sys/${key.replace(/\./g, '/')}`], { encoding: 'utf8' }).trim()
    // An empty write is no write for the kernel: refused, and ip_forward keeps its 1.
    await expect(a.sysctlSet('net.ipv4.ip_forward', '')).rejects.toMatchObject({ kind: 'invalid-input', message: expect.stringMatching(/empty/) })
    await expect(a.sysctlSet('net.ipv4.ip_forward', '0\n1')).rejects.toMatchObject({ kind: 'invalid-input', message: expect.stringMatching(/line break/) })
    expect(inKernel('net.ipv4.ip_forward')).toBe('1')
    // '0 1' into a one-number key: the kernel keeps the 0 and drops the 1; the caller is told.
    const err = await a.sysctlSet('net.ipv4.ip_forward', '0 1').catch((e: unknown) => e)
    expect(isNetspecError(err, 'command-failed') && err.message).toMatch(/net\.ipv4\.ip_forward: wrote '0 1', the kernel holds 1 value \('0'\) after 2 were written/)
    expect(inKernel('net.ipv4.ip_forward')).toBe('0')
    // Two numbers into tcp_rmem's three: the third stays, and that is said too.
    const before = inKernel('net.ipv4.tcp_rmem').split(/\s+/)
    await expect(a.sysctlSet('net.ipv4.tcp_rmem', '4096 8192')).rejects.toThrow(/holds 3 values/)
    expect(inKernel('net.ipv4.tcp_rmem').split(/\s+/)).toEqual(['4096', '8192', before[2]])
    // A vector written whole comes back whole (the kernel prints it tab-separated).
    expect(await a.sysctlSet('net.ipv4.tcp_rmem', '4096 131072 6291456')).toBe('4096 131072 6291456')
    // Milliseconds the kernel keeps in jiffies: returned as it holds them, equal to what it reads back.
    const held = await a.sysctlSet('net.ipv4.neigh.eth0.retrans_time_ms', 50)
    expect(held).toBe(inKernel('net.ipv4.neigh.eth0.retrans_time_ms'))
    expect(Math.abs(Number(held) - 50)).toBeLessThan(20)
    // The same check guards lab.namespace({ sysctls }).
    await expect(lab.namespace('c', { sysctls: { 'net.ipv4.ip_forward': '1 1' } })).rejects.toThrow(/holds 1 value/)
  })

  test("a value the kernel refuses is said to be the value's fault, with the kernel's errno, never 'does not exist'", async () => {
    const lab = await labOn(path, 'einval')
    const a = await lab.namespace('a')
    // the kernel's own answer to the same write: the key exists, the value is invalid
    const kernel = await a.exec(['sysctl', '-w', 'net.ipv4.ip_forward=abc'])
    expect(kernel.stderr).toMatch(/Invalid argument/)
    const e = await a.sysctlSet('net.ipv4.ip_forward', 'abc').catch((x: unknown) => x)
    expect(isNetspecError(e, 'command-failed')).toBe(true)
    const err = e as { hint?: string; stderr?: string; command?: string }
    expect(err.hint).toMatch(/refused the value "abc" for net\.ipv4\.ip_forward \(EINVAL\)/)
    expect(err.hint).not.toMatch(/does not exist/)
    expect(err.stderr).toMatch(/EINVAL|Invalid argument/)
    expect(err.command).toContain('net.ipv4.ip_forward=abc')
    // and a key that is not there is still said to be missing
    const missing = await a.sysctlSet('net.ipv4.conf.eth9.forwarding', 1).catch((x: unknown) => x)
    expect((missing as { hint?: string }).hint).toMatch(/does not exist/)
  })
})

test('every key writable in a fresh namespace of this kernel is classified; the refused ones are the known shared ones', () => {
  // Read-only: list the writable files of a throwaway namespace (`unshare -n`), write nothing.
  const keys = execFileSync('unshare', ['-n', 'find', '/proc/sys/net', '-type', 'f', '-perm', '-u+w'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((p) => p.slice('/proc/sys/'.length).replace(/\//g, '.'))
  expect(keys.length).toBeGreaterThan(100)
  const refused = keys.filter((k) => !sysctlPolicy(k).allowed)
  for (const k of refused)
    expect(k, `${k}: ${JSON.stringify(sysctlPolicy(k))}`).toMatch(/^net\.(netfilter\.(nf_hooks_lwtunnel|nf_log\.\d+|nf_conntrack_(max|buckets|expect_max|log_invalid))|ipv4\.tcp_congestion_control|core\.(optmem_max|rps_default_mask|tstamp_allow_data|txrehash|[a-z_]+))$/)
  if (keys.includes('net.netfilter.nf_hooks_lwtunnel')) expect(refused).toContain('net.netfilter.nf_hooks_lwtunnel')
  // The table docs/trust.md reports: what this kernel shows and what the policy makes of it.
  console.log(`netspec sysctl policy: ${keys.length} writable net.* keys in a namespace on this kernel, ${keys.length - refused.length} allowed, ${refused.length} refused: ${refused.join(' ')}`)
})
