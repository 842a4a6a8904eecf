// The drop watcher: one long-lived bpftrace process per test process, started on first need and shared by
// every lab of that process. It prints each packet the kernel drops (tracepoint skb:kfree_skb: netns inode,
// drop reason, kernel function, packet header); this side keeps only drops in namespaces a lab watches.
//
// Why bpftrace and not a BPF program loaded in-process: docs/drops.md (measured). Why a direct spawn and not the
// executor: like the reaper, it is a machine-level helper of this process, not a command in a lab.
//
// Safety, the way the reaper does it:
// - It never outlives its owner: `setpriv --pdeathsig KILL` makes the kernel SIGKILL it when the owner dies
//   (SIGKILL and OOM included), and the wrapper refuses to start if the owner died before that was set.
// - It never changes the machine: tracefs, where it is not mounted, is mounted in a private mount namespace of its
//   own (`unshare --mount --propagation private`), which goes away with it; it only reads the root network namespace.
// - Attribution is exact: a namespace's inode is read from an fd held open while the lab watches it, so the
//   number cannot be given to another (new) namespace meanwhile (nsfs reuses inode numbers at once).
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, closeSync, constants, existsSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { createInterface } from 'node:readline'
import { EventEmitter } from 'node:events'
import { connect } from 'node:net'
import { PassThrough } from 'node:stream'
import { bpftraceProgram, parseDropLine, type DroppedPacket } from './program.js'
import { parseReasons } from './reasons.js'

/** One packet the kernel dropped in a watched namespace. */
export interface DropEvent {
  /** When this process read it (performance.now()). */
  at: number
  inode: number
  /** Kernel name of the namespace (e.g. ns-4711-3-gw). */
  netns: string
  /** The enum skb_drop_reason name, e.g. 'IP_RPFILTER' (or 'REASON_<n>' when the kernel does not name it). */
  reason: string
  reasonCode: number
  /** The kernel function that freed it (ksym of the tracepoint's location), e.g. 'ip_rcv_finish_core'. */
  function: string
  ifindex: number
  packet?: DroppedPacket
}

export type DropsSupport = { on: true } | { on: false; why: string; fix?: string }

/** bpftrace compiles its program with LLVM at start: ~0.8 s on an idle 2-core machine, seen up to ~4 s under load. */
const START_LIMIT_MS = 20_000

const dropsOff = (env: NodeJS.ProcessEnv) => /^(off|0|false|no)$/i.test(env.NETSPEC_DROPS ?? '')

const TRACEFS = '/sys/kernel/tracing'
const FORMAT = `${TRACEFS}/events/skb/kfree_skb/format`

function onPath(tool: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const p = join(dir, tool)
    try {
      accessSync(p, constants.X_OK)
      if (statSync(p).isFile()) return p
    } catch {
      // not here
    }
  }
  return undefined
}

/**
 * Whether drop reasons can be on here, from what can be seen without starting anything (NETSPEC_DROPS=off, root,
 * bpftrace, BTF, tracefs). Whether the kernel lets bpftrace attach is known only when it starts (doctor tries it).
 */
export function dropsSupport(env: NodeJS.ProcessEnv = process.env): DropsSupport {
  if (dropsOff(env)) return { on: false, why: 'turned off (NETSPEC_DROPS=off)', fix: 'unset NETSPEC_DROPS' }
  if (process.platform !== 'linux') return { on: false, why: 'not Linux' }
  if (process.getuid?.() !== 0) return { on: false, why: 'not root (bpftrace needs CAP_BPF and CAP_PERFMON)', fix: 'run as root' }
  for (const [tool, pkg] of [['bpftrace', 'bpftrace'], ['setpriv', 'util-linux'], ['unshare', 'util-linux']] as const) {
    if (onPath(tool, env) === undefined) return { on: false, why: `no ${tool} on PATH`, fix: `apt-get install -y ${pkg}` }
  }
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    return { on: false, why: 'the kernel has no BTF (/sys/kernel/btf/vmlinux): bpftrace cannot read struct sk_buff', fix: 'a kernel built with CONFIG_DEBUG_INFO_BTF=y' }
  }
  if (!existsSync(FORMAT)) {
    let fs = ''
    try {
      fs = readFileSync('/proc/filesystems', 'utf8')
    } catch {
      // unreadable: say so below
    }
    if (!/\ttracefs\n/.test(fs)) return { on: false, why: 'tracefs is not mounted and the kernel does not offer it (/proc/filesystems)', fix: 'a kernel with CONFIG_TRACING' }
  }
  return { on: true }
}

// argv: $1 the owner's pid, $2 the bpftrace program. The kernel kills us with the owner (pdeathsig, set by
// setpriv before this runs); if the owner died before that, our parent is no longer the owner: exit.
const WRAPPER = `read -r _ _ _ parent _ < /proc/$$/stat
[ "$parent" = "$1" ] || exit 3
t=${TRACEFS}
[ -e $t/events/skb/kfree_skb/format ] || mount -t tracefs nodev $t || exit 4
grep '^print fmt' $t/events/skb/kfree_skb/format || { echo "skb:kfree_skb has no print fmt" >&2; exit 5; }
exec bpftrace -B line -e "$2"`

/** bpftrace under its wrapper, owned by this process (the kernel kills it when this process dies). */
export function spawnBpftrace(env: NodeJS.ProcessEnv): ChildProcess {
  const own = statSync('/proc/self/ns/net').ino
  return spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', WRAPPER, 'netspec-drops', String(process.pid), bpftraceProgram(own)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: '/',
    env: { PATH: env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
  })
}

/** What the watcher needs of its bpftrace: its own child process, or the run's hub (src/drops/hub.ts) over a socket. */
type BpftraceSource = Pick<ChildProcess, 'pid' | 'stdout' | 'stderr' | 'exitCode' | 'signalCode' | 'unref' | 'kill' | 'on'>

/**
 * The lines of the run's one bpftrace (started by Vitest's global setup, src/drops/hub.ts) instead of a process of
 * our own: the same protocol (print fmt, ready, D lines), plus 'E <why>' before the hub closes. When it closes,
 * this "process" exits, and checks are decided as before.
 */
function hubClient(path: string): BpftraceSource {
  const events = new EventEmitter()
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const sock = connect(path)
  const state = { exitCode: null as number | null }
  sock.on('error', (e) => stderr.write(`cannot reach the run's drop watcher at ${path}: ${e.message}\n`))
  sock.on('close', () => {
    state.exitCode = 1
    stdout.end()
    events.emit('exit', 1, null)
  })
  createInterface({ input: sock }).on('line', (line) => {
    if (line.startsWith('E ')) stderr.write(`${line.slice(2)}\n`)
    else stdout.write(`${line}\n`)
    if (line === 'ready') sock.unref() // as the watcher's own process: never keeps this one alive once running
  })
  return {
    pid: undefined,
    stdout: stdout as unknown as ChildProcess['stdout'],
    stderr: stderr as unknown as ChildProcess['stderr'],
    get exitCode() {
      return state.exitCode
    },
    signalCode: null,
    unref: () => {}, // only once ready (above)
    kill: () => {
      sock.destroy()
      return true
    },
    on: ((name: string, fn: (...a: unknown[]) => void) => {
      events.on(name, fn)
      return undefined as unknown as ChildProcess
    }) as ChildProcess['on'],
  }
}

interface Held {
  fd: number
  netns: string
  users: number
}

export class DropWatcher {
  /** Resolves true once bpftrace has attached (events flow from then on), false if it could not start. */
  readonly ready: Promise<boolean>
  /** Why it stopped or could not start (bpftrace's own words). */
  failure: string | undefined
  readonly pid: number | undefined
  /** How long spawning took in this process, and until bpftrace had attached (ms). */
  readonly spawnMs: number
  startupMs: number | undefined
  readonly #child: BpftraceSource
  #reasons = new Map<number, string>()
  readonly #listeners = new Set<(d: DropEvent) => void>()
  readonly #byInode = new Map<number, Held>()
  readonly #byName = new Map<string, number>()
  #stderr = ''

  constructor(env: NodeJS.ProcessEnv = process.env) {
    const started = performance.now()
    const hub = env.NETSPEC_DROPS_HUB
    this.#child = hub !== undefined && hub !== '' ? hubClient(hub) : spawnBpftrace(env)
    this.pid = this.#child.pid
    this.spawnMs = performance.now() - started
    // Never keeps this process alive, except while someone awaits its start (else Node would exit mid-await).
    this.#child.unref()
    const unref = () => {
      for (const s of [this.#child.stdout, this.#child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.()
    }
    this.#child.stderr!.setEncoding('utf8')
    this.#child.stderr!.on('data', (s: string) => {
      // bpftrace warns that it cannot raise RLIMIT_MEMLOCK; newer kernels account BPF memory without it.
      this.#stderr = (this.#stderr + s.split('\n').filter((l) => !/RLIMIT_MEMLOCK/.test(l)).join('\n')).slice(-4000)
    })
    this.ready = new Promise<boolean>((resolve) => {
      const lines = createInterface({ input: this.#child.stdout! })
      lines.on('line', (line) => {
        if (line.startsWith('D ')) return this.#dispatch(line)
        if (line.startsWith('print fmt')) this.#reasons = parseReasons(line)
        else if (line === 'ready') {
          this.startupMs = performance.now() - started
          clearTimeout(tooSlow)
          unref()
          resolve(true)
        }
      })
      const tooSlow = setTimeout(() => {
        this.failure = `bpftrace did not attach within ${START_LIMIT_MS / 1000} s`
        this.#child.kill('SIGKILL')
      }, START_LIMIT_MS)
      tooSlow.unref()
      this.#child.on('error', (e) => {
        this.failure = `cannot start bpftrace: ${e.message}`
        resolve(false)
      })
      this.#child.on('exit', (code, signal) => {
        const words = this.#stderr.trim().split('\n').filter(Boolean).slice(-3).join(' / ')
        this.failure ??= `bpftrace exited (${signal ?? `code ${code}`})${words === '' ? '' : `: ${words}`}`
        clearTimeout(tooSlow)
        unref()
        resolve(false)
      })
    })
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null && this.failure === undefined
  }

  /** The reason numbers the running kernel names (from the tracepoint's format). */
  get reasons(): ReadonlyMap<number, string> {
    return this.#reasons
  }

  /**
   * Watches a namespace by its kernel name: its inode, read from an fd held until unwatch(). Returns the inode,
   * or undefined when it cannot be opened (gone already).
   */
  watch(netns: string): number | undefined {
    const known = this.#byName.get(netns)
    if (known !== undefined) {
      this.#byInode.get(known)!.users += 1
      return known
    }
    let fd: number
    try {
      fd = openSync(`/run/netns/${netns}`, 'r')
    } catch {
      return undefined
    }
    const inode = fstatSync(fd).ino
    this.#byInode.set(inode, { fd, netns, users: 1 })
    this.#byName.set(netns, inode)
    return inode
  }

  unwatch(netns: string): void {
    const inode = this.#byName.get(netns)
    if (inode === undefined) return
    const h = this.#byInode.get(inode)!
    if (--h.users > 0) return
    this.#byInode.delete(inode)
    this.#byName.delete(netns)
    closeSync(h.fd)
  }

  /** Calls `fn` for every drop in a watched namespace until the returned function is called. */
  subscribe(fn: (d: DropEvent) => void): () => void {
    this.#listeners.add(fn)
    return () => this.#listeners.delete(fn)
  }

  /** Stops bpftrace (tests; the kernel stops it anyway when this process exits). */
  stop(): void {
    this.#child.kill('SIGKILL')
  }

  /**
   * How late drops reach this process now (ms from the kernel's drop to this line): the largest delay of the last
   * few lines, whichever namespace they were in, decaying when lines stop coming. bpftrace reads its buffers on a
   * timer and a loaded machine delays it further (seen: ~440 ms at load 10), so a check that heard nothing waits this
   * long for a drop before it calls the silence silence.
   */
  get deliveryMs(): number {
    const idle = this.#lastLineAt === undefined ? 0 : performance.now() - this.#lastLineAt
    return Math.max(0, this.#latencyMs - idle / 10)
  }
  #latencyMs = 0
  #lastLineAt: number | undefined

  #dispatch(line: string): void {
    const raw = parseDropLine(line)
    if (raw === undefined) return
    if (raw.nsecs !== undefined) {
      const late = Number(process.hrtime.bigint() - raw.nsecs) / 1e6
      if (late >= 0 && late < 60_000) this.#latencyMs = Math.max(late, this.deliveryMs * 0.9)
      this.#lastLineAt = performance.now()
    }
    if (this.#listeners.size === 0) return
    const held = this.#byInode.get(raw.inode)
    if (held === undefined) return
    const d: DropEvent = { at: performance.now(), netns: held.netns, reason: this.#reasons.get(raw.reasonCode) ?? `REASON_${raw.reasonCode}`, ...raw }
    for (const fn of this.#listeners) fn(d)
  }
}

let current: DropWatcher | undefined

/** This process's drop watcher, started on first call; undefined when drop reasons are off here (dropsSupport). */
export function dropWatcher(env: NodeJS.ProcessEnv = process.env): DropWatcher | undefined {
  if (dropsOff(env)) return undefined
  if (current !== undefined) return current.failure === undefined ? current : undefined
  if (!dropsSupport(env).on) return undefined
  current = new DropWatcher(env)
  return current
}

/** This process's drop watcher if one was started and has not failed; never starts one. */
export function startedDropWatcher(env: NodeJS.ProcessEnv = process.env): DropWatcher | undefined {
  return dropsOff(env) || current?.failure !== undefined ? undefined : current
}

/** The watcher if one was started (whether or not it runs). */
export function dropWatcherInfo(): { pid?: number; running: boolean; failure?: string; startupMs?: number } | undefined {
  return current === undefined ? undefined : { pid: current.pid, running: current.running, failure: current.failure, startupMs: current.startupMs }
}
