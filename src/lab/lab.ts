// A Lab owns one test's world: its namespaces, links, bridges and processes, and their teardown.
import type { Exposed, ExposeOptions } from '../expose/expose.js'
import { NetspecError, callSite, invalidInput, isNetspecError, type NetspecErrorContext } from '../errors.js'
import { commandFailed, defaultExecutor, type Executor, type SpawnedProcess } from '../exec/index.js'
import { IpBatcher } from '../kernel/batcher.js'
import { NetlinkEngine } from '../kernel/netlink/engine.js'
import { canEnterNamespaces, writeSysctlsInNamespace } from '../kernel/setns.js'
import { Namespace, checkAlias, checkSysctlValue, tornDown } from './namespace.js'
import { kernelName, nextLabId, processStartTime, removeOwnMarker, writeMarker, type LabMarker } from './owner.js'
import { preflight } from './preflight.js'
import { ensureReaper } from '../reaper/index.js'
import { writeEtcNetnsVia } from '../container/etc-netns.js'
import { adoptContainer, type AdoptableContainer } from '../container/adopt.js'
import { SegmentMap, type IfaceRef } from './segments.js'
import { destroyNamespaces, isExhaustion, releaseDescriptor, reserveDescriptor, teardownFailed } from './teardown.js'
import { createEtcNetns, defaultEtcFiles } from './etc-netns.js'
import { descriptorLimits, resourceExhausted } from './resources.js'
import { labTempDir, removeLabTempDir } from './tempdir.js'
import type { MatrixHost, MatrixOptions, ReachabilityMatrix } from '../assert/matrix.js'
import type { Partition, PartitionOptions } from '../impair/partition.js'
import type { Diagram } from '../topology/diagram.js'
import type { BuiltTopology, Topology } from '../topology/build.js'
import type { BridgeOptions, BridgeRef, EndOptions, LabOptions, LabSnapshot, NamespaceOptions, PlugOptions, VethEnd, Vlan, VlanOptions } from './types.js'
import { applyPortVlans, bridgeVlans, createVlan, portVlans, unsupportedIfMissing } from './vlan.js'
import { createVxlan, type Tunnel, type VxlanOptions } from './tunnel.js'
import type { BridgeVlan } from '../kernel/bridge-vlan.js'
import type { BridgeFdbEntry, BridgePort, FdbOptions } from './bridge-ports.js'
import { checkIfName, checkKeys, checkLabel, checkMac, checkMtu, checkSysctlKey, parseCidr, sysctlPath } from './validate.js'
import { checkEtcNetnsFile } from '../values/names.js'
import { checkLabLabel } from '../values/show.js'
import { sysctlHeld, sysctlReadBackProblem } from '../values/sysctl.js'

/** What a Namespace handle needs from its lab. Not public API. */
export interface LabInternals {
  readonly id: string
  readonly label: string
  readonly executor: Executor
  readonly signal: AbortSignal | undefined
  readonly model: LabModel
  readonly namespaces: readonly Namespace[]
  assertAlive(ns?: Namespace): void
  settle(): Promise<void>
  batch(ns: Namespace, lines: string[], ctx: NetspecErrorContext): Promise<void>
  writeSysctls(ns: Namespace, settings: readonly SysctlSetting[], ctx: NetspecErrorContext): Promise<(string | undefined)[]>
  track(proc: SpawnedProcess): void
  /** The in-process kernel path (netlink sockets per namespace), when this lab runs on this machine with koffi. */
  readonly netlink: NetlinkEngine | undefined
  labelOf(netns: string): string | undefined
  /** The lab's private temp directory (src/lab/tempdir.ts). */
  tempDir(): Promise<string>
  defer(fn: () => unknown, what?: string): void
}

class Iface implements IfaceRef {
  readonly addresses = new Set<string>()
  constructor(
    readonly ns: Namespace,
    readonly name: string,
  ) {}
  get id(): string {
    return `${this.ns.label}/${this.name}`
  }
}

/** The lab's own record of interfaces and segments, used to reject bad input before the kernel sees it. */
export class LabModel {
  readonly segments = new SegmentMap()
  readonly #ifaces = new Map<Namespace, Map<string, Iface>>()
  readonly #peers = new Map<Iface, Iface>()

  iface(ns: Namespace, name: string): Iface | undefined {
    return this.#ifaces.get(ns)?.get(name)
  }

  declare(ns: Namespace, name: string): Iface {
    let m = this.#ifaces.get(ns)
    if (m === undefined) this.#ifaces.set(ns, (m = new Map()))
    const iface = new Iface(ns, name)
    m.set(name, iface)
    return iface
  }

  pair(a: Iface, b: Iface): void {
    this.#peers.set(a, b)
    this.#peers.set(b, a)
    this.segments.join(a, b)
  }

  addAddress(ns: Namespace, dev: string, address: string): void {
    const iface = this.iface(ns, dev)
    if (iface === undefined) return // created outside the lab's verbs (e.g. via exec): the kernel will judge
    this.segments.check([iface], [[iface, address]])
    iface.addresses.add(address)
    this.segments.addAddress(iface, address)
  }

  removeAddress(ns: Namespace, dev: string, address: string): void {
    const iface = this.iface(ns, dev)
    if (iface === undefined) return
    iface.addresses.delete(address)
    this.segments.removeAddress(iface, address)
  }

  linkDeleted(ns: Namespace, dev: string): void {
    const iface = this.iface(ns, dev)
    if (iface === undefined) return
    for (const gone of [iface, this.#peers.get(iface)]) {
      if (gone === undefined) continue
      this.segments.remove(gone)
      this.#ifaces.get(gone.ns)?.delete(gone.name)
      this.#peers.delete(gone)
    }
  }
}

interface ParsedEnd extends Omit<EndOptions, 'addresses'> {
  ns: Namespace
  name: string
  addresses: ReturnType<typeof parseCidr>[]
}

const END_KEYS = ['addresses', 'mac', 'mtu', 'alias', 'up', 'master'] as const

/** A bridge living in a lab namespace (the tutorials' br0 in "host"). */
export class Bridge implements BridgeRef {
  #ports = 0
  constructor(
    readonly lab: Lab,
    readonly ns: Namespace,
    readonly name: string,
    /** Created with `vlanFiltering: true`: its ports carry the VLANs plug() gives them. */
    readonly vlanFiltering = false,
  ) {}

  /**
   * Plugs a namespace into this bridge with a veth pair: `br0.plug([netns2, 'veth2', '172.16.0.102/24'])`.
   * The port end lives in the bridge's namespace, named `port` (default `<bridge>p<N>`). On a VLAN-filtering
   * bridge, `{ pvid: 10 }` makes it an access port of VLAN 10 and `{ tagged: [10, 20] }` a trunk (src/lab/vlan.ts).
   */
  async plug(end: VethEnd, options: PlugOptions = {}): Promise<Veth> {
    const ctx = { lab: this.lab.label, namespace: this.ns.label, netns: this.ns.name, declaredAt: callSite() }
    checkKeys(options, ['port', 'pvid', 'tagged', 'untagged'], 'plug', ctx)
    const vlans = portVlans(options, this, ctx)
    this.#ports += 1
    const port = options.port ?? `${this.name.slice(0, 10)}p${this.#ports}`
    const veth = await this.lab.veth({ ns: this.ns, name: port, master: this }, end)
    if (vlans !== undefined) await applyPortVlans(this, port, vlans)
    return veth
  }

  /** The VLANs of this bridge and its ports, read back from the kernel (`bridge -j vlan show`). */
  vlans(): Promise<BridgeVlan[]> {
    return bridgeVlans(this)
  }

  /** Its ports as the kernel has them (`bridge -j link`): state, where each veth leads, VLANs (src/lab/bridge-ports.ts). */
  async ports(): Promise<BridgePort[]> {
    const { bridgePorts } = await import('./bridge-ports.js')
    return bridgePorts(this)
  }

  /** What it learned (`bridge -j fdb`): MACs per port; `{ all: true }` adds permanent and 'self' entries. */
  async fdb(options: FdbOptions = {}): Promise<BridgeFdbEntry[]> {
    const { bridgeFdb } = await import('./bridge-ports.js')
    return bridgeFdb(this, options)
  }

  toString(): string {
    return `${this.name} in ${this.ns.label}`
  }
}

export interface Veth {
  a: { ns: Namespace; name: string }
  b: { ns: Namespace; name: string }
}

export class Lab implements LabInternals, AsyncDisposable {
  readonly id: string
  readonly label: string
  readonly executor: Executor
  readonly signal: AbortSignal | undefined
  readonly model = new LabModel()
  readonly #namespaces = new Map<string, Namespace>()
  readonly #byKernelName = new Map<string, Namespace>()
  /** Kernel names of namespaces this lab did not create (adopted containers): unlinked, never emptied. */
  readonly #adopted = new Set<string>()
  #kept = false
  readonly #processes: SpawnedProcess[] = []
  readonly #deferred: { fn: () => unknown; what: string }[] = []
  /** Lines each namespace still owes the kernel (e.g. `link set lo up`), sent with its next batch. */
  readonly #pending = new Map<Namespace, string[]>()
  /** veth ends to read back once before traffic flows (forces the kernel's deferred carrier step). */
  readonly #unsettled = new Map<Namespace, Set<string>>()
  readonly #marker: LabMarker
  /** One `ip -batch` process per namespace per tick, whoever asks (see kernel/batcher.ts). */
  readonly #batcher: IpBatcher
  readonly netlink: NetlinkEngine | undefined
  #state: 'live' | 'tearing-down' | 'torn-down' = 'live'
  #teardown: Promise<void> | undefined

  private constructor(options: LabOptions, executor: Executor) {
    this.id = nextLabId()
    this.label = options.label ?? `lab ${this.id}`
    // Every process started in a lab namespace (ns.exec, ns.spawn, internal tools) sees its own /etc files first.
    this.executor =
      executor.kind === 'local'
        ? {
            kind: executor.kind,
            run: (argv, o) => {
              try {
                if (o?.netns !== undefined) this.#ensureEtc(o.netns)
              } catch (e) {
                return Promise.reject(e)
              }
              return executor.run(argv, o)
            },
            spawn: (argv, o) => {
              if (o?.netns !== undefined) this.#ensureEtc(o.netns)
              return executor.spawn(argv, o)
            },
          }
        : executor
    this.netlink = executor.kind === 'local' && process.env.NETSPEC_NO_NETLINK !== '1' ? NetlinkEngine.create() : undefined
    this.#batcher = new IpBatcher(executor, () => this.#writeMarkerIfChanged(), this.netlink)
    this.signal = options.signal
    this.#marker = {
      version: 1,
      labId: this.id,
      label: this.label,
      ownerPid: process.pid,
      ownerStart: processStartTime(process.pid),
      createdAt: new Date().toISOString(),
      namespaces: [],
    }
  }

  /** Checks privileges and tools (once per process), then returns an empty lab. */
  static async create(options: LabOptions = {}): Promise<Lab> {
    checkKeys(options, ['label', 'signal', 'executor'], 'Lab.create')
    if (options.label !== undefined) checkLabLabel(options.label)
    const executor = options.executor ?? defaultExecutor('lab')
    await preflight(executor)
    if (executor.kind === 'local') ensureReaper() // removes this process's labs if it dies (src/reaper)
    reserveDescriptor() // for teardown, should the build use up every descriptor (src/lab/teardown.ts)
    descriptorLimits() // read now: when the limit is hit, reading it would need a descriptor
    return new Lab(options, executor)
  }

  get namespaces(): readonly Namespace[] {
    return [...this.#namespaces.values()]
  }

  get state(): 'live' | 'tearing-down' | 'torn-down' {
    return this.#state
  }

  /** The marker that sweeps and reapers read (kernel names of everything this lab owns). */
  get marker(): Readonly<LabMarker> {
    return this.#marker
  }

  labelOf(netns: string): string | undefined {
    return this.#byKernelName.get(netns)?.label
  }

  /** Creates a namespace, labelled for this lab; its kernel name is `ns.name`. */
  async namespace(label: string, options: NamespaceOptions = {}): Promise<Namespace> {
    const declaredAt = callSite()
    this.assertAlive()
    checkLabel(label, 'namespace label', { lab: this.label, declaredAt })
    const ctx = { lab: this.label, namespace: label, declaredAt }
    checkKeys(options, ['loopback', 'forwarding', 'sysctls', 'files'], 'namespace', ctx)
    if (this.#namespaces.has(label))
      throw invalidInput(`namespace label '${label}' is already used in this lab`, {
        ...ctx,
        hint: `declared first at ${this.#namespaces.get(label)!.declaredAt ?? '?'}; pick another label`,
      })
    const sysctls = Object.entries(options.sysctls ?? {}).map(([k, v]) => {
      checkSysctlKey(k, ctx)
      return [k, checkSysctlValue(v, k, ctx)] as const
    })
    const files = Object.entries(options.files ?? {})
    for (const [file, content] of files) {
      checkEtcNetnsFile(file, ctx)
      if (typeof content !== 'string') throw invalidInput(`content of '${file}' must be a string`, ctx)
    }

    const name = kernelName(this.id, label)
    if (this.#byKernelName.has(name))
      throw invalidInput(`namespace label '${label}' would get the same kernel name as '${this.#byKernelName.get(name)!.label}' (${name})`, {
        ...ctx,
        hint: 'labels differing only in characters other than letters, digits, . _ - (or after 32 characters) collide; pick another label',
      })
    const ns = new Namespace(this, label, name, declaredAt)
    this.#namespaces.set(label, ns)
    this.#byKernelName.set(name, ns)
    // Recorded before it exists: the batcher writes the marker before any `netns add` leaves this process,
    // so a crash right after it still leaves a marker that names it (one write for many namespaces).
    this.#marker.namespaces.push(name)
    // Its own resolv.conf and hosts by default (src/lab/etc-netns.ts), so that no lab process writes the machine's.
    // Written now when the test gives files, else at the first process started in it (#ensureEtc): a namespace
    // that never runs a process (a router probed in-process) costs no /etc/netns writes (1–6 ms each here).
    const etcFiles = this.executor.kind === 'local' ? mergeFiles(defaultEtcFiles(name), files) : []
    const etcNow = files.length > 0 && etcFiles.length > 0
    if (etcNow) (this.#marker.etc ??= {})[name] = etcFiles.map(([f]) => f)
    else if (etcFiles.length > 0) this.#etcPending.set(name, etcFiles)
    this.#markerDirty = true

    // Explicit state: a new namespace may inherit forwarding from the machine, so always set it.
    // No IPv6 DAD on links created here: a tentative link-local address keeps a router from sending
    // neighbour solicitations for forwarded packets for 1–2 s (measured: the first routed ping -6 is lost).
    const v = options.forwarding === true ? '1' : '0'
    const settings: SysctlSetting[] = [
      { key: 'net.ipv4.ip_forward', value: v },
      { key: 'net.ipv6.conf.all.forwarding', value: v, optional: true },
      { key: 'net.ipv6.conf.default.accept_dad', value: '0', optional: true },
      ...sysctls.map(([key, value]) => ({ key, value })),
    ]
    const c = { ...ctx, netns: name }
    try {
      // `netns add` in a batch of its own: a name that exists already must fail before anything runs inside it.
      await this.#run(() => this.#batcher.run(undefined, [`netns add ${name}`], this.signal), c)
    } catch (e) {
      if (isNetspecError(e) && /File exists/.test(`${e.stderr ?? ''} ${e.message}`)) {
        this.#forget(ns)
        throw new NetspecError('command-failed', `a network namespace named ${name} already exists (not owned by this lab): it was not created, and this lab will not touch it`, {
          ...c,
          command: e.command,
          stderr: e.stderr,
          hint: `someone else made it (or a run whose id this lab repeats); look at it with \`ip netns pids ${name}\` and remove it if it is not needed (\`ip netns del ${name}\`); to use a foreign namespace on purpose, lab.adoptPid() or lab.adopt()`,
          cause: e,
        })
      }
      throw this.#exhausted(e, c)
    }
    try {
      if (etcNow) createEtcNetns(name, etcFiles)
    } catch (e) {
      delete this.#marker.etc![name] // not ours (or already removed again): never removed at teardown
      try {
        writeMarker(this.#marker)
      } catch {
        this.#markerDirty = true // out of descriptors too: written with the next batch
      }
      throw this.#exhausted(e, c)
    }
    if (files.length > 0 && this.executor.kind !== 'local') {
      // Another executor (a container): the files must be where its `ip netns exec` looks (src/container/etc-netns.ts).
      this.defer(await writeEtcNetnsVia(this.executor, name, files), `removing /etc/netns/${name}`)
    }
    try {
      if (this.#sysctlsInProcess) await this.writeSysctls(ns, settings, ctx)
      else {
        await this.#run(() => this.#batcher.run(undefined, [`netns exec ${name} sh -c "${sysctlScript(settings)}"`], this.signal), c)
        // The user's own keys are read back (written again, the same values) where the batch cannot show output.
        if (sysctls.length > 0) await this.writeSysctls(ns, sysctls.map(([key, value]) => ({ key, value })), ctx)
      }
    } catch (e) {
      throw this.#exhausted(e, c)
    }
    if (options.loopback !== false) this.#owe(ns, 'link set lo up')
    return ns
  }

  /** All-pairs reachability of `[ns, address]` hosts, probed with bounded concurrency (see assert/matrix.ts). */
  async reachability(hosts: readonly MatrixHost[], options: MatrixOptions = {}): Promise<ReachabilityMatrix> {
    const { reachability } = await import('../assert/matrix.js')
    return reachability(hosts, options)
  }

  /**
   * A veth pair with each end created directly in its namespace (never in the machine's root namespace):
   * `lab.veth([ns1, 'veth1', '10.0.12.1/24'], [ns2, 'veth2', '10.0.12.2/24'])`.
   */
  async veth(a: VethEnd, b: VethEnd): Promise<Veth> {
    const declaredAt = callSite()
    this.assertAlive()
    const ctx = { lab: this.label, declaredAt }
    let [ea, eb] = [this.#parseEnd(a, ctx), this.#parseEnd(b, ctx)]
    if (ea.ns === eb.ns && ea.name === eb.name)
      throw invalidInput(`both ends of the veth pair are named '${ea.name}' in ${ea.ns.label}`, ctx)
    // The end that joins a bridge is created first, so it can be enslaved and up in the same request.
    if (eb.master !== undefined && ea.master === undefined) [ea, eb] = [eb, ea]

    const ia = this.model.declare(ea.ns, ea.name)
    const ib = this.model.declare(eb.ns, eb.name)
    const undeclare = () => {
      // Not paired yet: forget each end on its own, so a corrected retry may use both names.
      this.model.linkDeleted(ea.ns, ea.name)
      this.model.linkDeleted(eb.ns, eb.name)
    }
    try {
      const joined: IfaceRef[] = [ia, ib]
      for (const e of [ea, eb]) if (e.master !== undefined) joined.push(this.model.iface(e.master.ns, e.master.name)!)
      this.model.segments.check(joined, [...ea.addresses.map((c) => [ia, c.address] as const), ...eb.addresses.map((c) => [ib, c.address] as const)])
    } catch (e) {
      undeclare()
      throw e
    }
    this.model.pair(ia, ib)
    for (const [e, i] of [[ea, ia], [eb, ib]] as const) {
      if (e.master !== undefined) this.model.segments.join(i, this.model.iface(e.master.ns, e.master.name)!)
      for (const c of e.addresses) {
        i.addresses.add(c.address)
        this.model.segments.addAddress(i, c.address)
      }
    }

    // A plain bridge port is created enslaved and up in the same request: one kernel step instead of three.
    const fold = ea.master !== undefined && ea.alias === undefined && ea.addresses.length === 0 && ea.up !== false
    const create = [
      // `name` always: a bare interface name such as 'a' or 'mtu' would be read as a keyword.
      `link add name ${ea.name}${linkAttrs(ea)}${fold ? ` up master ${ea.master!.name}` : ''} type veth peer name ${eb.name}${linkAttrs(eb)} netns ${eb.ns.name}`,
      ...(fold ? [] : endLines(ea)),
    ]
    try {
      if (ea.ns === eb.ns) {
        await this.batch(ea.ns, [...create, ...endLines(eb), ...(eb.up === false ? [] : [`link show dev ${eb.name}`])], { ...ctx, namespace: ea.ns.label, netns: ea.ns.name }).catch(
          (e: unknown) => this.#undoHalfWay(e, ea.ns, ea.name),
        )
      } else {
        await this.batch(ea.ns, create, { ...ctx, namespace: ea.ns.label, netns: ea.ns.name }).catch((e: unknown) => this.#undoHalfWay(e, ea.ns, ea.name))
        await this.batch(eb.ns, [...endLines(eb), ...(eb.up === false ? [] : [`link show dev ${eb.name}`])], { ...ctx, namespace: eb.ns.label, netns: eb.ns.name }).catch(
          (e: unknown) => this.#undoHalfWay(e, ea.ns, ea.name, true),
        )
      }
    } catch (e) {
      this.model.linkDeleted(ea.ns, ea.name) // the pair (and its addresses) is forgotten: the names are free again
      throw e
    }
    // Read both ends back once before traffic flows (the kernel's deferred carrier step, PERF-NOTES): the
    // second end in its own batch, right after it came up (no extra process); the first end at settle().
    if (ea.up !== false && eb.up !== false) this.#unsettle(ea.ns, ea.name)
    // A bridge's own carrier follows its first forwarding port, another deferred step: read it after its ports.
    if (ea.master !== undefined && ea.up !== false && eb.up !== false) this.#unsettle(ea.ns, ea.master.name)
    return { a: { ns: ea.ns, name: ea.name }, b: { ns: eb.ns, name: eb.name } }
  }

  /** A Linux bridge inside a lab namespace: `lab.bridge(host, 'br0', { addresses: ['172.16.0.100/24'] })`. */
  async bridge(ns: Namespace, name: string, options: BridgeOptions = {}): Promise<Bridge> {
    const declaredAt = callSite()
    this.assertAlive()
    const ctx = { lab: this.label, namespace: ns?.label, netns: ns?.name, declaredAt }
    this.#checkOwn(ns, ctx)
    checkIfName(name, ctx)
    checkKeys(options, ['addresses', 'mac', 'mtu', 'up', 'stp', 'vlanFiltering'], 'bridge', ctx)
    if (options.vlanFiltering !== undefined && typeof options.vlanFiltering !== 'boolean') throw invalidInput(`'vlanFiltering' must be true or false`, ctx)
    this.#checkFreeName(ns, name, ctx)
    const addresses = (options.addresses ?? []).map((a) => parseCidr(a, ctx))
    const mac = options.mac === undefined ? '' : ` address ${checkMac(options.mac, ctx)}`
    const mtu = options.mtu === undefined ? '' : ` mtu ${checkMtu(options.mtu, ctx)}`
    const iface = this.model.declare(ns, name)
    try {
      this.model.segments.check([iface], addresses.map((c) => [iface, c.address] as const))
    } catch (e) {
      this.model.linkDeleted(ns, name)
      throw e
    }
    for (const c of addresses) this.model.addAddress(ns, name, c.address)
    const vlanFiltering = options.vlanFiltering === true
    await this.batch(
      ns,
      [
        `link add name ${name}${mac} type bridge stp_state ${options.stp === true ? 1 : 0}${vlanFiltering ? ' vlan_filtering 1' : ''}`,
        // Set apart from `link add`: only then does the kernel keep it when ports with a larger MTU join.
        ...(mtu === '' ? [] : [`link set dev ${name}${mtu}`]),
        ...addresses.map((c) => addrLine(c, name)),
        ...(options.up === false ? [] : [`link set dev ${name} up`]),
      ],
      ctx,
    )
      .catch((e: unknown) => this.#undoHalfWay(e, ns, name))
      .catch((e: unknown) => {
        this.model.linkDeleted(ns, name) // nothing of the bridge is left: its name is free again
        if (!vlanFiltering) throw e
        return unsupportedIfMissing(e, 'bridge-vlan-filtering', `bridge ${name} with vlanFiltering`, ctx)
      })
    return new Bridge(this, ns, name, vlanFiltering)
  }

  /**
   * An 802.1Q VLAN sub-interface on an existing interface: `lab.vlan(ns, 'eth0', 10, { addresses: ['10.0.10.1/24'] })`
   * creates `eth0.10`. Needs the kernel's 8021q (feature 'vlan'); see src/lab/vlan.ts.
   */
  vlan(ns: Namespace, parent: string, id: number, options: VlanOptions = {}): Promise<Vlan> {
    return createVlan(this, ns, parent, id, options)
  }

  /**
   * A VXLAN tunnel end inside `ns` (never in the root namespace): `lab.vxlan(hv1, 'vx42', { id: 42, remote: '10.0.0.2',
   * local: '10.0.0.1', dstport: 4789, dev: 'eth0', master: br })`. Needs the kernel's vxlan (feature 'vxlan'); src/lab/tunnel.ts.
   */
  vxlan(ns: Namespace, name: string, options: VxlanOptions): Promise<Tunnel> {
    return createVxlan(this, ns, name, options)
  }

  /**
   * Makes an existing network namespace (e.g. a container's, by a PID inside it) a namespace of this
   * lab: it is linked into /run/netns under a lab name (`ip netns attach`) and unlinked at teardown.
   * Its processes and the namespace itself are left alone.
   */
  async adoptPid(label: string, pid: number): Promise<Namespace> {
    const declaredAt = callSite()
    this.assertAlive()
    checkLabel(label, 'namespace label', { lab: this.label, declaredAt })
    const ctx = { lab: this.label, namespace: label, declaredAt }
    if (this.#namespaces.has(label)) throw invalidInput(`namespace label '${label}' is already used in this lab`, ctx)
    if (!Number.isInteger(pid) || pid <= 0) throw invalidInput(`adopt needs the PID of a process in the namespace, got ${pid}`, ctx)
    const name = kernelName(this.id, label)
    if (this.#byKernelName.has(name))
      throw invalidInput(`namespace label '${label}' would get the same kernel name as '${this.#byKernelName.get(name)!.label}' (${name})`, {
        ...ctx,
        hint: 'labels differing only in characters other than letters, digits, . _ - (or after 32 characters) collide; pick another label',
      })
    const ns = new Namespace(this, label, name, declaredAt)
    this.#namespaces.set(label, ns)
    this.#byKernelName.set(name, ns)
    this.#adopted.add(name)
    this.#marker.adopted = [...this.#adopted]
    writeMarker(this.#marker)
    try {
      await this.#run(() => this.#batcher.run(undefined, [`netns attach ${name} ${pid}`], this.signal), { ...ctx, netns: name })
    } catch (e) {
      if (isNetspecError(e) && /File exists/.test(`${e.stderr ?? ''} ${e.message}`)) {
        this.#forget(ns)
        throw new NetspecError('command-failed', `a network namespace named ${name} already exists (not owned by this lab): nothing was attached`, {
          ...ctx,
          netns: name,
          stderr: e.stderr,
          hint: `look at it with \`ip netns pids ${name}\`; this lab will not touch it`,
          cause: e,
        })
      }
      throw e
    }
    return ns
  }

  /** Adopts a running container's network namespace (testcontainers' StartedTestContainer, or a Docker id or name): src/container/adopt.ts. */
  adopt(container: AdoptableContainer, label?: string): Promise<Namespace> {
    return adoptContainer(this, container, label)
  }

  /**
   * A service of `ns` at http://127.0.0.1:<free port> for this machine's own tools (a browser, curl, Playwright):
   * a user-space proxy whose upstream connections open inside `ns`; nothing in this machine's routes, addresses or
   * firewall changes; closed at teardown. src/expose/expose.ts.
   */
  async expose(ns: Namespace, port: number, options?: ExposeOptions): Promise<Exposed> {
    if (ns.lab !== this) throw invalidInput(`expose: namespace '${ns.label}' belongs to another lab`, { lab: this.label })
    return (await import('../expose/expose.js')).expose(ns, port, options)
  }

  /**
   * Keeps this lab's namespaces after teardown, for debugging (NETSPEC_KEEP): processes are stopped,
   * the marker is flagged `kept`, and sweeps leave the lab alone until `netspec sweep --kept`.
   */
  keep(): void {
    this.#kept = true
    this.#marker.kept = true
    writeMarker(this.#marker)
  }

  get kept(): boolean {
    return this.#kept
  }

  /**
   * Builds a whole topology described as one object (namespaces, bridges, links, routes), validated as a
   * whole before anything is created; the same lab as the imperative verbs would build. Returns the handles.
   */
  async build(topology: Topology): Promise<BuiltTopology> {
    this.assertAlive()
    const { build } = await import('../topology/build.js')
    return build(this, topology)
  }

  /** Draws the lab as the kernel reports it now: `{ mermaid, text }` (namespaces, bridges, veths, addresses). */
  async diagram(): Promise<Diagram> {
    const { diagram } = await import('../topology/diagram.js')
    return diagram(await this.snapshot())
  }

  /** Cuts every path between two groups of namespaces (`{ oneWay: true }`: only a → b); `heal()` undoes it. */
  async partition(a: Namespace | readonly Namespace[], b: Namespace | readonly Namespace[], options: PartitionOptions = {}): Promise<Partition> {
    const { partition } = await import('../impair/partition.js')
    return partition(Array.isArray(a) ? a : [a as Namespace], Array.isArray(b) ? b : [b as Namespace], options)
  }

  /**
   * The lab's private directory (mode 0700, made on first use) for configs, pid files, sockets and leases;
   * removed at teardown after the lab's processes stop, copied beside the diagnostics when the test fails.
   * `ns.writeFile(name, text)` writes into it.
   */
  async tempDir(): Promise<string> {
    this.assertAlive()
    // Recorded before it is made (src/lab/tempdir.ts), so a reaper or sweep removes it if this process dies.
    return labTempDir(this, (dir) => {
      this.#marker.tempDir = dir
      writeMarker(this.#marker)
    })
  }

  /** Registers a cleanup step; deferred steps run first at teardown, last registered first. */
  defer(fn: () => unknown, what = 'deferred cleanup'): void {
    this.assertAlive()
    this.#deferred.push({ fn, what })
  }

  /** Every namespace's links, addresses, routes and neighbours, read back from the kernel. */
  async snapshot(): Promise<LabSnapshot> {
    this.assertAlive()
    return {
      lab: this.label,
      takenAt: new Date().toISOString(),
      namespaces: await Promise.all(this.namespaces.map((ns) => ns.snapshot())),
    }
  }

  /**
   * Sends what the namespaces still owe the kernel and reads new links back once: after this,
   * packets flow. Called before any command runs in a namespace and before any read.
   */
  async settle(): Promise<void> {
    // A settle already under way must finish before anyone proceeds: its lines may be what they need.
    while (this.#settling !== undefined) await this.#settling
    if (this.#pending.size === 0 && this.#unsettled.size === 0) return
    this.#settling = this.#settle().finally(() => {
      this.#settling = undefined
    })
    await this.#settling
  }

  #settling: Promise<void> | undefined

  async #settle(): Promise<void> {
    const work = new Map<Namespace, string[]>()
    for (const [ns, lines] of this.#pending) work.set(ns, [...lines])
    for (const [ns, names] of this.#unsettled) work.set(ns, [...(work.get(ns) ?? []), ...[...names].map((n) => `link show dev ${n}`)])
    this.#pending.clear()
    this.#unsettled.clear()
    if (work.size === 0) return
    await Promise.all(
      [...work].map(([ns, lines]) =>
        this.#run(() => this.#batcher.run(ns.name, lines, this.signal), { lab: this.label, namespace: ns.label, netns: ns.name }),
      ),
    )
  }

  /** @internal one `ip -n NS -batch -` with what the namespace still owes, then these lines. */
  async batch(ns: Namespace, lines: string[], ctx: NetspecErrorContext): Promise<void> {
    const owed = this.#pending.get(ns) ?? []
    this.#pending.delete(ns)
    const shift = (e: unknown) => {
      // Failing lines counted in the caller's own lines (owed lines come first): see #undoHalfWay().
      const f = e as { failedLine?: number; failedLines?: number[] }
      if (f?.failedLine !== undefined) f.failedLine -= owed.length
      if (f?.failedLines !== undefined) f.failedLines = f.failedLines.map((i) => i - owed.length)
      throw e
    }
    await this.#run(() => this.#batcher.run(ns.name, [...owed, ...lines], this.signal).catch(shift), ctx)
  }

  get #sysctlsInProcess(): boolean {
    return this.executor.kind === 'local' && canEnterNamespaces()
  }

  /**
   * @internal `net.*` sysctls of one namespace, the one way every verb writes them: in-process (setns, ~0.06 ms)
   * on this machine, else one `sh` inside the namespace. Optional entries are skipped where the file is missing.
   */
  async writeSysctls(ns: Namespace, settings: readonly SysctlSetting[], ctx: NetspecErrorContext): Promise<(string | undefined)[]> {
    const c = { ...ctx, namespace: ns.label, netns: ns.name }
    const held: (string | undefined)[] = []
    if (this.#sysctlsInProcess) {
      const failed = writeSysctlsInNamespace(this.netlink?.target(ns.name) ?? ns.name, settings.map((e) => ({ ...e, path: sysctlPath(e.key) })), held)
      if (failed.length > 0)
        throw new NetspecError('command-failed', `setting ${failed.map((f) => f.key).join(', ')} failed`, {
          ...c,
          // Written in-process (setns + write): what a user can paste to see the same answer.
          command: `ip netns exec ${ns.name} sysctl -w ${failed.map((f) => `${f.key}=${f.value ?? '…'}`).join(' ')}  # written in-process: ${failed.map((f) => f.path).join(' ')}`,
          stderr: failed.map((f) => f.message).join('\n'),
          hint: failed.map((f) => sysctlFailureHint(f)).join('; '),
        })
    } else {
      const r = await this.executor.run(['sh', '-c', sysctlScript(settings, true)], { netns: ns.name, signal: this.signal })
      if (r.exitCode !== 0) throw commandFailed(r, { ...c, what: `setting ${settings.map((e) => e.key).join(', ')} failed` })
      // One line per setting: '=' and what the kernel holds (empty where skipped or write-only).
      for (const [i, line] of r.stdout.split('\n').filter((l) => l.startsWith('=')).entries()) held[i] = line.length > 1 ? line.slice(1) : undefined
    }
    // Read back: the kernel takes only as many numbers as a key has, and reads '0x1' as 1; say so, never pass it silently.
    const wrong = settings.flatMap((e, i) => {
      const problem = held[i] === undefined ? undefined : sysctlReadBackProblem(e.value, held[i]!)
      return problem === undefined ? [] : [`${e.key}: wrote '${e.value}', ${problem}`]
    })
    if (wrong.length > 0)
      throw new NetspecError('command-failed', `the kernel did not take ${wrong.length === 1 ? 'the value' : 'the values'} as written: ${wrong.join('; ')}`, {
        ...c,
        command: `ip netns exec ${ns.name} sysctl -w ${settings.map((e) => `${e.key}='${e.value}'`).join(' ')}`,
        hint: 'write exactly as many values as the key holds, in decimal (cat /proc/sys/<key> shows them)',
      })
    return held.map((h) => (h === undefined ? undefined : sysctlHeld(h)))
  }

  /** @internal */
  track(proc: SpawnedProcess): void {
    this.#processes.push(proc)
  }

  /** @internal throws the 'torn-down' error once the lab is gone. */
  assertAlive(ns?: Namespace): void {
    if (this.#state !== 'live') throw tornDown(this.label, ns)
  }

  /**
   * Tears everything down, last built first: deferred steps, processes, namespaces (with all their
   * links and bridges), /etc/netns files. Verifies nothing is left; throws 'teardown-failed' if so.
   * Safe to call twice.
   */
  destroy(): Promise<void> {
    this.#teardown ??= this.#destroy()
    return this.#teardown
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy()
  }

  async #destroy(): Promise<void> {
    this.#state = 'tearing-down'
    await Promise.allSettled([...this.#inflight]) // the test's abort signal cuts them short
    const errors: unknown[] = []
    for (const { fn, what } of this.#deferred.reverse()) {
      try {
        await fn()
      } catch (e) {
        errors.push(new Error(`${what} failed: ${e instanceof Error ? e.message : String(e)}`))
      }
    }
    await Promise.all(this.#processes.reverse().map((p) => p.stop({ graceMs: 500 }).catch((e: unknown) => errors.push(e))))
    if (!this.#kept) await removeLabTempDir(this).catch((e: unknown) => errors.push(e)) // a kept lab keeps its files
    if (this.#kept) {
      this.netlink?.close() // the bind mounts keep kept namespaces alive; our sockets must not
      this.#state = 'torn-down'
      if (errors.length > 0) throw teardownFailed(this.label, { leftover: [], stubborn: [] }, errors)
      return
    }
    const names = [...this.#byKernelName.keys()]
    // The names go first while our sockets and fds still hold every namespace; closing them afterwards lets the
    // kernel free all the namespaces at once, after the loop. Closed first, each unmount would drop the last
    // reference of its namespace and the kernel's clean-up (unregistering links, RCU grace periods) would run
    // against the remaining unmounts, which wait for grace periods themselves (measured, 200 hosts: 70 → 35 ms).
    const etc = this.#marker.etc ?? {}
    const result = await destroyNamespaces(this.executor, names, this.#adopted, etc)
      .catch(async (e: unknown) => {
        if (!isExhaustion(e)) throw e
        // Out of descriptors (the build hit EMFILE): free the reserve and the lab's own sockets and fds, then again.
        releaseDescriptor()
        this.netlink?.close()
        return destroyNamespaces(this.executor, names, this.#adopted, etc)
      })
      .catch((e: unknown) => {
        errors.push(e)
        return { leftover: names, stubborn: [] as number[] }
      })
      .finally(() => this.netlink?.close()) // an open socket would keep its namespace alive after the name is gone
    this.#state = 'torn-down'
    if (result.leftover.length === 0 && result.stubborn.length === 0) removeOwnMarker(this.id)
    if (errors.length > 0 || result.leftover.length > 0 || result.stubborn.length > 0) {
      throw teardownFailed(this.label, result, errors)
    }
  }

  /** Default /etc/netns files of namespaces that have not run a process yet. */
  readonly #etcPending = new Map<string, [string, string][]>()

  /** Writes a namespace's default /etc/netns files before its first process (recorded in the marker first). */
  #ensureEtc(netns: string): void {
    const files = this.#etcPending.get(netns)
    if (files === undefined) return
    this.#etcPending.delete(netns)
    // Once teardown has begun nothing more is written (nor the marker again): a check still running then (an
    // un-awaited matcher) would otherwise leave /etc/netns files of a namespace that is gone, listed by no marker.
    if (this.#state !== 'live') return
    ;(this.#marker.etc ??= {})[netns] = files.map(([f]) => f)
    const ctx = { lab: this.label, namespace: this.#byKernelName.get(netns)?.label, netns }
    try {
      writeMarker(this.#marker)
      this.#markerDirty = false
      createEtcNetns(netns, files)
    } catch (e) {
      delete this.#marker.etc[netns] // not ours (or removed again): never removed at teardown
      try {
        writeMarker(this.#marker)
      } catch {
        this.#markerDirty = true
      }
      throw this.#exhausted(e, ctx)
    }
  }

  /** A namespace that was not created after all (its name exists already): out of the lab and its marker. */
  #forget(ns: Namespace): void {
    this.#namespaces.delete(ns.label)
    this.#byKernelName.delete(ns.name)
    this.#marker.namespaces = this.#marker.namespaces.filter((n) => n !== ns.name)
    if (this.#marker.etc !== undefined) delete this.#marker.etc[ns.name]
    this.#etcPending.delete(ns.name)
    this.#adopted.delete(ns.name)
    if (this.#marker.adopted !== undefined) this.#marker.adopted = [...this.#adopted]
    this.#markerDirty = false
    writeMarker(this.#marker)
  }

  /** EMFILE/ENFILE/ENOMEM as what they are ('resource-exhausted', with the limit and the fix); other errors unchanged. */
  #exhausted(e: unknown, ctx: NetspecErrorContext): unknown {
    if (!isExhaustion(e) || (isNetspecError(e) && e.kind === 'resource-exhausted')) return e
    return resourceExhausted(e, this.#byKernelName.size, this.netlink !== undefined, { lab: this.label, ...ctx })
  }

  #markerDirty = false

  #writeMarkerIfChanged(): void {
    if (!this.#markerDirty) return
    this.#markerDirty = false
    writeMarker(this.#marker)
  }

  /**
   * A batch that created link `dev` (its line 0, `link add`) failed on a later line: delete the link again, so a
   * failure half-way leaves nothing (a veth's peer goes with it). `created` says line 0 ran in an earlier batch.
   * Where it is unknown what ran (a timeout, a whole batch refused), the lab's teardown removes it with the namespace.
   */
  async #undoHalfWay(e: unknown, ns: Namespace, dev: string, created = false): Promise<never> {
    const f = (e as { cause?: { failedLine?: number; failedLines?: number[] } })?.cause
    if (f?.failedLine !== undefined && (created || !(f.failedLines ?? [0]).includes(0))) {
      await this.batch(ns, [`link del dev ${dev}`], { lab: this.label, namespace: ns.label, netns: ns.name }).catch(() => undefined)
    }
    throw e
  }

  #owe(ns: Namespace, line: string): void {
    const lines = this.#pending.get(ns)
    if (lines === undefined) this.#pending.set(ns, [line])
    else lines.push(line)
  }

  #unsettle(ns: Namespace, name: string): void {
    const set = this.#unsettled.get(ns)
    if (set === undefined) this.#unsettled.set(ns, new Set([name]))
    else set.delete(name), set.add(name) // to the end: a bridge is read after the ports added since
  }

  /** Kernel commands under way: teardown waits for them, so none can create something after it deleted all. */
  readonly #inflight = new Set<Promise<void>>()

  async #run(fn: () => Promise<void>, ctx: NetspecErrorContext): Promise<void> {
    const work = fn()
    this.#inflight.add(work)
    try {
      await work
    } catch (e) {
      if (isExhaustion(e) && !(isNetspecError(e) && e.kind === 'resource-exhausted')) throw this.#exhausted(e, ctx)
      if (isNetspecError(e)) {
        throw new NetspecError(e.kind, e.shortMessage, {
          ...ctx,
          command: e.command,
          stderr: e.stderr,
          exitCode: e.exitCode,
          hint: e.hint,
          cause: e,
        })
      }
      throw e
    } finally {
      this.#inflight.delete(work)
    }
  }

  #checkOwn(ns: unknown, ctx: NetspecErrorContext): asserts ns is Namespace {
    if (!(ns instanceof Namespace)) throw invalidInput(`expected a namespace handle from lab.namespace(), got ${String(ns)}`, ctx)
    if (ns.lab !== this)
      throw invalidInput(`namespace '${ns.label}' belongs to another lab ('${ns.lab.label}')`, {
        ...ctx,
        hint: 'a lab can only wire its own namespaces; create the namespace in this lab',
      })
    this.assertAlive(ns)
  }

  #checkFreeName(ns: Namespace, name: string, ctx: NetspecErrorContext): void {
    if (name === 'lo' || this.model.iface(ns, name) !== undefined)
      throw invalidInput(`interface '${name}' already exists in namespace '${ns.label}'`, {
        ...ctx,
        hint: 'interface names must be unique within a namespace',
      })
  }

  #parseEnd(end: VethEnd, ctx: NetspecErrorContext): ParsedEnd {
    let ns: Namespace
    let name: string
    let opts: EndOptions = {}
    const addresses: string[] = []
    if (Array.isArray(end)) {
      const [n, nm, ...rest] = end as readonly [Namespace, string, ...(string | EndOptions)[]]
      ns = n
      name = nm
      for (const r of rest) {
        if (typeof r === 'string') addresses.push(r)
        else opts = { ...opts, ...checkKeys(r, END_KEYS, 'veth end', ctx) }
      }
    } else {
      const { ns: n, name: nm, ...o } = end as { ns: Namespace; name: string } & EndOptions
      ns = n
      name = nm
      opts = checkKeys(o, END_KEYS, 'veth end', ctx)
    }
    const ectx = { ...ctx, namespace: (ns as Namespace | undefined)?.label, netns: (ns as Namespace | undefined)?.name }
    this.#checkOwn(ns, ectx)
    checkIfName(name, ectx)
    this.#checkFreeName(ns, name, ectx)
    addresses.push(...(opts.addresses ?? []))
    if (opts.master !== undefined) {
      const m = opts.master
      if (!(m instanceof Bridge) || m.lab !== this) throw invalidInput(`'master' must be a bridge of this lab`, ectx)
      if (m.ns !== ns)
        throw invalidInput(`a port of bridge ${m.name} must be in ${m.ns.label}, not ${ns.label}`, {
          ...ectx,
          hint: 'put the bridge-side end of the veth pair in the bridge namespace',
        })
    }
    return {
      ns,
      name,
      addresses: addresses.map((a) => parseCidr(a, ectx)),
      mac: opts.mac === undefined ? undefined : checkMac(opts.mac, ectx),
      mtu: opts.mtu === undefined ? undefined : checkMtu(opts.mtu, ectx),
      alias: opts.alias === undefined ? undefined : checkAlias(opts.alias, ectx),
      up: opts.up,
      master: opts.master,
    }
  }
}

function linkAttrs(e: ParsedEnd): string {
  return `${e.mac === undefined ? '' : ` address ${e.mac}`}${e.mtu === undefined ? '' : ` mtu ${e.mtu}`}`
}

function addrLine(c: ReturnType<typeof parseCidr>, dev: string): string {
  return `addr add ${c.cidr} dev ${dev}${c.family === 6 ? ' nodad' : ''}`
}

function endLines(e: ParsedEnd): string[] {
  return [
    ...(e.alias === undefined ? [] : [`link set dev ${e.name} alias ${e.alias}`]),
    ...(e.master === undefined ? [] : [`link set dev ${e.name} master ${e.master.name}`]),
    ...e.addresses.map((c) => addrLine(c, e.name)),
    ...(e.up === false ? [] : [`link set dev ${e.name} up`]),
  ]
}

/** One sysctl to write: `net.*` key, value (checked by the caller), and whether a missing file is fine. */
export interface SysctlSetting {
  key: string
  value: string
  optional?: boolean
}

/** The default /etc files with the user's own in their place (a user's file of the same name wins). */
function mergeFiles(defaults: [string, string][], own: [string, string][]): [string, string][] {
  const names = new Set(own.map(([f]) => f))
  return [...defaults.filter(([f]) => !names.has(f)), ...own]
}

/** The settings as one `sh` script (the path without setns: containers, no koffi). */
function sysctlScript(settings: readonly SysctlSetting[], readBack = false): string {
  return settings
    .map((e) => {
      const path = sysctlPath(e.key)
      const write = e.optional === true ? `{ [ ! -e ${path} ] || echo '${e.value}' > ${path}; }` : `echo '${e.value}' > ${path}`
      return readBack ? `${write} && echo "=$(cat ${path} 2>/dev/null)"` : write
    })
    .join(' && ')
}

/** What to do about one sysctl write the kernel refused, by its errno (the kernel's answer, not a guess). */
function sysctlFailureHint(f: { key: string; value?: string; code?: string }): string {
  switch (f.code) {
    case 'ENOENT':
      return `${f.key} does not exist in a network namespace on this kernel: check its name (ls /proc/sys/net/…)`
    case 'EINVAL':
    case 'ERANGE':
      return `the kernel refused the value ${JSON.stringify(f.value)} for ${f.key} (${f.code}): it exists, the value is not one it takes (see its range in the kernel's ip-sysctl documentation)`
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return `${f.key} cannot be written from a network namespace (${f.code}): it is read-only there or needs a capability this process lacks`
    default:
      return `the kernel refused writing ${f.key}${f.code === undefined ? '' : ` (${f.code})`}`
  }
}
