// Sealed labs, proven: a check around a test run that fails it if anything leaked into the machine's
// root network namespace. Before and after, it compares the root namespace's links, addresses, routes
// and rules (IPv4 and IPv6), `nft -j list ruleset`, iptables-save / ip6tables-save, every net.* sysctl,
// and /etc (file list, sizes, mtimes; /etc/netns excluded, labs use it). During the run it captures on
// every root-namespace interface (`tcpdump -i any`): not one packet may carry a lab address (private and
// documentation ranges, minus the subnets the machine itself uses) as source or destination.
//
// Two ways to use it:
//   Vitest globalSetup (per project):  globalSetup: ['scripts/sealed-check.mjs']
//   A wrapper around any command:      node scripts/sealed-check.mjs -- npx vitest run --project integration
// NETSPEC_SEALED=off skips it; NETSPEC_SEALED_REPORT=<file> writes the verdict as JSON; a leak's packets are
// kept in NETSPEC_SEALED_PCAP (default .netspec/sealed-leak.pcap).
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { constants, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, isAbsolute, join } from 'node:path'

/** Address ranges labs use (tests and specs): RFC 1918, ULA, CGNAT and the documentation ranges. */
export const LAB_RANGES = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '192.0.2.0/24',
  '198.51.100.0/24',
  '203.0.113.0/24',
  'fd00::/8',
  '2001:db8::/32',
]

const sh = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  if (r.error?.code === 'ENOENT') return `(${cmd} not installed)`
  return r.status === 0 ? r.stdout : `(${cmd} ${args.join(' ')} failed: ${r.stderr.trim()})`
}
const json = (cmd, args) => {
  const out = sh(cmd, args)
  try {
    return JSON.parse(out || '[]')
  } catch {
    return out
  }
}

// ---- what the root namespace looks like ------------------------------------------------------

function links() {
  return json('ip', ['-j', '-d', 'link', 'show']).map((l) => ({
    ifname: l.ifname,
    ifindex: l.ifindex,
    kind: l.linkinfo?.info_kind,
    mtu: l.mtu,
    master: l.master,
    address: l.address,
    up: (l.flags ?? []).includes('UP'),
  }))
}

function addresses() {
  return json('ip', ['-j', 'addr', 'show']).flatMap((l) =>
    (l.addr_info ?? []).map((a) => `${l.ifname} ${a.local}/${a.prefixlen}${a.scope === 'link' && a.family === 'inet6' ? ' (link)' : ''}`),
  )
}

// Route and rule lists without what changes on its own (expiry timers of kernel-learned routes).
function routes() {
  const strip = (rs) => (Array.isArray(rs) ? rs.map(({ expires, ...r }) => r) : rs)
  return {
    v4: strip(json('ip', ['-j', '-4', 'route', 'show', 'table', 'all'])),
    v6: strip(json('ip', ['-j', '-6', 'route', 'show', 'table', 'all'])).filter?.((r) => r.type !== 'multicast' || r.dev !== undefined) ?? [],
    rules4: json('ip', ['-j', '-4', 'rule', 'show']),
    rules6: json('ip', ['-j', '-6', 'rule', 'show']),
  }
}

// Counters change with every packet; the rules themselves must not.
function nftRuleset() {
  const text = sh('nft', ['-j', 'list', 'ruleset'])
  return text.replace(/"packets":\s*\d+,\s*"bytes":\s*\d+/g, '"packets":0,"bytes":0')
}

function iptables() {
  const clean = (t) =>
    t
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .map((l) => l.replace(/\[\d+:\d+\]/g, '[0:0]'))
      .join('\n')
  return { v4: clean(sh('iptables-save', [])), v6: clean(sh('ip6tables-save', [])) }
}

// Values that are counters or caches, not settings.
const VOLATILE_SYSCTL = /^net\.netfilter\.nf_conntrack_count$|\.stable_secret$|^net\.core\.netdev_rss_key$/

function sysctls() {
  const out = {}
  const walk = (dir, key) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name)
      const k = `${key}.${e.name}`
      if (e.isDirectory()) walk(path, k)
      else if (!VOLATILE_SYSCTL.test(k)) {
        try {
          out[k] = readFileSync(path, 'utf8').trim()
        } catch {
          // write-only or unreadable keys
        }
      }
    }
  }
  walk('/proc/sys/net', 'net')
  return out
}

function etcDigest() {
  const entries = []
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name)
      if (path === '/etc/netns') continue
      let st
      try {
        st = lstatSync(path)
      } catch {
        continue
      }
      entries.push(`${path} ${st.mode.toString(8)} ${st.size} ${Math.round(st.mtimeMs)}`)
      if (st.isDirectory()) walk(path)
    }
  }
  walk('/etc')
  return { hash: createHash('sha256').update(entries.join('\n')).digest('hex'), entries }
}

export function snapshot() {
  return {
    links: links(),
    addresses: addresses(),
    routes: routes(),
    nft: nftRuleset(),
    iptables: iptables(),
    sysctls: sysctls(),
    etc: etcDigest(),
  }
}

// ---- comparing -------------------------------------------------------------------------------

const lines = (v) => (typeof v === 'string' ? v.split('\n') : JSON.stringify(v, null, 1).split('\n'))

function diffSets(what, before, after) {
  const b = new Set(before)
  const a = new Set(after)
  return [...[...b].filter((x) => !a.has(x)).map((x) => `${what}: gone: ${x}`), ...[...a].filter((x) => !b.has(x)).map((x) => `${what}: new: ${x}`)]
}

/** Every difference between two snapshots, as readable lines (empty: sealed). */
export function compare(before, after) {
  const out = []
  out.push(...diffSets('link', before.links.map((l) => JSON.stringify(l)), after.links.map((l) => JSON.stringify(l))))
  out.push(...diffSets('address', before.addresses, after.addresses))
  for (const k of ['v4', 'v6', 'rules4', 'rules6'])
    out.push(...diffSets(`route ${k}`, before.routes[k].map?.((r) => JSON.stringify(r)) ?? [], after.routes[k].map?.((r) => JSON.stringify(r)) ?? []))
  out.push(...diffSets('nft', lines(before.nft), lines(after.nft)).slice(0, 20))
  out.push(...diffSets('iptables', lines(before.iptables.v4), lines(after.iptables.v4)))
  out.push(...diffSets('ip6tables', lines(before.iptables.v6), lines(after.iptables.v6)))
  // Keys of interfaces that came or went are covered by the link comparison; a module loaded by a lab
  // (e.g. nf_conntrack) adds keys without changing any setting: only changed values count.
  for (const [k, v] of Object.entries(before.sysctls))
    if (k in after.sysctls && after.sysctls[k] !== v) out.push(`sysctl: ${k} changed: ${v} -> ${after.sysctls[k]}`)
  if (before.etc.hash !== after.etc.hash) out.push(...diffSets('/etc', before.etc.entries, after.etc.entries))
  return out
}

// ---- the capture -----------------------------------------------------------------------------

/** Subnets the machine's root namespace uses itself (a lab range there is the machine's, not a lab's). */
export function rootSubnets() {
  const nets = new Set()
  for (const l of json('ip', ['-j', 'addr', 'show']))
    for (const a of l.addr_info ?? []) if (a.scope !== 'host') nets.add(networkOf(a.local, a.prefixlen))
  return nets
}

// `10.1.2.3`, 24 → `10.1.2.0/24` (tcpdump refuses host bits in `net`).
export function networkOf(address, prefix) {
  const v6 = address.includes(':')
  const width = v6 ? 128n : 32n
  let bits = 0n
  if (v6) {
    const [head, tail = ''] = address.split('::')
    const h = head ? head.split(':') : []
    const t = tail ? tail.split(':') : []
    const groups = address.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h
    for (const g of groups) bits = (bits << 16n) | BigInt(parseInt(g, 16))
  } else for (const o of address.split('.')) bits = (bits << 8n) | BigInt(Number(o))
  const mask = ((1n << width) - 1n) ^ ((1n << (width - BigInt(prefix))) - 1n)
  const net = bits & mask
  if (!v6) return `${[24n, 16n, 8n, 0n].map((s) => String((net >> s) & 255n)).join('.')}/${prefix}`
  const groups = []
  for (let i = 7n; i >= 0n; i--) groups.push(((net >> (i * 16n)) & 0xffffn).toString(16))
  return `${groups.join(':')}/${prefix}`
}

export function captureFilter(ownNets) {
  const own = [...ownNets].map((n) => `net ${n}`)
  const lab = `(${LAB_RANGES.map((r) => `net ${r}`).join(' or ')})`
  return own.length === 0 ? lab : `${lab} and not (${own.join(' or ')})`
}

/** Starts tcpdump on every root-namespace interface; resolves once it listens. */
export async function startCapture(file) {
  const child = spawn('tcpdump', ['-i', 'any', '-n', '-p', '-U', '-Z', 'root', '-w', file, captureFilter(new Set())], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000)
    child.stderr.on('data', (d) => {
      err += d
      if (/listening on/.test(err)) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`tcpdump exited with ${code}: ${err}`))
    })
  })
  // The machine's own subnets, seen at any time during the run (a container network may come and go).
  const own = rootSubnets()
  const poll = setInterval(() => {
    for (const n of rootSubnets()) own.add(n)
  }, 1000)
  poll.unref()
  return {
    async stop() {
      clearInterval(poll)
      for (const n of rootSubnets()) own.add(n)
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGINT') // flushes the file
      await exited
      const filter = captureFilter(own)
      const r = spawnSync('tcpdump', ['-n', '-r', file, filter], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
      return { packets: r.stdout.split('\n').filter(Boolean), filter }
    },
  }
}

// ---- around a run ----------------------------------------------------------------------------

const STATE = '/run/netspec'
const EVIDENCE = () => process.env.NETSPEC_SEALED_PCAP ?? '.netspec/sealed-leak.pcap'

/**
 * Copies the leak's pcap to `dest` (in the checkout, which its non-root owner may change while this runs as root):
 * no component of a relative `dest` may be a symlink, the copy goes to an exclusive temp name (O_EXCL: never through
 * a link) and is renamed into place (rename replaces a link, never follows it). As src/lab/safe-files.ts does.
 */
export function keepEvidence(pcap, dest) {
  const dir = dirname(dest)
  if (isAbsolute(dest)) mkdirSync(dir, { recursive: true })
  else {
    let at = '.'
    for (const part of dir.split('/').filter((p) => p !== '' && p !== '.')) {
      at = join(at, part)
      try {
        mkdirSync(at, { mode: 0o755 })
      } catch (e) {
        if (e.code !== 'EEXIST') throw e
      }
      if (lstatSync(at).isSymbolicLink()) throw new Error(`${at} is a symbolic link (never followed)`)
    }
  }
  const tmp = join(dir, `.${basename(dest)}.${process.pid}.tmp`)
  rmSync(tmp, { force: true })
  copyFileSync(pcap, tmp, constants.COPYFILE_EXCL)
  renameSync(tmp, dest)
}

/**
 * A run killed before its teardown (SIGKILL, a CI timeout) leaves its capture file behind, which grows as long as the
 * run did (one reached 445 MB): the files of processes that are gone are removed (plain files only, never followed).
 */
function removeDeadCaptures() {
  let names = []
  try {
    if (lstatSync(STATE).isSymbolicLink()) return
    names = readdirSync(STATE)
  } catch {
    return
  }
  for (const n of names) {
    const pid = /^sealed-([1-9]\d{0,9})\.pcap$/.exec(n)?.[1]
    if (pid === undefined || existsSync(`/proc/${pid}`)) continue
    try {
      if (lstatSync(join(STATE, n)).isFile()) rmSync(join(STATE, n), { force: true })
    } catch {
      // gone meanwhile
    }
  }
}

/** Takes the "before" snapshot and starts the capture; returns a function that judges the "after". */
export async function begin() {
  mkdirSync(STATE, { recursive: true })
  removeDeadCaptures()
  const pcap = join(STATE, `sealed-${process.pid}.pcap`)
  const before = snapshot()
  const capture = await startCapture(pcap)
  return async function end() {
    const { packets, filter } = await capture.stop()
    // NETSPEC_SEALED_IGNORE: a regex for changes the run may make on purpose (e.g. a Docker daemon it starts).
    const ignore = process.env.NETSPEC_SEALED_IGNORE ? new RegExp(process.env.NETSPEC_SEALED_IGNORE) : undefined
    const changes = compare(before, snapshot()).filter((c) => ignore === undefined || !ignore.test(c))
    const verdict = { sealed: changes.length === 0 && packets.length === 0, changes, packets: packets.slice(0, 50), packetCount: packets.length, filter }
    if (process.env.NETSPEC_SEALED_REPORT) writeFileSync(process.env.NETSPEC_SEALED_REPORT, `${JSON.stringify(verdict, null, 2)}\n`)
    if (packets.length > 0) {
      try {
        keepEvidence(pcap, EVIDENCE()) // the evidence, for `tcpdump -r`
      } catch (e) {
        verdict.evidence = `not kept: ${e.message}`
      }
    }
    rmSync(pcap, { force: true })
    return verdict
  }
}

export function formatVerdict(v) {
  if (v.sealed) return 'netspec sealed-check: sealed (root namespace unchanged, no lab address seen on its interfaces)'
  return [
    'netspec sealed-check: LEAK: the run changed the root network namespace or sent lab traffic through it',
    ...v.changes.map((c) => `  ${c}`),
    ...(v.packetCount > 0 ? [`  ${v.packetCount} packet(s) with a lab address on a root-namespace interface (${v.evidence === undefined ? EVIDENCE() : `${EVIDENCE()} ${v.evidence}`}), e.g.:`] : []),
    ...v.packets.slice(0, 10).map((p) => `    ${p}`),
  ].join('\n')
}

const enabled = () => !/^(off|0|false|no)$/i.test(process.env.NETSPEC_SEALED ?? '') && process.getuid?.() === 0

/**
 * Vitest globalSetup: the returned teardown fails the run if anything leaked. (Vitest only prints an
 * error thrown by a global teardown and still exits 0, so the exit code is set here.)
 */
export default async function setup() {
  if (!enabled()) return undefined
  const end = await begin()
  return async () => {
    const verdict = await end()
    if (verdict.sealed) console.log(formatVerdict(verdict))
    else {
      console.error(formatVerdict(verdict))
      process.exitCode = 1
    }
  }
}

// Wrapper: node scripts/sealed-check.mjs -- <command…>; exits with the command's code, or 1 if it leaked.
if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--')
  const cmd = at < 0 ? [] : process.argv.slice(at + 1)
  if (cmd.length === 0) {
    console.error('usage: node scripts/sealed-check.mjs -- <command…>')
    process.exit(2)
  }
  const end = enabled() ? await begin() : undefined
  const child = spawn(cmd[0], cmd.slice(1), { stdio: 'inherit' })
  const code = await new Promise((r) => child.once('exit', (c, s) => r(c ?? (s ? 128 : 1))))
  if (end === undefined) process.exit(code)
  const verdict = await end()
  console.log(formatVerdict(verdict))
  process.exit(verdict.sealed ? code : 1)
}

