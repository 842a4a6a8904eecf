// A handle on one lab namespace: the same verbs whatever executes them (this machine or a container).
import { NetspecError, callSite, invalidInput } from '../errors.js'
import { commandFailed, type RunResult, type SpawnedProcess } from '../exec/index.js'
import { readAddresses, readLinks, readNeighbors, readRoutes } from '../kernel/ip.js'
import type { Address, Link, Neighbor, Route, Rule } from '../kernel/types.js'
import { readRules } from '../kernel/rules.js'
import { routeDelLine, routeDelMissing, type RouteDelOptions } from './route-del.js'
import { checkRouteMtu, checkRouteType, checkTable, ruleArgs, type RuleOptions } from './rules-validate.js'
import type { Listener } from '../assert/listen.js'
import type { Capture, CaptureOptions } from '../capture/capture.js'
import type { Impairment, ImpairOptions } from '../impair/impair.js'
import type { LabInternals } from './lab.js'
import type { DhcpLease, DhcpOptions } from '../services/dhcp.js'
import type { ExecOptions, LinkSetOptions, NamespaceSnapshot, RouteOptions, SpawnOptions } from './types.js'
import {
  checkIfName,
  checkKeys,
  checkMac,
  checkMtu,
  checkSysctlKey,
  parseAddress,
  parseCidr,
  parseDestination,
  sysctlPath,
} from './validate.js'
import { batchWord } from '../values/batch.js'
import { parseAlias, parseRouteTable } from '../values/names.js'
import { checkSysctlValue } from '../values/sysctl.js'

export { checkSysctlValue }

export class Namespace {
  /** The user's short name, e.g. `ns1`. */
  readonly label: string
  /** The kernel's name (`ip netns exec <name> …` works while the lab lives). */
  readonly name: string
  readonly #lab: LabInternals
  /** Where the spec declared it. */
  readonly declaredAt: string | undefined

  /** @internal */
  constructor(lab: LabInternals, label: string, name: string, declaredAt: string | undefined) {
    this.#lab = lab
    this.label = label
    this.name = name
    this.declaredAt = declaredAt
  }

  /** @internal the lab this namespace belongs to. */
  get lab(): LabInternals {
    return this.#lab
  }

  toString(): string {
    return `${this.label} (${this.name})`
  }

  /** Runs a command inside the namespace. A string runs through `sh -c`; an array runs as is. */
  async exec(command: string | readonly string[], options: ExecOptions = {}): Promise<RunResult> {
    checkKeys(options, ['timeoutMs', 'input', 'env', 'check'], 'exec', this.#context())
    this.#lab.assertAlive(this)
    await this.#lab.settle()
    const argv = typeof command === 'string' ? ['sh', '-c', command] : command
    const result = await this.#lab.executor.run(argv, {
      netns: this.name,
      input: options.input,
      env: options.env,
      timeoutMs: options.timeoutMs,
      signal: this.#lab.signal,
    })
    if (options.check === true && (result.exitCode !== 0 || result.timedOut)) {
      throw commandFailed(result, { ...this.#context(), what: `command failed in ${this.label}` })
    }
    return result
  }

  /**
   * Starts a long-lived process inside the namespace; it is stopped before the namespace is deleted. `ready`
   * (a pattern in its output, or a check) makes this wait until it is up; its state and last output lines
   * appear in the failure and the diagnostics (src/lab/processes.ts).
   */
  async spawn(command: string | readonly string[], options: SpawnOptions = {}): Promise<SpawnedProcess> {
    const calledAt = callSite()
    const { spawnProcess } = await import('./processes.js')
    return spawnProcess(this, command, options, calledAt)
  }

  /**
   * Starts an observer server in this namespace (TCP accepts, UDP echoes) that records every peer's
   * source address and port; stopped with the lab. `port` 0 picks a free one (see `listener.port`).
   */
  async listen(port: number, options: { proto?: 'tcp' | 'udp' } = {}): Promise<Listener> {
    const { listen } = await import('../assert/listen.js')
    return listen(this, port, options)
  }

  /** Captures packets on `iface` (tcpdump, ready when listening); `await cap.stop()` returns typed packets. */
  async capture(iface: string, options: CaptureOptions = {}): Promise<Capture> {
    const { capture } = await import('../capture/capture.js')
    return capture(this, iface, options)
  }

  /** Impairs egress of `dev` (netem; without it: loss via nftables numgen, rate via tbf). See docs/advanced.md. */
  async impair(dev: string, options: ImpairOptions): Promise<Impairment> {
    const { impair } = await import('../impair/impair.js')
    return impair(this, dev, options)
  }

  /**
   * Writes a file for this namespace's processes (a daemon's config) into the lab's temp directory and
   * returns its absolute path: `bird -c ${await r1.writeFile('bird.conf', conf)}`. `name` is a plain file
   * name; the file must not exist yet. Removed with the lab.
   */
  async writeFile(name: string, text: string | Uint8Array): Promise<string> {
    const ctx = this.#context(callSite())
    this.#lab.assertAlive(this)
    const { checkFileName, writeLabFile } = await import('./tempdir.js')
    checkFileName(name, ctx) // before the directory is made
    await this.#lab.tempDir() // made through the lab, so its marker names it (a reaper removes it after a crash)
    return writeLabFile(this.#lab, this.name, name, text, ctx)
  }

  /**
   * Takes a DHCPv4 lease on `dev` with dhclient and netspec's own script (address and default route applied,
   * the servers written to this namespace's own resolv.conf, never the machine's): `{ address, prefixLength,
   * router, dns, server, leaseTime }`. See src/services/dhcp.ts.
   */
  async dhcp(dev: string, options: DhcpOptions = {}): Promise<DhcpLease> {
    const calledAt = callSite()
    const { dhcp } = await import('../services/dhcp.js')
    return dhcp(this, dev, options, calledAt)
  }

  /** PIDs of all processes in this namespace. */
  async pids(): Promise<number[]> {
    this.#lab.assertAlive(this)
    const r = await this.#lab.executor.run(['ip', 'netns', 'pids', this.name])
    return r.stdout.split(/\s+/).filter(Boolean).map(Number)
  }

  // ---- reading the kernel's state back -------------------------------------------------------

  async links(): Promise<Link[]> {
    await this.#ready()
    const links = await readLinks(this.#lab.executor, this.name)
    for (const l of links) if (l.peer?.netns !== undefined) l.peer.namespace = this.#lab.labelOf(l.peer.netns)
    return links
  }

  async link(name: string): Promise<Link | undefined> {
    return (await this.links()).find((l) => l.name === name)
  }

  async addresses(): Promise<Address[]> {
    await this.#ready()
    return readAddresses(this.#lab.executor, this.name)
  }

  async routes(): Promise<Route[]> {
    await this.#ready()
    return readRoutes(this.#lab.executor, this.name)
  }

  /** Policy routing rules of both families, by priority (`ip -j rule`). */
  async rules(): Promise<Rule[]> {
    await this.#ready()
    return readRules(this.#lab.executor, this.name)
  }

  async neighbors(): Promise<Neighbor[]> {
    await this.#ready()
    return readNeighbors(this.#lab.executor, this.name)
  }

  async snapshot(): Promise<NamespaceSnapshot> {
    const [links, addresses, routes, neighbors] = await Promise.all([this.links(), this.addresses(), this.routes(), this.neighbors()])
    return { label: this.label, name: this.name, links, addresses, routes, neighbors }
  }

  // ---- changing it --------------------------------------------------------------------------

  async addrAdd(dev: string, cidr: string): Promise<void> {
    const ctx = this.#context(callSite())
    checkIfName(dev, ctx)
    const c = parseCidr(cidr, ctx)
    this.#lab.assertAlive(this)
    this.#lab.model.addAddress(this, dev, c.address)
    await this.#lab.batch(this, [`addr add ${c.cidr} dev ${dev}${c.family === 6 ? ' nodad' : ''}`], ctx)
  }

  async addrDel(dev: string, cidr: string): Promise<void> {
    const ctx = this.#context(callSite())
    checkIfName(dev, ctx)
    const c = parseCidr(cidr, ctx)
    this.#lab.assertAlive(this)
    await this.#lab.batch(this, [`addr del ${c.cidr} dev ${dev}`], ctx)
    this.#lab.model.removeAddress(this, dev, c.address)
  }

  /** `ip route add`: `routeAdd('default', { via: '172.16.0.100' })`, `routeAdd('10.0.2.0/24', { dev: 'eth0' })`. */
  async routeAdd(destination: string, options: RouteOptions = {}): Promise<void> {
    const ctx = this.#context(callSite())
    const line = routeLine(destination, options, ctx)
    this.#lab.assertAlive(this)
    await this.#lab.batch(this, [`route add ${line}`], ctx)
  }

  /**
   * `ip route del`: the kernel finds the route by its prefix alone (`routeDel('10.8.0.0/16')`), narrowed by what is
   * given (via, dev, metric, table, type, src). A route that is not there is named, with what the namespace has.
   */
  async routeDel(destination: string, options: RouteDelOptions = {}): Promise<void> {
    const ctx = this.#context(callSite())
    const line = routeDelLine(destination, options, ctx)
    this.#lab.assertAlive(this)
    await this.#lab.batch(this, [`route del ${line}`], ctx).catch(async (e: unknown) => {
      throw await routeDelMissing(e, this, destination, options, ctx)
    })
  }

  /** `ip rule add`: `ruleAdd({ from: '10.0.0.2', table: 100 })`, `ruleAdd({ fwmark: 7, table: 100, priority: 100 })`. */
  async ruleAdd(rule: RuleOptions): Promise<void> {
    await this.#rule('add', rule, this.#context(callSite()))
  }

  /** `ip rule del` with the same selectors (the kernel deletes the first rule they all match). */
  async ruleDel(rule: RuleOptions): Promise<void> {
    await this.#rule('del', rule, this.#context(callSite()))
  }

  // Rules go as argv, not through `ip -batch`: a batch line cannot carry `-6`, and a rule without selectors is IPv4 there.
  async #rule(verb: 'add' | 'del', rule: RuleOptions, ctx: Record<string, unknown>): Promise<void> {
    const { args } = ruleArgs(verb, rule, ctx)
    await this.#ready()
    const r = await this.#lab.executor.run(['ip', '-n', this.name, ...args], { signal: this.#lab.signal })
    if (r.exitCode !== 0 || r.timedOut) throw commandFailed(r, { ...ctx, what: `ip rule ${verb} failed in ${this.label}` })
  }

  async linkSet(dev: string, options: LinkSetOptions): Promise<void> {
    const ctx = this.#context(callSite())
    checkIfName(dev, ctx)
    const lines = linkSetLines(dev, checkKeys(options, ['up', 'mtu', 'mac', 'alias'], 'linkSet', ctx), ctx)
    this.#lab.assertAlive(this)
    await this.#lab.batch(this, lines, ctx)
  }

  /** Deletes a link (for a veth, the kernel deletes its peer too). */
  async linkDel(dev: string): Promise<void> {
    const ctx = this.#context(callSite())
    checkIfName(dev, ctx)
    this.#lab.assertAlive(this)
    // Owed read-backs name this link (and its peer elsewhere): send them while the link still exists.
    await this.#lab.settle()
    await this.#lab.batch(this, [`link del dev ${dev}`], ctx)
    this.#lab.model.linkDeleted(this, dev)
  }

  /**
   * Writes a `net.*` sysctl of this namespace (never the machine's) and returns what the kernel holds after it,
   * read back (the value written, where the key is write-only). The kernel may round a number to its own unit
   * (milliseconds kept in jiffies); a value it did not take as written (too many or too few numbers, '0x1') throws.
   */
  async sysctlSet(key: string, value: string | number): Promise<string> {
    const ctx = this.#context(callSite())
    checkSysctlKey(key, ctx)
    const v = checkSysctlValue(value, key, ctx)
    this.#lab.assertAlive(this)
    const [held] = await this.#lab.writeSysctls(this, [{ key, value: v }], ctx)
    return held ?? v
  }

  async sysctlGet(key: string): Promise<string> {
    const ctx = this.#context(callSite())
    checkSysctlKey(key, ctx)
    this.#lab.assertAlive(this)
    const r = await this.#lab.executor.run(['cat', sysctlPath(key)], { netns: this.name, signal: this.#lab.signal })
    if (r.exitCode !== 0) throw commandFailed(r, { ...ctx, what: `reading ${key} failed` })
    return r.stdout.trim()
  }

  /** Turns IPv4 and IPv6 forwarding on or off (a router: `ip_forward=1`). */
  async forwarding(on: boolean): Promise<void> {
    this.#lab.assertAlive(this)
    const v = on ? '1' : '0'
    await this.#lab.writeSysctls(this, [{ key: 'net.ipv4.ip_forward', value: v }, { key: 'net.ipv6.conf.all.forwarding', value: v, optional: true }], this.#context())
  }

  async #ready(): Promise<void> {
    this.#lab.assertAlive(this)
    await this.#lab.settle()
  }

  #context(declaredAt?: string) {
    return { lab: this.#lab.label, namespace: this.label, netns: this.name, declaredAt }
  }
}

export function routeLine(destination: string, options: RouteOptions, ctx: Record<string, unknown>): string {
  checkKeys(options, ['via', 'dev', 'metric', 'table', 'src', 'onlink', 'type', 'mtu'], 'route', ctx)
  const { dst, family } = parseDestination(destination, ctx)
  const type = options.type === undefined ? 'unicast' : checkRouteType(options.type, ctx)
  const via = options.via === undefined ? undefined : parseAddress(options.via, ctx)
  if (via !== undefined && family !== undefined && via.family !== family)
    throw invalidInput(`route to ${destination} (IPv${family}) cannot go via ${options.via} (IPv${via.family})`, {
      ...ctx,
      hint: 'the gateway must be of the same address family as the destination',
    })
  if (type !== 'unicast' && (via !== undefined || options.dev !== undefined || options.onlink !== undefined || options.src !== undefined))
    throw invalidInput(`a ${type} route to ${destination} sends nothing anywhere: it takes no 'via', 'dev', 'src' or 'onlink'`, {
      ...ctx,
      hint: `routeAdd('${destination}', { type: '${type}' }), optionally with table, metric`,
    })
  if (type === 'unicast' && via === undefined && options.dev === undefined)
    throw invalidInput(`route to ${destination} needs 'via' (a gateway) or 'dev' (an interface)`, ctx)
  const fam = family ?? via?.family ?? 4
  const parts: string[] = type === 'unicast' ? [] : [type]
  parts.push(dst === 'default' && fam === 6 ? '::/0' : dst)
  if (via !== undefined) parts.push('via', via.address)
  if (options.dev !== undefined) parts.push('dev', checkIfName(options.dev, ctx))
  if (options.src !== undefined) {
    const src = parseAddress(options.src, ctx)
    if (src.family !== fam) throw invalidInput(`route to ${destination} (IPv${fam}) cannot have source ${options.src} (IPv${src.family})`, ctx)
    parts.push('src', src.address)
  }
  if (options.metric !== undefined) {
    if (!Number.isInteger(options.metric) || options.metric < 0 || options.metric > 0xffffffff)
      throw invalidInput(`route metric must be a whole number from 0 to 4294967295, got ${options.metric}`, ctx)
    parts.push('metric', String(options.metric))
  }
  // Always the number: ip would read a name through the machine's /etc/iproute2/rt_tables.
  if (options.table !== undefined) parts.push('table', String(parseRouteTable(options.table, ctx)))
  if (options.mtu !== undefined) parts.push('mtu', String(checkRouteMtu(options.mtu, fam, ctx)))
  if (options.onlink === true) parts.push('onlink')
  return parts.join(' ')
}

export function linkSetLines(dev: string, o: LinkSetOptions, ctx: Record<string, unknown>): string[] {
  const lines: string[] = []
  if (o.mac !== undefined) lines.push(`link set dev ${dev} address ${checkMac(o.mac, ctx)}`)
  if (o.mtu !== undefined) lines.push(`link set dev ${dev} mtu ${checkMtu(o.mtu, ctx)}`)
  if (o.alias !== undefined) lines.push(`link set dev ${dev} alias ${checkAlias(o.alias, ctx)}`)
  if (o.up !== undefined) lines.push(`link set dev ${dev} ${o.up ? 'up' : 'down'}`)
  // Read back once after up: forces the kernel's deferred carrier step, so the next packet is not dropped.
  if (o.up === true) lines.push(`link show dev ${dev}`)
  return lines
}

/** An alias as one `ip -batch` word (quoted): see values/names.ts for what an alias may hold. */
export function checkAlias(alias: unknown, ctx: Record<string, unknown>): string {
  return batchWord(parseAlias(alias, ctx))
}

export function tornDown(lab: string, ns?: Namespace): NetspecError {
  return new NetspecError(
    'torn-down',
    ns === undefined ? `lab '${lab}' was torn down` : `lab '${lab}' was torn down: namespace '${ns.label}' (${ns.name}) no longer exists`,
    { lab, namespace: ns?.label, hint: 'use handles only inside the test (or before destroy()) that created them' },
  )
}
