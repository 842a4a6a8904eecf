// lab.expose(ns, port): a lab service reachable from this machine's own tools (a browser, curl, Playwright)
// at http://127.0.0.1:<free port>, through a user-space TCP proxy. The proxy listens on 127.0.0.1 in the
// namespace this process runs in; each upstream connection is opened inside the lab namespace. Nothing in
// that namespace's routes, addresses or firewall changes. Closed at teardown (or by close()).
//
// Two ways to open the upstream connection:
// - in-process: the socket is created with the thread inside the lab namespace (setns, socket(), back: no
//   await in between), then handed to Node, which connects it. A socket belongs to the namespace it was
//   created in, so the connection goes where the lab's routes say.
// - relay: without in-process namespace entry, a small Node process in the namespace listens on a Unix
//   socket in the lab's temp directory (a path, so both namespaces see it) and connects there for each client.
import { rmSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { invalidInput, NetspecError } from '../errors.js'
import type { SpawnedProcess } from '../exec/index.js'
import { libc, AF_INET, AF_INET6, SOCK_CLOEXEC } from '../kernel/netlink/ffi.js'
import { canEnterNamespaces, withNamespace } from '../kernel/setns.js'
import type { Namespace } from '../lab/namespace.js'
import { parseAddress } from '../values/cidr.js'
import { show } from '../values/show.js'
import { checkPort } from '../values/port.js'

const SOCK_STREAM = 1

export interface ExposeOptions {
  /** The address inside the namespace to connect to (default 127.0.0.1: a service listening on its loopback or on any address). */
  host?: string
  /** 'auto' (default): in-process where the thread can enter namespaces, else the relay process. */
  via?: 'auto' | 'in-process' | 'relay'
}

export interface Exposed {
  /** http://127.0.0.1:<port> */
  readonly url: string
  /** The free port on 127.0.0.1 of this machine. */
  readonly port: number
  /** Where it leads: namespace label, host and port inside it. */
  readonly target: { namespace: string; host: string; port: number }
  /** Stops listening and closes every connection (teardown does it too). */
  close(): Promise<void>
}

/** The relay: argv socketPath host port. Prints 'ready' once it listens. */
const RELAY_SCRIPT = `
const net = require('net'); const [path, host, port] = process.argv.slice(1)
process.on('SIGTERM', () => process.exit(0))
net.createServer((c) => {
  const u = net.connect({ host, port: Number(port) })
  c.pipe(u); u.pipe(c)
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy())
}).listen(path, () => console.log('ready'))
`

let counter = 0

export async function expose(ns: Namespace, port: number, options: ExposeOptions = {}): Promise<Exposed> {
  checkPort(port, { what: 'expose: port' }, { namespace: ns.label })
  // A bare address (no IPv6 zone: '%eth0' would pick a device), canonical, before it reaches the relay's argv.
  const given: unknown = options.host ?? '127.0.0.1'
  if (typeof given !== 'string' || net.isIP(given) === 0 || given.includes('%'))
    throw invalidInput(`expose: host must be an IP address inside ${ns.label} (no IPv6 zone), got ${show(JSON.stringify(given) ?? String(given))}`, { namespace: ns.label, hint: "e.g. '127.0.0.1' or '::1'" })
  const host = parseAddress(given, { namespace: ns.label }).address
  const family = net.isIP(host)
  const lab = ns.lab
  lab.assertAlive(ns)
  await lab.settle()
  const inProcess = lab.executor.kind === 'local' && canEnterNamespaces() && libc() !== undefined
  const via = options.via === undefined || options.via === 'auto' ? (inProcess ? 'in-process' : 'relay') : options.via
  if (via === 'in-process' && !inProcess)
    throw new NetspecError('unsupported', `expose: this process cannot enter ${ns.label} in-process`, { namespace: ns.label, hint: "use { via: 'relay' }" })
  if (lab.executor.kind !== 'local')
    throw new NetspecError('unsupported', `expose needs the local executor (this lab uses '${lab.executor.kind}')`, {
      namespace: ns.label,
      hint: 'a lab inside a runner container is not reachable from this machine; expose services of labs that run on the host',
    })

  let relay: SpawnedProcess | undefined
  let relayPath: string | undefined
  if (via === 'relay') {
    // In the lab's temp directory (0700, named in its marker before it is made): an owner killed with the relay
    // running leaves no socket behind, the reaper and sweep remove the directory with the lab.
    relayPath = join(await lab.tempDir(), `expose-${++counter}.sock`)
    if (Buffer.byteLength(relayPath) > 107)
      throw new NetspecError('unsupported', `expose: the relay socket path ${relayPath} is longer than a Unix socket path may be (107 bytes)`, {
        namespace: ns.label,
        hint: 'set TMPDIR to a shorter directory (the lab temp directory is made there)',
      })
    relay = await ns.spawn([process.execPath, '-e', RELAY_SCRIPT, relayPath, host, String(port)], { ready: /^ready$/m, readyTimeoutMs: 10_000 })
  }

  // One upstream connection, opened inside the lab namespace.
  const upstream = (): net.Socket => {
    if (relayPath !== undefined) return net.connect(relayPath)
    const c = libc()!
    const fd = withNamespace(ns.name, () => c.socket(family === 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) as number
    if (fd < 0) throw new Error(`socket() in ${ns.label} failed: ${c.strerror(c.errno())}`)
    return new net.Socket({ fd, readable: true, writable: true }).connect(port, host)
  }

  const open = new Set<net.Socket>()
  const server = net.createServer((client) => {
    let up: net.Socket
    try {
      up = upstream()
    } catch {
      client.destroy()
      return
    }
    for (const s of [client, up]) {
      open.add(s)
      s.on('close', () => open.delete(s))
    }
    client.pipe(up)
    up.pipe(client)
    client.on('error', () => up.destroy())
    up.on('error', () => client.destroy())
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve())
  })
  const bound = (server.address() as net.AddressInfo).port

  let closing: Promise<void> | undefined
  const close = () =>
    (closing ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of open) s.destroy()
      })
      await relay?.stop({ graceMs: 500 })
      if (relayPath !== undefined) rmSync(relayPath, { force: true })
    })())
  lab.defer(close, `closing 127.0.0.1:${bound} (exposed ${ns.label} ${host}:${port})`)
  return { url: `http://127.0.0.1:${bound}`, port: bound, target: { namespace: ns.label, host, port }, close }
}
