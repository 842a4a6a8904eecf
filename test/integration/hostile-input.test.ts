// Issue 13, item 5: strings a user passes never become `ip -batch` syntax, nft syntax or tcpdump options.
// Each reproduction from the issue, on both kernel paths (in-process netlink and `ip -batch` processes):
// refused with 'invalid-input' before anything changed (the lab's namespaces read back before and after),
// or done exactly as asked; and a failure half-way leaves nothing behind.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { Lab, isNetspecError, masquerade, type Namespace } from 'netspec'
import { labIsGone } from '../fixtures/kernel.js'
import { labOnPath } from '../fixtures/lab-path.js'

const labs: Lab[] = []

afterEach(async () => {
  for (const lab of labs.splice(0)) {
    await lab.destroy()
    expect(labIsGone(lab)).toEqual([])
  }
})

async function labOn(path: 'netlink' | 'ip', label: string): Promise<Lab> {
  const lab = await labOnPath(path, `hostile ${label} (${path})`)
  labs.push(lab)
  return lab
}

/** Links (name, alias, master), addresses and routes of all tables, read straight from the kernel. */
function state(netns: string): unknown {
  const j = (args: string[]): unknown[] => JSON.parse(execFileSync('ip', ['-n', netns, '-j', ...args], { encoding: 'utf8' }) || '[]') as unknown[]
  const links = (j(['link', 'show']) as { ifname: string; ifalias?: string; master?: string; operstate: string }[]).map((l) => [l.ifname, l.ifalias, l.master])
  const addrs = (j(['addr', 'show']) as { ifname: string; addr_info: { local: string; prefixlen: number }[] }[]).flatMap((l) =>
    l.addr_info.map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`),
  )
  const routes = [...j(['-4', 'route', 'show', 'table', 'all']), ...j(['-6', 'route', 'show', 'table', 'all'])].map((r) => JSON.stringify(r))
  return { links, addrs: addrs.sort(), routes: routes.sort() }
}

function nftTables(netns: string): string[] {
  const out = execFileSync('ip', ['netns', 'exec', netns, 'nft', '-j', 'list', 'tables'], { encoding: 'utf8' })
  return ((JSON.parse(out) as { nftables: { table?: { name: string } }[] }).nftables ?? []).flatMap((i) => (i.table ? [i.table.name] : []))
}

/** Runs `fn`, which must be refused with 'invalid-input', and checks the namespaces read back exactly as before. */
async function refusedUnchanged(namespaces: readonly Namespace[], fn: () => Promise<unknown>, why?: RegExp): Promise<Error> {
  const before = namespaces.map((ns) => state(ns.name))
  const e = await fn().then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(isNetspecError(e, 'invalid-input'), `expected invalid-input, got ${String(e)}`).toBe(true)
  if (why !== undefined) expect((e as Error).message).toMatch(why)
  expect(namespaces.map((ns) => state(ns.name))).toEqual(before)
  return e as Error
}

async function pair(lab: Lab): Promise<[Namespace, Namespace]> {
  const a = await lab.namespace('a')
  const b = await lab.namespace('b')
  await lab.veth([a, 'veth1', '10.0.12.1/24'], [b, 'veth2', '10.0.12.2/24'])
  return [a, b]
}

describe.each(['netlink', 'ip'] as const)('hostile strings on the %s path', (path) => {
  test("addrAdd('lo#x') is refused: the address does not land on lo", async () => {
    const lab = await labOn(path, 'addr')
    const [a, b] = await pair(lab)
    await refusedUnchanged([a, b], () => a.addrAdd('lo#x', '10.9.9.9/24'), /interface name 'lo#x'/)
  })

  test("linkDel('veth1#') is refused: veth1 is not deleted", async () => {
    const lab = await labOn(path, 'del')
    const [a, b] = await pair(lab)
    await refusedUnchanged([a, b], () => a.linkDel('veth1#'))
  })

  test("routeAdd(…, { dev: 'veth1#zz' }) is refused: no route via veth1", async () => {
    const lab = await labOn(path, 'route dev')
    const [a, b] = await pair(lab)
    await refusedUnchanged([a, b], () => a.routeAdd('10.50.0.0/16', { dev: 'veth1#zz' }))
  })

  test("lab.veth([a, 'x'], [b, 'y#']) is refused: nothing is created in either namespace", async () => {
    const lab = await labOn(path, 'veth')
    const a = await lab.namespace('a')
    const b = await lab.namespace('b')
    await refusedUnchanged([a, b], () => lab.veth([a, 'x', '10.0.1.1/24'], [b, 'y#', '10.0.1.2/24']))
    // The names are free again: a corrected retry works.
    await lab.veth([a, 'x', '10.0.1.1/24'], [b, 'y', '10.0.1.2/24'])
    expect((await b.link('y'))?.name).toBe('y')
  })

  test('a name starting with a quote is refused, and so is one with a leading dash', async () => {
    const lab = await labOn(path, 'quote')
    const a = await lab.namespace('a')
    const b = await lab.namespace('b')
    await refusedUnchanged([a, b], () => lab.veth([a, '"x'], [b, 'y']))
    await refusedUnchanged([a, b], () => lab.veth([a, "x'"], [b, 'y']))
    await refusedUnchanged([a, b], () => lab.veth([a, '-x'], [b, 'y']))
  })

  test('a name ending in a backslash fails alone: concurrent callers of the same batch are not joined to it', async () => {
    const lab = await labOn(path, 'backslash')
    const [a, b] = await pair(lab)
    const results = await Promise.allSettled([
      a.addrAdd('veth1', '10.0.13.1/24'),
      a.addrAdd('veth1\\', '10.0.14.1/24'),
      a.routeAdd('10.60.0.0/16', { via: '10.0.12.2' }),
      a.linkSet('veth1', { mtu: 1400 }),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled'])
    expect(isNetspecError((results[1] as PromiseRejectedResult).reason, 'invalid-input')).toBe(true)
    const s = state(a.name) as { addrs: string[]; routes: string[] }
    expect(s.addrs).toContain('veth1 10.0.13.1/24')
    expect(s.addrs.some((x) => x.includes('10.0.14.1'))).toBe(false)
    expect(s.routes.some((r) => r.includes('"dst":"10.60.0.0/16"'))).toBe(true)
    expect((await a.link('veth1'))?.mtu).toBe(1400)
    void b
  })

  test('the batcher itself refuses a line ip would not read as one command, alone (defence behind the values layer)', async () => {
    const lab = await labOn(path, 'batcher')
    const [a, b] = await pair(lab)
    await Promise.all([a.links(), b.links()])
    const before = state(a.name)
    const ctx = { lab: lab.label, namespace: a.label, netns: a.name }
    const results = await Promise.allSettled([
      lab.batch(a, ['addr add 10.0.15.1/24 dev veth1\\'], ctx),
      lab.batch(a, ['addr add 10.0.16.1/24 dev veth1 # comment'], ctx),
      lab.batch(a, ['link set dev veth1 alias "unterminated'], ctx),
      lab.batch(a, ['addr add 10.0.17.1/24 dev veth1'], ctx),
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'fulfilled'])
    for (const r of results.slice(0, 3)) expect(isNetspecError((r as PromiseRejectedResult).reason, 'invalid-input')).toBe(true)
    const after = state(a.name) as { addrs: string[] }
    expect(after.addrs).toEqual([...(before as { addrs: string[] }).addrs, 'veth1 10.0.17.1/24'].sort())
  })

  test('aliases: NUL and newline refused; 255 characters of 510 bytes refused; 255 bytes arrive exactly', async () => {
    const lab = await labOn(path, 'alias')
    const a = await lab.namespace('a')
    const b = await lab.namespace('b')
    await refusedUnchanged([a, b], () => lab.veth([a, 'x', { alias: 'a\0b' }], [b, 'y']), /alias/)
    await refusedUnchanged([a, b], () => lab.veth([a, 'x', { alias: 'a\nlink del dev lo' }], [b, 'y']), /alias/)
    await refusedUnchanged([a, b], () => lab.veth([a, 'x', { alias: 'é'.repeat(255) }], [b, 'y']), /510 bytes/)
    // What is allowed arrives exactly as given: quotes of one kind, backslashes, spaces, multi-byte.
    const exact = [`a "lab" \\ link ü ✓ `, 'é'.repeat(127) + 'x', `say "hi"\\`, "it's"]
    for (const [i, alias] of exact.entries()) {
      await lab.veth([a, `x${i}`, { alias }], [b, `y${i}`])
      await a.linkSet(`x${i}`, { alias })
      const got = JSON.parse(execFileSync('ip', ['-n', a.name, '-j', 'link', 'show', 'dev', `x${i}`], { encoding: 'utf8' })) as { ifalias?: string }[]
      expect(got[0]?.ifalias).toBe(alias)
    }
  })

  test("route table 'all', 'unspec', 0x10, 010 and 2^32 are refused; a numbered table works", async () => {
    const lab = await labOn(path, 'table')
    const [a, b] = await pair(lab)
    for (const table of ['all', 'unspec', '0x10', '010', 4294967296, 0, 'main#'] as const)
      await refusedUnchanged([a, b], () => a.routeAdd('10.70.0.0/16', { via: '10.0.12.2', table }), /table/)
    await a.routeAdd('10.70.0.0/16', { via: '10.0.12.2', table: 100 })
    await a.routeAdd('10.71.0.0/16', { via: '10.0.12.2', table: 'main' })
    const routes = (state(a.name) as { routes: string[] }).routes
    expect(routes.some((r) => r.includes('"dst":"10.70.0.0/16"') && r.includes('"table":"100"'))).toBe(true)
    expect(routes.some((r) => r.includes('"dst":"10.71.0.0/16"'))).toBe(true)
  })

  test("masquerade(ns, { outInterface: 'x\"#' }) is refused: no rule, no table", async () => {
    const lab = await labOn(path, 'masq')
    const [a, b] = await pair(lab)
    await refusedUnchanged([a, b], () => masquerade(a, { source: '10.0.12.0/24', outInterface: 'x"#' }))
    expect(nftTables(a.name)).toEqual([])
  })

  test("capture filter '-w FILE icmp' never becomes an option: invalid-input in tcpdump's words, no file written", async () => {
    const lab = await labOn(path, 'capture')
    const [a] = await pair(lab)
    const dir = mkdtempSync(join(tmpdir(), 'netspec-hostile-'))
    try {
      const target = join(dir, 'x.pcap')
      const e = await a.capture('veth1', { filter: `-w ${target} icmp` }).then(
        () => undefined,
        (err: unknown) => err,
      )
      expect(isNetspecError(e, 'invalid-input'), String(e)).toBe(true)
      expect((e as Error).message).toMatch(/tcpdump/)
      expect((e as Error & { stderr?: string }).stderr ?? (e as Error).message).toMatch(/syntax error|can't parse/i)
      expect(existsSync(target)).toBe(false)
      // A good filter still captures.
      const cap = await a.capture('veth1', { filter: 'icmp' })
      await a.exec(['ping', '-c', '1', '-W', '1', '10.0.12.2'])
      expect((await cap.stop()).length).toBeGreaterThan(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a veth whose address the kernel refuses half-way leaves no pair behind', async () => {
    const lab = await labOn(path, 'half-way')
    const a = await lab.namespace('a')
    const b = await lab.namespace('b', { sysctls: { 'net.ipv6.conf.all.disable_ipv6': 1, 'net.ipv6.conf.default.disable_ipv6': 1 } })
    await Promise.all([a.links(), b.links()]) // what the namespaces owe (lo up) is sent first
    const before = [state(a.name), state(b.name)]
    const e = await lab.veth([a, 'v1', 'fd00:1::1/64'], [b, 'v2', 'fd00:1::2/64']).then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(isNetspecError(e, 'command-failed'), String(e)).toBe(true)
    expect([state(a.name), state(b.name)]).toEqual(before)
    // The names are free again.
    await lab.veth([a, 'v1', '10.0.1.1/24'], [b, 'v2', '10.0.1.2/24'])
  })
})
