// reachable(): does traffic from a namespace arrive, and if not, why? A verdict with evidence, decided
// as early as the kernel can tell (no route: at once; a neighbour that never answered: after the probe).
import { checkKeys } from '../lab/validate.js'
import type { Namespace } from '../lab/namespace.js'
import { connectDecision } from './routes.js'
import { refusalVerdict, refusedByRouter, type DecidedBy } from './route-verdict.js'
import { checkSize, kernelSaidTooBig, packetBytes, parsePingTooBig, routerSaidTooBig, silentPeerTooBig, type SizeOptions, type TooBig } from './path-mtu.js'
import { dropsBetween, readRuleset, withRuleTexts } from '../kernel/nft.js'
import type { Neighbor, Route, RouteDecision } from '../kernel/types.js'
import { namespaceOwning } from './owners.js'
import { PROBE_SCRIPT } from './scripts.js'
import { ATTRIBUTABLE, echoFailure, icmpErrorOfWords, recverrProbe, socketFailure, type SocketProbeOutcome } from './socket-errors.js'
import { listenerAt, recorded } from './listen.js'
import { parseTarget, type Target, type TargetObject } from './target.js'
import { parsePing, parsePingError, pingArgv } from '../kernel/ping.js'
import { watchDrops, type DropEvidence, type ProbeDrops } from '../drops/probe-drops.js'

/** 'dropped': the kernel dropped the probe or its reply in a lab namespace, and said why (evidence.drop; docs/drops.md). */
export type Verdict = 'replied' | 'refused' | 'no-route' | 'blackholed' | 'unreachable' | 'prohibited' | 'unresolved' | 'filtered' | 'too-big' | 'timed-out' | 'dropped'

export interface ReachableOptions extends SizeOptions {
  /** Give up after this long (default 3 s; 500 ms with `expectFailure`). */
  timeoutMs?: number
  /** The caller expects no answer (`not.toReach`): use the short default deadline. */
  expectFailure?: boolean
}

export interface Reachability {
  ok: boolean
  verdict: Verdict
  from: string
  target: string
  proto: Target['proto']
  /** Round trip (ICMP) or connect time (TCP), when it replied. */
  rttMs?: number
  attempts: number
  durationMs: number
  /** One sentence saying what happened and why. */
  detail: string
  evidence: {
    route?: RouteDecision
    routeError?: string
    /** When the kernel refused at once: the route (or rule) that decided, found from the namespace's rules and routes. */
    decidedBy?: DecidedBy
    /** For 'too-big': the packet's size, the MTU that refused it and who said so (src/assert/path-mtu.ts). */
    tooBig?: TooBig
    neighbor?: Neighbor
    /** The next hop's neighbour state before the probe, when the kernel had already given up on it (['FAILED']). */
    neighborBefore?: string[]
    /** Where a firewall in the lab drops traffic (namespace: chain …): only rules with evidence (a counter that moved, nftables' trace). */
    filters?: string[]
    /** Drop rules without a counter and drop policies that no evidence could check against this check's packets. */
    unchecked?: string[]
    /** The kernel's own drop of this check's packet (where drop reasons are on): namespace, reason, function, direction. */
    drop?: DropEvidence
    output?: string
  }
}

export async function reachable(from: Namespace, target: string | TargetObject, options: ReachableOptions = {}): Promise<Reachability> {
  checkKeys(options, ['timeoutMs', 'expectFailure', 'size', 'dontFragment'], 'reachable')
  const t = parseTarget(target)
  const sized = checkSize(options, t.proto)
  const started = performance.now()
  let deadline = started + (options.timeoutMs ?? (options.expectFailure === true ? 500 : 3000))
  const base = { from: from.label, target: t.text, proto: t.proto }
  let drops: ProbeDrops | undefined
  const finish = (r: Omit<Reachability, 'durationMs' | 'from' | 'target' | 'proto' | 'ok'>): Reachability => {
    drops?.close()
    return { ...base, ok: r.verdict === 'replied', durationMs: performance.now() - started, ...r }
  }

  // 1. The kernel's own decision: no route is known at once, without sending anything.
  from.lab.assertAlive(from)
  await from.lab.settle()
  // As a connecting socket asks (routes.ts): again from the source the first lookup chose, so `from` rules apply.
  const { decision: decided, error, src, first } = await connectDecision(from, t.address)
  if (decided === undefined || ['unreachable', 'blackhole', 'prohibit', 'throw'].includes(decided.type)) {
    const decision = decided
    let routes: Promise<Route[]> | undefined
    const ours = () => (routes ??= from.routes())
    const noDefault = async () => {
      const hasDefault = from.lab.netlink?.hasDefaultRoute(from.name, t.family) ?? (await ours()).some((r) => r.dst === 'default' && r.family === t.family && r.table === 'main')
      return hasDefault ? '' : ` (no IPv${t.family} default route; main table lookup failed)`
    }
    const mayHaveThrown = async () => from.lab.netlink?.hasRouteType(from.name, t.family, 'throw') ?? (await ours()).some((r) => r.type === 'throw' && r.family === t.family)
    // The route or rule that decided, named (route-verdict.ts): blackholed, unreachable, prohibited or no-route.
    const refused = await refusalVerdict(from, { dst: t.address, src }, decision, error, noDefault, mayHaveThrown)
    // Refused only for the source a socket gets: say so (the sourceless lookup has a route: `ip route get` alone shows it).
    const detail = src === undefined ? refused.detail : `${refused.detail} (for source ${src}, the address a connecting socket gets)`
    return finish({ verdict: refused.verdict, attempts: 0, detail, evidence: { route: decision ?? first, routeError: error, decidedBy: refused.decidedBy } })
  }
  // The route the probe really takes (test/integration/source-route-probes.test.ts, against ping and connect() in one
  // lab): an ICMP echo goes out of an unbound raw socket, one lookup with no source, as ping's does (ping's UDP
  // connect() that picks its source fails above if that source is refused); TCP and UDP connect(), so the second
  // lookup, from the source the first chose, decides (a `from` rule's route).
  const decision = t.proto === 'icmp' ? (first ?? decided) : src === undefined ? decided : { ...decided, prefsrc: decided.prefsrc ?? src }

  // 2. Real traffic, retried until the deadline (single pings flake). A check that expects no answer, towards
  // a next hop the kernel already gave up resolving (FAILED), waits 80 ms: the kernel has told us already, and
  // the probe still goes out (it restarts resolution), so a neighbour that came back is still seen.
  const hop = decision.gateway ?? t.address
  let neighborBefore: string[] | undefined
  if (options.expectFailure === true && options.timeoutMs === undefined && decision.dev !== undefined) {
    const state = from.lab.netlink?.neighbor(from.name, decision.dev, hop)?.state
    if (state?.includes('FAILED') === true) {
      neighborBefore = state
      deadline = Math.min(deadline, performance.now() + 80)
    }
  }
  let attempts = 0
  let output = ''
  let failure: ProbeResult['failure']
  // The kernel's drop reasons, where on: a drop of this check's packet in a lab namespace decides at once.
  const waitedFrom = performance.now()
  drops = await watchDrops(from, t, options.expectFailure === true, decision.prefsrc)
  deadline += performance.now() - waitedFrom // the watcher's one-time start (~1 s per process) is no probing time
  while (performance.now() < deadline) {
    from.lab.assertAlive(from)
    attempts += 1
    // A process-based probe needs a whole -W step; the in-process one can wait exactly what is left.
    const left = Math.max(from.lab.netlink === undefined ? 100 : 10, deadline - performance.now())
    const sent = t.proto === 'icmp' ? icmp(from, t, left, sized, decision.prefsrc) : socketProbe(from, t, left, decision.prefsrc)
    const raced = drops === undefined ? await sent : await drops.race(
            sent,
            (p) => p.failure?.verdict === 'unresolved',
            (p) => p.failure !== undefined && p.failure.verdict !== 'unresolved' && p.failure.verdict !== 'timed-out',
          )
    if ('drop' in raced) {
      const reprobe = () => (t.proto === 'icmp' ? icmp(from, t, 100, sized) : socketProbe(from, t, 200, decision.prefsrc))
      const { verdict, detail, drop, filters } = await drops!.decide(raced, reprobe)
      from.lab.assertAlive(from)
      const before = verdict === 'unresolved' && neighborBefore !== undefined ? ' (the neighbour was FAILED already before this probe)' : ''
      return finish({ verdict, attempts, detail: `${detail}${before}`, evidence: { route: decision, drop, filters, neighborBefore, output } })
    }
    const probe = raced
    output = probe.output
    if (probe.replied) {
      // A netspec listener recorded this peer before answering: wait for its line, so listener.peers() has it.
      if (probe.seen !== undefined && t.proto !== 'icmp') await recorded(from, t.proto, probe.seen, Math.max(1000, deadline - performance.now()))
      return finish({
        verdict: 'replied',
        rttMs: probe.rttMs,
        attempts,
        detail: `${t.text} replied to ${from.label}${probe.rttMs === undefined ? '' : ` in ${probe.rttMs.toFixed(2)} ms`}${attempts > 1 ? ` (attempt ${attempts})` : ''}`,
        evidence: { route: decision, output },
      })
    }
    failure = probe.failure
    if (failure !== undefined && failure.verdict !== 'timed-out') break // the network answered: no use retrying
  }

  // 2a. A router on the way refused with a typed route or rule: a blackhole there is silence here, an unreachable route
  // comes back as "Host Unreachable", a prohibit route as "Packet filtered"; its own kernel is asked (route-verdict.ts).
  const refuser = failure?.by ?? (failure?.verdict === 'timed-out' ? decision.gateway : undefined)
  if (refuser !== undefined && refuser !== t.address && ['timed-out', 'unresolved', 'filtered'].includes(failure!.verdict)) {
    const r = await refusedByRouter(from, t.address, refuser, decision.prefsrc)
    if (r !== undefined) return finish({ verdict: r.verdict, attempts, detail: r.detail, evidence: { route: decision, decidedBy: r.decidedBy, output } })
  }

  // 2b. Too big (reachable(…, { size })): a router's "Frag needed", the kernel's "message too long", or a silent peer.
  if (sized !== undefined) {
    const bytes = packetBytes(sized.size, t.family)
    const said = failure?.tooBig
    const big =
      failure?.verdict === 'too-big' && said !== undefined
        ? said.by === 'local'
          ? await kernelSaidTooBig(from, t.address, bytes, said.mtu)
          : await routerSaidTooBig(from, t.address, bytes, said.by, said.mtu, said.words)
        : failure?.verdict === 'timed-out'
          ? await silentPeerTooBig(from, hop, decision.dev, bytes)
          : undefined
    if (big !== undefined) return finish({ verdict: 'too-big', attempts, detail: big.detail, evidence: { route: decision, tooBig: big.tooBig, output } })
  }

  // 3. Why not: a neighbour that never answered, a firewall that drops, or silence.
  const neighbor = decision.dev === undefined ? undefined : await neighborOf(from, hop, decision.dev)
  // An answer that says where it ended (a refusal, a router without a route, a TTL that ran out on the way) stands.
  if (failure?.verdict === 'refused' || failure?.verdict === 'no-route' || failure?.verdict === 'unreachable') {
    return finish({ verdict: failure.verdict, attempts, detail: failure.detail, evidence: { route: decision, neighbor, output } })
  }
  if (neighbor !== undefined && neighbor.state.some((s) => s === 'FAILED' || s === 'INCOMPLETE')) {
    return finish({
      verdict: 'unresolved',
      attempts,
      detail: `${from.label} could not resolve next hop ${hop} on ${decision.dev}: no ${t.family === 4 ? 'ARP' : 'neighbour'} reply (state ${neighbor.state.join(',')}${neighborBefore === undefined ? '' : ', FAILED already before this probe'})`,
      evidence: { route: decision, neighbor, neighborBefore, output },
    })
  }
  // Only silence is blamed on a router's forwarding: never a refusal the probe got at once (e.g. EHOSTUNREACH).
  const silent = failure === undefined || failure.verdict === 'timed-out'
  const router = decision.gateway === undefined || !silent ? undefined : await routerNotForwarding(from, decision.gateway, t.address, t.family)
  if (router !== undefined) {
    return finish({
      verdict: 'timed-out',
      attempts,
      detail: `no answer from ${t.text}: the next hop ${decision.gateway} is ${router}, which does not forward (${t.family === 4 ? 'net.ipv4.ip_forward' : 'net.ipv6.conf.all.forwarding'} = 0)`,
      evidence: { route: decision, neighbor, output },
    })
  }
  const fw = await filtersInLab(from, t, () => (t.proto === 'icmp' ? icmp(from, t, 100) : socketProbe(from, t, 200)))
  // An ICMP error that said "filtered" (its sender named by the probe) is evidence already; the rule, when found, is added.
  const refusal = failure?.verdict === 'filtered' || (failure?.verdict === 'unresolved' && failure.by !== undefined) ? failure : undefined
  if (fw.blamed.length > 0) {
    return finish({
      verdict: 'filtered',
      attempts,
      // An ICMP error came back at once: its sender and words lead, never "no answer" (REVIEW-12).
      detail: `${refusal?.verdict === 'filtered' ? refusal.detail : (failure?.answered ?? `no answer from ${t.text} within ${Math.round(performance.now() - started)} ms`)}; a firewall in the lab drops traffic: ${fw.blamed.join('; ')}`,
      evidence: { route: decision, neighbor, filters: fw.blamed, ...(fw.unchecked.length > 0 ? { unchecked: fw.unchecked } : {}), output },
    })
  }
  if (refusal !== undefined) return finish({ verdict: refusal.verdict, attempts, detail: `${refusal.detail}${fw.note}`, evidence: { route: decision, neighbor, ...(fw.unchecked.length > 0 ? { unchecked: fw.unchecked } : {}), output } })
  return finish({
    verdict: 'timed-out',
    attempts,
    detail:
      // An ICMP error nothing here classifies (e.g. "Source Route Failed") still names its sender: no "within" silence.
      `${failure?.detail ?? `no answer from ${t.text}`}${failure?.by === undefined ? ` within ${Math.round(performance.now() - started)} ms` : ''}` +
      (neighbor === undefined || failure?.by !== undefined ? '' : `; next hop ${hop} is ${neighbor.state.join(',')}, so packets left ${from.label}: is the way back routed?`) +
      fw.note,
    evidence: { route: decision, neighbor, ...(fw.unchecked.length > 0 ? { unchecked: fw.unchecked } : {}), output },
  })
}

interface ProbeResult {
  replied: boolean
  /** How a netspec listener saw this probe (its greeting or reply), so its record can be awaited. */
  seen?: { address: string; port: number }
  rttMs?: number
  /** `by`: the address that sent an ICMP error about the probe. */
  /** `words`: the ICMP error as ping words it, when one came back. */
  failure?: { verdict: Verdict; detail: string; tooBig?: { by: string; mtu?: number; words: string }; by?: string; words?: string; answered?: string }
  output: string
}

async function icmp(from: Namespace, t: Target, leftMs: number, sized?: { size: number; dontFragment: boolean }, src?: string): Promise<ProbeResult> {
  if (from.lab.netlink !== undefined) return icmpInProcess(from, t, leftMs, sized, src)
  const wait = Math.min(1, leftMs / 1000)
  const r = await from.exec(pingArgv(t.address, t.family, wait, sized), { timeoutMs: Math.ceil(leftMs) + 1000 })
  const parsed = parsePing(r.stdout)
  const output = `${r.stdout}${r.stderr}`
  if (r.exitCode === 0 && parsed.received > 0) return { replied: true, rttMs: parsed.rttMs, output }
  const big = parsePingTooBig(output)
  if (big !== undefined) return { replied: false, failure: { verdict: 'too-big', detail: `${big.by} said "${big.words}" (mtu ${big.mtu})`, tooBig: big }, output }
  const said = parsePingError(r.stdout)
  if (said !== undefined) {
    // The same judgement as the in-process socket's: ping's words give back the type and code.
    const known = icmpErrorOfWords(t.family, said.words)
    const failure = await echoFailure(from, t, { from: said.from, family: t.family, type: known?.type ?? -1, code: known?.code ?? -1 }, src, said.words)
    return { replied: false, failure, output }
  }
  return { replied: false, failure: { verdict: 'timed-out', detail: `no ICMP echo reply from ${t.address}` }, output }
}

// ENETUNREACH, EHOSTUNREACH, EPERM (what an nftables output drop gives a raw socket).
const SEND_ERRORS: Record<number, Verdict> = { 101: 'no-route', 113: 'unresolved', 1: 'filtered', 90: 'too-big' }

/** One echo request from a raw socket held in the namespace (kernel/icmp.ts): no process per probe. */
async function icmpInProcess(from: Namespace, t: Target, leftMs: number, sized?: { size: number; dontFragment: boolean }, src?: string): Promise<ProbeResult> {
  const o = await from.lab.netlink!.icmp.echo(from.name, t.address, t.family, Math.min(1000, leftMs), sized ?? {})
  switch (o.kind) {
    case 'reply':
      return { replied: true, rttMs: o.rttMs, output: `echo reply from ${o.from}: time=${o.rttMs.toFixed(3)} ms` }
    case 'error': {
      // As ping words them: "Frag needed and DF set (mtu = 1400)", "Packet too big: mtu=1400" (path-mtu.ts weighs them).
      if (o.family === 4 ? o.type === 3 && o.code === 4 : o.type === 2) {
        const said = o.family === 4 ? `Frag needed and DF set (mtu = ${o.mtu})` : `Packet too big: mtu=${o.mtu}`
        return { replied: false, failure: { verdict: 'too-big', detail: `${o.from} said "${said}"`, tooBig: { by: o.from, mtu: o.mtu, words: said } }, output: `From ${o.from}: ${said}` }
      }
      // Judged by its sender as a TCP/UDP probe's ICMP error is (socket-errors.ts), identically on the process path.
      const failure = await echoFailure(from, t, o, src)
      return { replied: false, failure, output: `From ${o.from}: ${failure.words}` }
    }
    case 'send-failed': {
      const verdict = SEND_ERRORS[o.errno] ?? 'timed-out'
      if (verdict === 'too-big') return { replied: false, failure: { verdict, detail: `${from.label} cannot send: ${o.message}`, tooBig: { by: 'local', words: o.message } }, output: `sendto: ${o.message}` }
      const detail =
        verdict === 'filtered' ? `sending to ${t.address} was refused locally in ${from.label} (${o.message}: an output filter)`
        : `${from.label} cannot send to ${t.address}: ${o.message}`
      return { replied: false, failure: { verdict, detail }, output: `sendto: ${o.message}` }
    }
    case 'timeout':
      return { replied: false, failure: { verdict: 'timed-out', detail: `no ICMP echo reply from ${t.address}` }, output: '' }
    case 'closed':
      from.lab.assertAlive(from) // torn down while the probe waited: say so, never "no answer"
      throw new Error(`the ICMP socket of ${from.label} was closed while a probe waited`)
  }
}

async function socketProbe(from: Namespace, t: Target, leftMs: number, src?: string): Promise<ProbeResult> {
  let res: SocketProbeOutcome
  let output: string
  // The socket's error queue (IP_RECVERR) says who sent the ICMP error behind a failure (socket-errors.ts).
  let attributed = false
  let unattributed: string | undefined
  const until = performance.now() + leftMs
  if (t.proto === 'tcp') {
    // TCP: bash's /dev/tcp connect costs ~8 ms per probe against ~150–270 ms for a node script (measured here).
    // At a netspec listener, its greeting is read too: it says how the listener saw this connection.
    const greeting = await listenerAt(from, 'tcp', t.address, t.port!)
    ;({ res, output } = await bashConnect(from, t, leftMs, greeting))
    // A failure an ICMP error may stand behind: once more from a socket that reads it (one process, failures only).
    if (res.r === 'error' && res.code !== undefined && ATTRIBUTABLE.has(res.code)) {
      // Within what is left of the check's time, not a second full timeout.
      const again = await recverrProbe(from, t, Math.max(100, until - performance.now()))
      if (again !== undefined && again.res.r === 'error') ({ res, output } = { res: again.res, output: `${output}${again.output}` })
      attributed = again?.res.r === 'error'
      if (again !== undefined && !attributed)
        unattributed = `a second probe from a socket that reads ICMP errors (IP_RECVERR) got ${again.res.r === 'timeout' ? 'no answer' : `'${again.res.r}'`} within the time left (a router limits how many ICMP errors it sends), so who sent the first was not read: the host, or a router on the way`
    }
  } else {
    const rr = await recverrProbe(from, t, leftMs)
    if (rr !== undefined) {
      ;({ res, output } = rr)
      attributed = true
    } else {
      const r = await from.exec([process.execPath, '-e', PROBE_SCRIPT, t.proto, t.address, String(t.port), String(Math.round(leftMs))], {
        timeoutMs: Math.ceil(leftMs) + 5000,
      })
      output = `${r.stdout}${r.stderr}`
      try {
        res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as typeof res
      } catch {
        return { replied: false, failure: { verdict: 'timed-out', detail: `the ${t.proto} probe did not report (${output.trim().slice(0, 200)})` }, output }
      }
    }
  }
  if (res.r === 'connected' || res.r === 'reply') {
    const seen = /^netspec(?:-probe)? (\S+) (\d+)$/m.exec(t.proto === 'tcp' ? output : (res.body ?? ''))
    return { replied: true, rttMs: res.ms, output, ...(seen === null ? {} : { seen: { address: seen[1]!, port: Number(seen[2]) } }) }
  }
  if (res.r === 'timeout' && res.icmp === undefined) {
    return { replied: false, failure: { verdict: 'timed-out', detail: `no answer to the ${t.proto === 'tcp' ? 'connection' : 'datagram'} to ${t.text}` }, output }
  }
  return { replied: false, failure: await socketFailure(from, t, res.code, res.icmp, attributed, src, unattributed), output }
}

const BASH_ERRORS: [RegExp, string][] = [
  [/Connection refused/, 'ECONNREFUSED'],
  [/Network is unreachable/, 'ENETUNREACH'],
  [/No route to host/, 'EHOSTUNREACH'],
  [/Operation not permitted/, 'EPERM'],
  [/Permission denied/, 'EACCES'],
]

/** One TCP connect from inside the namespace with bash's /dev/tcp; `timeout` kills it when nothing answers. */
async function bashConnect(from: Namespace, t: Target, leftMs: number, greeting = false): Promise<{ res: { r: string; code?: string; ms: number }; output: string }> {
  const secs = (Math.max(100, leftMs) / 1000).toFixed(2)
  // With `greeting`: connected once the connection is up; its first line is printed if it comes in time (`read` failing is fine).
  // (read waits at most half the time left, so a silent server is still 'connected', never cut off by timeout).
  const readSecs = (Math.max(50, Math.min(1000, leftMs / 2)) / 1000).toFixed(2)
  const script = greeting ? 'exec 3<>"/dev/tcp/$0/$1" || exit; IFS= read -r -t "$2" line <&3; printf "%s\\n" "$line"; exit 0' : 'exec 3<>"/dev/tcp/$0/$1"'
  const r = await from.exec(['timeout', secs, 'bash', '-c', script, t.address, String(t.port), readSecs], { timeoutMs: Math.ceil(leftMs) + 5000 })
  const output = `${r.stdout}${r.stderr}`
  if (r.exitCode === 0) return { res: { r: 'connected', ms: r.durationMs }, output }
  if (r.exitCode === 124) return { res: { r: 'timeout', ms: r.durationMs }, output }
  return { res: { r: 'error', code: BASH_ERRORS.find(([re]) => re.test(r.stderr))?.[1] ?? r.stderr.trim().split(': ').pop(), ms: r.durationMs }, output }
}

/** The label of the lab namespace that owns `gateway`, if it has forwarding off (and `target` is not its own address). */
async function routerNotForwarding(from: Namespace, gateway: string, target: string, family: 4 | 6): Promise<string | undefined> {
  const others = from.lab.namespaces.filter((n) => n !== from)
  const ns = await namespaceOwning(others, gateway)
  if (ns === undefined) return undefined
  // The target is local there: the next hop delivers it without forwarding.
  if ((await namespaceOwning([ns], target)) === ns) return undefined
  const key = family === 4 ? 'net.ipv4.ip_forward' : 'net.ipv6.conf.all.forwarding'
  return (await ns.sysctlGet(key).catch(() => '1')) === '0' ? ns.label : undefined
}

async function neighborOf(from: Namespace, address: string, dev: string): Promise<Neighbor | undefined> {
  if (from.lab.netlink !== undefined) {
    try {
      return from.lab.netlink.neighbor(from.name, dev, address)
    } catch {
      // e.g. a kernel that cannot get one entry: ask `ip -j neigh` below
    }
  }
  return (await from.neighbors()).find((n) => n.dst === address && n.dev === dev)
}

interface LabFilters {
  /** Rules (or chain policies) proven to have met this check's packet: a counter that moved, or nftables' trace. */
  blamed: string[]
  /** Rules without a counter and drop policies that nothing could check against this check's packets. */
  unchecked: string[]
  /** What the detail says about the firewalls when none is blamed ('' when the lab has no drop rule). */
  note: string
}

/**
 * Which firewall of the lab drops this check's traffic: every namespace's ruleset is read, one more probe goes out,
 * and the rulesets are read again; rules whose counters moved are named (never a count left by earlier traffic).
 * A rule without a counter, or a chain's drop policy, counts nothing: it is blamed only when nftables' trace of one
 * more probe (src/explain/trace.ts) shows it dropping that probe, never for being there (it may match other traffic
 * entirely). What no evidence reached is listed as not checked, never as the cause.
 */
async function filtersInLab(from: Namespace, t: Target, reprobe: () => Promise<unknown>): Promise<LabFilters> {
  const read = () => Promise.all(from.lab.namespaces.map(async (ns) => [ns, await readRuleset(from.lab.executor, ns.name)] as const))
  const before = await read()
  if (before.every(([, rs]) => rs === undefined || (rs.drops.length === 0 && !rs.chains.some((c) => c.policy === 'drop')))) return { blamed: [], unchecked: [], note: '' }
  await reprobe()
  const moved: string[] = []
  const maybe: [Namespace, string][] = []
  for (const [i, [ns, read1]] of (await read()).entries()) {
    if (read1 === undefined) continue
    const rs = await withRuleTexts(from.lab.executor, ns.name, read1) // the rule quoted, as explain() does
    const d = dropsBetween(before[i]?.[1], rs)
    moved.push(...d.moved.map((m) => `in ${ns.label}: ${m}`))
    maybe.push(...d.maybe.map((m) => [ns, `in ${ns.label}: ${m}`] as [Namespace, string]))
  }
  if (moved.length > 0) return { blamed: moved, unchecked: [], note: '' }
  if (maybe.length === 0) return { blamed: [], unchecked: [], note: '; no counter of a lab firewall rule moved' }
  const candidates = [...new Set(maybe.map(([ns]) => ns))]
  const unchecked = maybe.map(([, m]) => m)
  try {
    const { traceProbe } = await import('../explain/trace.js')
    const { makeProbe } = await import('../explain/probe.js')
    const { describeStop } = await import('../explain/trace-parse.js')
    const tr = await traceProbe(from, candidates, makeProbe(t), 500)
    const stops = [...tr.traces].flatMap(([ns, x]) => (x.fate?.dropped === undefined ? [] : [`in ${ns.label}: ${describeStop(x.fate.dropped)} (${x.fate.dropped.reject ? 'rejected' : 'dropped'} a probe in nftables' trace)`]))
    if (stops.length > 0) return { blamed: stops, unchecked: maybe.filter(([ns]) => !tr.traces.has(ns)).map(([, m]) => m), note: '' }
    const traced = candidates.filter((ns) => tr.traces.has(ns))
    const untraced = maybe.filter(([ns]) => !tr.traces.has(ns)).map(([, m]) => m)
    // The trace marks the probe, not the answer to it: a rule that drops only the reply is not seen by it.
    const passed = traced.length === 0 ? '' : `; nftables' trace of a probe saw no lab firewall drop it (traced in ${traced.map((ns) => ns.label).join(', ')}; ${unchecked.length - untraced.length} rule(s) without a counter or drop policies there could not be checked against the reply: evidence.unchecked)`
    const not = untraced.length === 0 ? '' : `; could not be checked (no counter, no trace): ${untraced.join('; ')}`
    return { blamed: [], unchecked, note: `${passed}${not}` }
  } catch (e) {
    const why = (e as Error).message.split('\n')[0]
    return { blamed: [], unchecked, note: `; could not be checked (no counter, and nftables' trace failed: ${why}): ${unchecked.join('; ')}` }
  }
}
