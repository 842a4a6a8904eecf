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
  const s = require('dgram').createSocket({ type: 'udp6', ipv6Only: false })
  s.on('message', (m, r) => {
    const address = r.address.replace(/^::ffff:/, '')
    say({ proto, address, port: r.port, local: '' })
    // netspec's own probe learns how it was seen (after say(): recorded first); anything else is echoed.
    s.send(m.toString() === 'netspec-probe' ? 'netspec-probe ' + address + ' ' + r.port : m, r.port, r.address)
  })
  s.bind(Number(port), '::', () => say({ listening: s.address().port }))
}
`
