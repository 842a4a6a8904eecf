// Tiny Node programs run inside lab namespaces (with this process's own node binary), so TCP/UDP probes
// and observers need nothing beyond what netspec already requires, and report exact socket errors.

/** address:port, an IPv6 address in brackets: one line both programs below include. */
const HOST_PORT = `const hostPort = (a, p) => (a.includes(':') ? '[' + a + ']' : a) + ':' + p`

/** argv: proto host port timeoutMs. Prints one JSON line: {r:'connected'|'reply'|'error'|'timeout', code?, ms, local?}. */
export const PROBE_SCRIPT = `
const [proto, host, port, timeoutMs] = process.argv.slice(1)
const t0 = performance.now()
const done = (o) => { process.stdout.write(JSON.stringify({ ...o, ms: performance.now() - t0 }) + '\\n'); process.exit(0) }
${HOST_PORT}
setTimeout(() => done({ r: 'timeout' }), Number(timeoutMs))
if (proto === 'tcp') {
  const s = require('net').connect({ host, port: Number(port) })
  s.on('connect', () => done({ r: 'connected', local: hostPort(s.localAddress, s.localPort) }))
  s.on('error', (e) => done({ r: 'error', code: e.code }))
} else {
  const s = require('dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4')
  s.on('error', (e) => done({ r: 'error', code: e.code }))
  s.on('message', (m) => done({ r: 'reply', local: hostPort(s.address().address, s.address().port), body: m.toString() }))
  s.connect(Number(port), host, () => {
    const send = () => s.send('netspec-probe', (e) => e && done({ r: 'error', code: e.code }))
    send(); setInterval(send, 250)
  })
}
`

/**
 * argv: proto port. Prints 'listening' then one JSON line per peer: {proto, address, port, local}, written
 * (synchronously: stdout is a pipe) before the peer gets any answer. TCP peers get 'netspec ADDRESS PORT',
 * netspec's UDP probe 'netspec-probe ADDRESS PORT' (how the listener saw them); other datagrams are echoed.
 */
export const LISTEN_SCRIPT = `
const [proto, port] = process.argv.slice(1)
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n')
${HOST_PORT}
process.on('SIGTERM', () => process.exit(0))
if (proto === 'tcp') {
  const srv = require('net').createServer((c) => {
    const address = c.remoteAddress.replace(/^::ffff:/, '')
    say({ proto, address, port: c.remotePort, local: hostPort(c.localAddress.replace(/^::ffff:/, ''), c.localPort) })
    c.on('error', () => {}); c.end('netspec ' + address + ' ' + c.remotePort + '\\n') // after say(): the peer is recorded first
  })
  srv.listen({ port: Number(port), host: '::', ipv6Only: false }, () => say({ listening: srv.address().port }))
} else {
  // A wildcard socket answers from the address the route to the peer picks, not from the one the datagram was
  // sent to; a connected client (netspec's probe, most UDP clients) drops such an answer. So every address the
  // namespace has when listening starts gets a socket of its own on the same port (the kernel delivers to the most
  // specific bound socket), and answers come from where the datagram went; the wildcard catches the rest.
  // The sockets share the port through SO_REUSEADDR, which would also let this listener share it silently with
  // another one (the kernel gives each datagram to the socket bound last): the port is first taken without it, so a
  // port in use fails as it does for TCP (EADDRINUSE), then handed over.
  const dgram = require('dgram')
  const bound = new Set()
  let portNo = Number(port)
  const serve = (s, local) => s.on('message', (m, r) => {
    const address = r.address.replace(/^::ffff:/, '')
    say({ proto, address, port: r.port, local: local === undefined ? '' : hostPort(local, s.address().port) })
    // netspec's own probe learns how it was seen (after say(): recorded first); anything else is echoed.
    s.send(m.toString() === 'netspec-probe' ? 'netspec-probe ' + address + ' ' + r.port : m, r.port, r.address)
    if (local === undefined) bindAll(() => {}) // an address added since: its own socket answers the next datagram
  })
  const bindAll = (done) => {
    const addrs = Object.values(require('os').networkInterfaces()).flat().filter((a) => a && !(a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80')) && !bound.has(a.address))
    let left = addrs.length
    const next = () => { if (--left <= 0) done() }
    if (left === 0) return done()
    for (const a of addrs) {
      bound.add(a.address)
      const s = dgram.createSocket({ type: a.family === 'IPv4' ? 'udp4' : 'udp6', reuseAddr: true, ...(a.family === 'IPv6' ? { ipv6Only: true } : {}) })
      s.on('error', () => { bound.delete(a.address); try { s.close() } catch {} ; next() }) // an address gone meanwhile: the wildcard serves it
      serve(s, a.address)
      s.bind(portNo, a.address, next)
    }
  }
  const probe = dgram.createSocket({ type: 'udp6', ipv6Only: false })
  probe.on('error', (e) => { process.stderr.write(String(e.message) + '\\n'); process.exit(1) })
  probe.bind(portNo, '::', () => {
    portNo = probe.address().port
    probe.close(() => {
      const any = dgram.createSocket({ type: 'udp6', ipv6Only: false, reuseAddr: true })
      serve(any)
      any.bind(portNo, '::', () => bindAll(() => say({ listening: portNo })))
    })
  })
}
`

/**
 * argv: proto host port timeoutMs koffiPath. One TCP connect or UDP exchange (netspec-probe datagrams every 250 ms)
 * from a socket with IP_RECVERR / IPV6_RECVERR set, as ping and tracepath do: when the socket fails, the ICMP error
 * behind it is read from the socket's error queue (recvmsg MSG_ERRQUEUE: struct sock_extended_err and the offender's
 * address), so the verdict can say WHO refused (the target, a router on the way, or this host) and how. libc is
 * reached through koffi (Node has no setsockopt); without it the line is {r:'unsupported'}. Prints one JSON line:
 * {r:'connected'|'reply'|'error'|'timeout'|'unsupported', code?, ms, body?, icmp?: {origin, type, code, info, from?}}.
 */
export const RECVERR_SCRIPT = `
const [proto, host, port, timeoutMs, koffiPath] = process.argv.slice(1)
const t0 = performance.now()
const done = (o) => { process.stdout.write(JSON.stringify({ ...o, ms: performance.now() - t0 }) + '\\n'); process.exit(0) }
let k
try { k = require(koffiPath) } catch (e) { done({ r: 'unsupported', why: String(e && e.message).split('\\n')[0] }) }
const c = k.load('libc.so.6')
const f = (s) => c.func(s)
const socket = f('int socket(int, int, int)')
const setsockopt = f('int setsockopt(int, int, int, const void *, uint32_t)')
const getsockopt = f('int getsockopt(int, int, int, _Out_ void *, _Inout_ void *)')
const connect = f('int connect(int, const void *, uint32_t)')
const send = f('long send(int, const void *, size_t, int)')
const recv = f('long recv(int, _Out_ void *, size_t, int)')
const recvmsg = f('long recvmsg(int, void *, int)')
const poll = f('int poll(_Inout_ void *, unsigned long, int)')
const pton = f('int inet_pton(int, const char *, _Out_ void *)')
const ntop = f('const char *inet_ntop(int, const void *, _Out_ void *, uint32_t)')
const NAMES = { 1: 'EPERM', 13: 'EACCES', 64: 'ENONET', 71: 'EPROTO', 90: 'EMSGSIZE', 92: 'ENOPROTOOPT', 95: 'EOPNOTSUPP', 101: 'ENETUNREACH', 110: 'ETIMEDOUT', 111: 'ECONNREFUSED', 112: 'EHOSTDOWN', 113: 'EHOSTUNREACH' }
const name = (e) => NAMES[e] || 'errno ' + e
const v6 = host.includes(':')
const AF = v6 ? 10 : 2
const fd = socket(AF, (proto === 'tcp' ? 1 : 2) | 0x800 | 0x80000, 0) // SOCK_NONBLOCK | SOCK_CLOEXEC
if (fd < 0) done({ r: 'error', code: name(k.errno()) })
const one = Buffer.alloc(4)
one.writeInt32LE(1)
if (setsockopt(fd, v6 ? 41 : 0, v6 ? 25 : 11, one, 4) < 0) done({ r: 'unsupported', why: 'IP_RECVERR: ' + name(k.errno()) })
const sa = Buffer.alloc(v6 ? 28 : 16)
sa.writeUInt16LE(AF, 0)
sa.writeUInt16BE(Number(port), 2)
if (pton(AF, host, sa.subarray(v6 ? 8 : 4)) !== 1) done({ r: 'error', code: 'EINVAL' })
// The ICMP error behind a failure, from the socket's error queue (struct msghdr, iovec, cmsghdr: LP64 layout).
const errqueue = () => {
  const data = Buffer.alloc(256), ctrl = Buffer.alloc(512), peer = Buffer.alloc(128), iov = Buffer.alloc(16), msg = Buffer.alloc(56)
  iov.writeBigUInt64LE(k.address(data), 0); iov.writeBigUInt64LE(BigInt(data.length), 8)
  msg.writeBigUInt64LE(k.address(peer), 0); msg.writeUInt32LE(peer.length, 8)
  msg.writeBigUInt64LE(k.address(iov), 16); msg.writeBigUInt64LE(1n, 24)
  msg.writeBigUInt64LE(k.address(ctrl), 32); msg.writeBigUInt64LE(BigInt(ctrl.length), 40)
  if (recvmsg(fd, msg, 0x2000 | 0x40) < 0) return undefined // MSG_ERRQUEUE | MSG_DONTWAIT: nothing queued
  const len = Number(msg.readBigUInt64LE(40))
  for (let off = 0; off + 16 <= len; ) {
    const clen = Number(ctrl.readBigUInt64LE(off)), level = ctrl.readInt32LE(off + 8), type = ctrl.readInt32LE(off + 12)
    if ((level === 0 && type === 11) || (level === 41 && type === 25)) {
      const ee = ctrl.subarray(off + 16)
      const out = { errno: ee.readUInt32LE(0), origin: ee[4], type: ee[5], code: ee[6], info: ee.readUInt32LE(8) }
      const fam = ee.readUInt16LE(16) // SO_EE_OFFENDER: the sockaddr right after the struct (AF_UNSPEC: none)
      if (fam === 2 || fam === 10) {
        const text = Buffer.alloc(64)
        if (ntop(fam, ee.subarray(fam === 2 ? 20 : 24), text, 64) !== null) out.from = text.toString('latin1').replace(/\\0.*$/s, '')
      }
      return out
    }
    if (clen < 16) break
    off += (clen + 7) & ~7
  }
  return undefined
}
const failed = (errno) => done({ r: 'error', code: name(errno), icmp: errqueue() })
const deadline = t0 + Number(timeoutMs)
const pfd = Buffer.alloc(8)
pfd.writeInt32LE(fd, 0)
const payload = Buffer.from('netspec-probe')
if (proto === 'tcp') {
  if (connect(fd, sa, sa.length) < 0 && k.errno() !== 115) failed(k.errno()) // EINPROGRESS: wait below
} else if (connect(fd, sa, sa.length) < 0 || send(fd, payload, payload.length, 0) < 0) failed(k.errno())
let lastSend = performance.now()
const buf = Buffer.alloc(65535)
for (;;) {
  const left = deadline - performance.now()
  if (left <= 0) done({ r: 'timeout', icmp: errqueue() })
  pfd.writeInt16LE(proto === 'tcp' ? 4 : 1, 4) // POLLOUT (connected or failed) | POLLIN (a reply)
  pfd.writeInt16LE(0, 6)
  poll(pfd, 1, Math.max(1, Math.ceil(Math.min(left, proto === 'tcp' ? left : 250 - (performance.now() - lastSend)))))
  const rev = pfd.readInt16LE(6)
  if (proto === 'tcp') {
    if (rev === 0) continue
    const e = Buffer.alloc(4), l = Buffer.alloc(4)
    l.writeUInt32LE(4)
    getsockopt(fd, 1, 4, e, l) // SO_ERROR
    if (e.readInt32LE(0) !== 0) failed(e.readInt32LE(0))
    if (rev & 4) done({ r: 'connected' })
    continue
  }
  const n = recv(fd, buf, buf.length, 0x40)
  if (n >= 0) done({ r: 'reply', body: buf.subarray(0, Number(n)).toString() })
  if (k.errno() !== 11) failed(k.errno())
  if (performance.now() - lastSend >= 250) {
    lastSend = performance.now()
    if (send(fd, payload, payload.length, 0) < 0) failed(k.errno())
  }
}
`
