// An observer server inside a lab namespace: it accepts (TCP) or echoes (UDP) and records who came, from
// which address and port. That is what proves NAT: the address a real peer saw, not a rule string.
import { NetspecError, invalidInput, isNetspecError } from '../errors.js'
import type { SpawnedProcess } from '../exec/index.js'
import type { Namespace } from '../lab/namespace.js'
import { checkPort } from '../values/port.js'
import { LISTEN_SCRIPT } from './scripts.js'
import { namespaceOwning } from './owners.js'

export interface Peer {
  proto: 'tcp' | 'udp'
  /** The source address the server saw. */
  address: string
  port: number
  /** Local address:port the connection arrived at (TCP); an IPv6 address in brackets: '[fd00:12::2]:80'. */
  local: string
}

export interface Listener {
  readonly ns: Namespace
  readonly proto: 'tcp' | 'udp'
  readonly port: number
  /** Everyone who connected (TCP) or sent a datagram (UDP) so far. */
  peers(): Peer[]
  /** Waits until at least `count` peers were seen (default 1). */
  waitForPeers(count?: number, timeoutMs?: number): Promise<Peer[]>
  stop(): Promise<void>
}

// Running listeners, so that reachable() can wait until the one it reached has recorded the peer.
interface LiveListener {
  ns: Namespace
  proto: 'tcp' | 'udp'
  port: number
  proc: SpawnedProcess
}
const live = new Set<LiveListener>()
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Is a listener of this lab at `address`:`port` (its namespace holds the address)? Then its TCP greeting can be read. */
export async function listenerAt(from: Namespace, proto: 'tcp' | 'udp', address: string, port: number): Promise<boolean> {
  const candidates = [...live].filter((l) => l.ns.lab === from.lab && l.proto === proto && l.port === port && l.proc.running)
  if (candidates.length === 0) return false
  return (await namespaceOwning(candidates.map((c) => c.ns), address)) !== undefined
}

/**
 * Waits until a listener of this lab has recorded the peer it told the probe it saw (`seen`: address and
 * port from its greeting or reply, so also through NAT). Its line was written before that answer, so it is
 * already in the pipe: this waits for the pipe, not for the network. Resolves false after `timeoutMs`.
 */
export async function recorded(from: Namespace, proto: 'tcp' | 'udp', seen: { address: string; port: number }, timeoutMs: number): Promise<boolean> {
  const candidates = [...live].filter((l) => l.ns.lab === from.lab && l.proto === proto && l.proc.running)
  if (candidates.length === 0) return false
  const line = new RegExp(`"address":"${escape(seen.address)}","port":${seen.port},`)
  const waits = candidates.map((c) => c.proc.waitForOutput(line, { timeoutMs, stream: 'stdout' }).then(() => true))
  return Promise.any(waits).catch(() => false)
}

export async function listen(ns: Namespace, port: number, options: { proto?: 'tcp' | 'udp' } = {}): Promise<Listener> {
  const proto = options.proto ?? 'tcp'
  if (proto !== 'tcp' && proto !== 'udp') throw invalidInput(`listen: proto must be 'tcp' or 'udp', got '${String(proto)}'`)
  checkPort(port, { what: 'listen: port', zero: true }, { namespace: ns.label }) // 0: the kernel picks a free port
  const proc: SpawnedProcess = await ns
    .spawn([process.execPath, '-e', LISTEN_SCRIPT, proto, String(port)], { ready: /"listening":\d+/, readyTimeoutMs: 10_000 })
    .catch((e: unknown) => {
      // The kernel's refusal, said first: another socket holds the port (a listener of netspec's or anyone's).
      if (isNetspecError(e) && (e.output ?? []).some((l) => /EADDRINUSE/.test(l)))
        throw new NetspecError('command-failed', `listen: port ${port}/${proto} is in use in ${ns.label} (EADDRINUSE): another socket holds it`, {
          namespace: ns.label,
          netns: ns.name,
          command: e.command,
          output: e.output,
          hint: `stop what listens there first (ip netns exec ${ns.name} ss -${proto === 'tcp' ? 't' : 'u'}lnp 'sport = :${port}' shows it), or listen on another port`,
          cause: e,
        })
      throw e
    })
  const bound = Number(/"listening":(\d+)/.exec(proc.stdout())?.[1])
  const entry: LiveListener = { ns, proto, port: bound, proc }
  live.add(entry)
  void proc.exited.then(() => live.delete(entry))
  const peers = (): Peer[] =>
    proc
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{"proto"'))
      .map((l) => JSON.parse(l) as Peer)
  return {
    ns,
    proto,
    port: bound,
    peers,
    async waitForPeers(count = 1, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs
      while (peers().length < count) {
        if (Date.now() > until || !proc.running)
          throw new NetspecError('timed-out', `listener ${proto}/${bound} in ${ns.label} saw ${peers().length} of ${count} peers`, {
            namespace: ns.label,
            netns: ns.name,
          })
        await new Promise((r) => setTimeout(r, 10))
      }
      return peers()
    },
    async stop() {
      await proc.stop({ graceMs: 500 })
    },
  }
}
