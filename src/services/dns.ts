// DNS as a lab namespace's processes see it: which resolv.conf applies (its /etc/netns file or the machine's),
// a query sent from inside the namespace to each of its servers in turn, and the answer with its evidence.
// The query goes out from inside the namespace: in-process through a socket opened there (kernel/udp.ts) where
// the lab has the netlink path, else a tiny Node program run in the namespace; the message is built and
// decoded here (dns-codec.ts), so no resolver library or dig is needed.
import { existsSync, readFileSync } from 'node:fs'
import { randomInt } from 'node:crypto'
import { NetspecError, invalidInput } from '../errors.js'
import { libc } from '../kernel/netlink/ffi.js'
import { canEnterNamespaces } from '../kernel/setns.js'
import { udpExchange } from '../kernel/udp.js'
import type { Namespace } from '../lab/namespace.js'
import { checkKeys, parseAddress } from '../lab/validate.js'
import { DnsFormatError, RR_TYPES, checkHostname, decodeResponse, encodeQuery, parseResolvConf, type DnsAnswer, type DnsResponse, type RrType } from './dns-codec.js'

export interface ResolveOptions {
  /** Record type, default 'A'. */
  type?: RrType
  /** Ask this server (an address) instead of the ones in the namespace's resolv.conf. */
  server?: string
  /** Time for all servers together, default 3000 ms. */
  timeoutMs?: number
}

export interface ServerAttempt {
  server: string
  /** 'answer' (any rcode), 'timeout', or the socket error (e.g. 'ECONNREFUSED': nothing listens on port 53). */
  outcome: string
  ms: number
}

export interface ResolveResult {
  /** NOERROR with at least one record of the asked type. */
  ok: boolean
  name: string
  type: RrType
  /** The resolver configuration the namespace's processes read. */
  resolvConf: { path: string; own: boolean; nameservers: string[] }
  /** The server that answered, if one did. */
  server?: string
  rcode?: string
  answers: DnsAnswer[]
  /** The records of the asked type, e.g. the addresses for 'A'. */
  records: string[]
  attempts: ServerAttempt[]
  response?: DnsResponse
  detail: string
}

/** argv: hexQuery perServerMs server… Prints one JSON line: {attempts:[{server,outcome,ms,hex?}]}. */
const QUERY_SCRIPT = `
const [hex, perMs, ...servers] = process.argv.slice(1)
const q = Buffer.from(hex, 'hex')
const attempts = []
const finish = () => { process.stdout.write(JSON.stringify({ attempts }) + '\\n'); process.exit(0) }
const next = (i) => {
  if (i >= servers.length) return finish()
  const server = servers[i]
  const t0 = performance.now()
  const s = require('dgram').createSocket(server.includes(':') ? 'udp6' : 'udp4')
  let done = false
  const end = (o) => { if (done) return; done = true; clearTimeout(timer); attempts.push({ server, ms: performance.now() - t0, ...o }); try { s.close() } catch {} ; o.hex ? finish() : next(i + 1) }
  const timer = setTimeout(() => end({ outcome: 'timeout' }), Number(perMs))
  s.on('error', (e) => end({ outcome: e.code || String(e) }))
  s.on('message', (m) => { if (m.length >= 2 && m.readUInt16BE(0) === q.readUInt16BE(0)) end({ outcome: 'answer', hex: m.toString('hex') }) })
  s.connect(53, server, (e) => e ? end({ outcome: e.code || String(e) }) : s.send(q, (e2) => e2 && end({ outcome: e2.code || String(e2) })))
}
next(0)
`

/** The resolv.conf a process in `ns` reads: `ip netns exec` binds /etc/netns/<name>/resolv.conf over /etc/resolv.conf. */
export async function resolvConfOf(ns: Namespace): Promise<{ path: string; own: boolean; text: string }> {
  const own = `/etc/netns/${ns.name}/resolv.conf`
  if (ns.lab.executor.kind === 'local') {
    if (existsSync(own)) return { path: own, own: true, text: readFileSync(own, 'utf8') }
    return { path: '/etc/resolv.conf', own: false, text: existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf', 'utf8') : '' }
  }
  const r = await ns.lab.executor.run(['sh', '-c', 'if [ -e "$1" ]; then echo own; cat "$1"; else echo machine; cat /etc/resolv.conf 2>/dev/null; fi', 'sh', own])
  const [first, ...rest] = r.stdout.split('\n')
  return first === 'own' ? { path: own, own: true, text: rest.join('\n') } : { path: '/etc/resolv.conf', own: false, text: rest.join('\n') }
}

/**
 * Looks `name` up from inside `ns` as its processes would (the servers of the resolv.conf they see, in order),
 * and returns the verdict with evidence: which resolv.conf, which server answered, the rcode, the records.
 * The name is asked as given (fully qualified: no `search` suffixes).
 */
export async function resolves(ns: Namespace, name: string, options: ResolveOptions = {}): Promise<ResolveResult> {
  const ctx = { lab: ns.lab.label, namespace: ns.label, netns: ns.name }
  checkKeys(options, ['type', 'server', 'timeoutMs'], 'resolves', ctx)
  const host = checkHostname(name, ctx)
  const type = options.type ?? 'A'
  if (!Object.hasOwn(RR_TYPES, type)) throw invalidInput(`resolves: record type '${String(type)}' is not one of ${Object.keys(RR_TYPES).join(', ')}`, ctx)
  const timeoutMs = options.timeoutMs ?? 3000
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > 60_000) throw invalidInput(`resolves: 'timeoutMs' must be from 1 to 60000, got ${timeoutMs}`, ctx)
  const server = options.server === undefined ? undefined : parseAddress(options.server, ctx).address

  const conf = await resolvConfOf(ns)
  const { nameservers } = parseResolvConf(conf.text)
  const resolvConf = { path: conf.path, own: conf.own, nameservers }
  const servers = server !== undefined ? [server] : nameservers.filter((s) => parseAddressOrUndefined(s) !== undefined)
  const base = { name: host, type, resolvConf, answers: [] as DnsAnswer[], records: [] as string[] }
  if (servers.length === 0)
    return { ...base, ok: false, attempts: [], detail: `${ns.label} has no nameserver to ask: ${conf.path} lists none${conf.own ? '' : " (the machine's file: give the namespace its own with files: { 'resolv.conf': … })"}` }

  const id = randomInt(0, 0x10000)
  const query = encodeQuery(id, host, type)
  const perServer = Math.max(100, Math.floor(timeoutMs / servers.length))
  const raw = { attempts: await queryServers(ns, query, servers, perServer) }
  const attempts = raw.attempts.map(({ server: s, outcome, ms }) => ({ server: s, outcome, ms: Math.round(ms) }))
  const answered = raw.attempts.find((a) => a.reply !== undefined)
  const tried = attempts.map((a) => `${a.server}: ${a.outcome}${a.outcome === 'timeout' ? ` after ${a.ms} ms` : ''}`).join('; ')
  const via = `(${conf.path}${conf.own ? '' : ", the machine's"}; servers ${servers.join(', ')})`
  if (answered === undefined) return { ...base, ok: false, attempts, detail: `no DNS server answered ${ns.label}'s query for ${host} ${type} ${via}: ${tried}` }
  let response: DnsResponse
  try {
    response = decodeResponse(answered.reply!)
  } catch (e) {
    if (!(e instanceof DnsFormatError)) throw e
    return { ...base, ok: false, server: answered.server, attempts, detail: `${answered.server} sent ${ns.label} a malformed answer for ${host}: ${e.message}` }
  }
  const records = response.answers.filter((a) => a.type === type).map((a) => a.data)
  const ok = response.rcode === 'NOERROR' && records.length > 0
  const what =
    response.rcode !== 'NOERROR'
      ? `${response.rcode}`
      : records.length === 0
        ? `NOERROR with no ${type} record${response.answers.length > 0 ? ` (answers: ${response.answers.map((a) => `${a.type} ${a.data}`).join(', ')})` : ''}`
        : `${records.join(', ')}`
  const chain = response.answers.filter((a) => a.type === 'CNAME').map((a) => ` via CNAME ${a.data}`).join('')
  return {
    ...base,
    ok,
    server: answered.server,
    rcode: response.rcode,
    answers: response.answers,
    records,
    attempts,
    response,
    detail: `${ns.label} asked ${answered.server} for ${host} ${type}: ${what}${chain} ${via}${attempts.length > 1 ? `; tried ${tried}` : ''}`,
  }
}

type Attempt = ServerAttempt & { reply?: Buffer }

/**
 * Asks each server in turn (UDP port 53) until one answers with the query's id. In-process where this lab has
 * the netlink path (a socket opened in the namespace, ~1 ms); else a small Node program run in the namespace.
 */
export async function queryServers(ns: Namespace, query: Buffer, servers: readonly string[], perServerMs: number, via?: 'in-process' | 'process'): Promise<Attempt[]> {
  ns.lab.assertAlive(ns)
  await ns.lab.settle()
  const c = libc()
  if (via !== 'process' && ns.lab.netlink !== undefined && c !== undefined && canEnterNamespaces()) {
    const attempts: Attempt[] = []
    for (const server of servers) {
      const a = parseAddress(server)
      const r = await udpExchange(c, ns.lab.netlink.target(ns.name), a.family, a.address, 53, query, perServerMs, (m) => m.length >= 2 && m.readUInt16BE(0) === query.readUInt16BE(0))
      attempts.push({ server, outcome: r.outcome, ms: r.ms, reply: r.reply })
      if (r.reply !== undefined) break
    }
    return attempts
  }
  const r = await ns.exec([process.execPath, '-e', QUERY_SCRIPT, query.toString('hex'), String(perServerMs), ...servers], { timeoutMs: perServerMs * servers.length + 5000 })
  let raw: { attempts: (ServerAttempt & { hex?: string })[] }
  try {
    raw = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as typeof raw
  } catch {
    throw new NetspecError('command-failed', `the DNS query program in ${ns.label} did not report`, {
      lab: ns.lab.label,
      namespace: ns.label,
      netns: ns.name,
      command: r.command,
      exitCode: r.exitCode,
      stderr: r.stderr,
    })
  }
  return raw.attempts.map(({ hex, ...a }) => (hex === undefined ? a : { ...a, reply: Buffer.from(hex, 'hex') }))
}

function parseAddressOrUndefined(s: string): string | undefined {
  try {
    return parseAddress(s).address
  } catch {
    return undefined
  }
}
