// The one packet explain() sends and traces: an ICMP echo with its own identifier, or a TCP SYN / UDP datagram
// from its own source port, so the trace rules can match it and nothing else in the lab.
import { randomInt } from 'node:crypto'
import type { Target } from '../assert/target.js'

export interface Probe {
  target: Target
  /** ICMP echo identifier (icmp) or source port (tcp, udp). */
  marker: number
}

export function makeProbe(target: Target): Probe {
  // Source ports above the kernel's default ephemeral range (32768–60999), so no connection already holds one.
  return { target, marker: target.proto === 'icmp' ? randomInt(1, 65536) : randomInt(61000, 65536) }
}

/** The nft match selecting the probe's packets on their way out (not the replies). */
export function probeMatch(p: Probe): string {
  if (p.target.proto !== 'icmp') return `meta l4proto ${p.target.proto} th sport ${p.marker}`
  return p.target.family === 6 ? `icmpv6 type echo-request icmpv6 id ${p.marker}` : `icmp type echo-request icmp id ${p.marker}`
}

/** Whether a traced packet's header fields (as nft prints them) are the probe's. */
export function isProbePacket(p: Probe, fields: string): boolean {
  if (p.target.proto === 'icmp') return echoId(fields) === p.marker
  return new RegExp(`(^| )${p.target.proto} sport ${p.marker}( |$)`).test(fields)
}

/**
 * The echo identifier in a traced packet's fields. nft 1.0.6 prints an ICMPv6 echo's id and sequence as one
 * 32-bit "icmpv6 parameter-problem N" (the union in the header), so the id is its upper half.
 */
export function echoId(fields: string): number | undefined {
  const id = /(?:^| )icmp(?:v6)? id (\d+)(?: |$)/.exec(fields)
  if (id !== null) return Number(id[1])
  const pp = /(?:^| )icmpv6 type echo-request .*?icmpv6 parameter-problem (\d+)(?: |$)/.exec(fields)
  return pp === null ? undefined : Number(pp[1]) >>> 16
}

/** The command that sends the probe from inside the source namespace and waits up to `waitMs` for an answer. */
export function probeCommand(p: Probe, waitMs: number): string[] {
  const t = p.target
  if (t.proto === 'icmp') {
    return ['ping', ...(t.family === 6 ? ['-6'] : ['-4']), '-n', '-c1', '-W', (waitMs / 1000).toFixed(2), '-e', String(p.marker), t.address]
  }
  return [process.execPath, '-e', SEND_SCRIPT, t.proto, t.address, String(t.port), String(p.marker), String(waitMs)]
}

/** argv: proto host port sourcePort waitMs. Prints one JSON line: {r:'connected'|'reply'|'error'|'timeout', code?}. */
const SEND_SCRIPT = `
const [proto, host, port, sport, waitMs] = process.argv.slice(1)
const done = (o) => { process.stdout.write(JSON.stringify(o) + '\\n'); process.exit(0) }
setTimeout(() => done({ r: 'timeout' }), Number(waitMs))
if (proto === 'tcp') {
  const s = require('net').connect({ host, port: Number(port), localPort: Number(sport) })
  s.on('connect', () => done({ r: 'connected' }))
  s.on('error', (e) => done({ r: 'error', code: e.code }))
} else {
  const s = require('dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4')
  s.on('error', (e) => done({ r: 'error', code: e.code }))
  s.on('message', () => done({ r: 'reply' }))
  s.bind(Number(sport), () => s.connect(Number(port), host, () => s.send('netspec-explain', (e) => e && done({ r: 'error', code: e.code }))))
}
`

/** Whether the probe's output says an answer came back (echo reply, TCP connect or RST, UDP reply or port unreachable). */
export function answered(p: Probe, exitCode: number, stdout: string): { answered: boolean; what: string } {
  if (p.target.proto === 'icmp') {
    if (exitCode === 0) return { answered: true, what: 'echo reply' }
    const err = /From (\S+) icmp_seq=\d+ (.+)/.exec(stdout)
    return { answered: false, what: err === null ? 'no echo reply' : `${err[1]}: ${err[2]}` }
  }
  let r: { r?: string; code?: string } = {}
  try {
    r = JSON.parse(stdout.trim().split('\n').pop() ?? '') as typeof r
  } catch {
    return { answered: false, what: 'the probe did not report' }
  }
  if (r.r === 'connected') return { answered: true, what: 'TCP connected' }
  if (r.r === 'reply') return { answered: true, what: 'UDP reply' }
  if (r.code === 'ECONNREFUSED') return { answered: true, what: p.target.proto === 'tcp' ? 'TCP reset' : 'ICMP port unreachable' }
  return { answered: false, what: r.code ?? 'no answer' }
}
