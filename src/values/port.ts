// Ports and the strings that carry them ('10.0.0.2:80', '[fd00::2]:53', 'tcp://10.0.0.2:80'): one strict grammar
// for every verb that takes one (reachable/explain/natMaps targets, portForward, listen, expose, tunnels).
// A port is decimal with no sign, leading zero or white space, 1–65535 (0 only where the kernel gives it a
// meaning: "any free port" for a listener); an IPv6 address next to a port is in brackets. Anything else is
// refused with the input and the expected form: Number('080') is 80, Number(' 8') is 8, Number('0x50') is 80,
// and parseInt('80abc') is 80, so none of them is used on a user's text. Pure: no I/O.
import { isIP } from 'node:net'
import { invalidInput, type NetspecErrorContext } from '../errors.js'
import { parseAddress, type Family } from './cidr.js'
import { show } from './show.js'

export interface PortRule {
  /** Names the input in messages: 'portForward: port', 'listen: port'. */
  what: string
  /** 0 is accepted (where it means "any free port"). */
  zero?: boolean
}

const PORT_TEXT = /^(?:0|[1-9][0-9]{0,4})$/

const range = (rule: PortRule) => (rule.zero === true ? '0–65535' : '1–65535')
const form = (rule: PortRule) => `a decimal number ${range(rule)} with no sign, leading zero or white space`

/** A port given as text ('80'): decimal, no leading zero, no sign, no white space. */
export function parsePort(text: unknown, rule: PortRule, context: NetspecErrorContext = {}): number {
  const s = typeof text === 'string' ? text : String(text)
  const n = typeof text === 'string' && PORT_TEXT.test(text) ? Number(text) : NaN
  if (!Number.isInteger(n) || n > 65535 || (n === 0 && rule.zero !== true))
    throw invalidInput(`${rule.what} must be ${form(rule)}, got '${show(s)}'`, { ...context, hint: `e.g. '80'` })
  return n
}

/** A port given as a number (an option): an integer in range, nothing else (not '80', not 80.5, not NaN). */
export function checkPort(value: unknown, rule: PortRule, context: NetspecErrorContext = {}): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535 || (value === 0 && rule.zero !== true))
    throw invalidInput(`${rule.what} must be a whole number ${range(rule)}, got ${typeof value === 'string' ? `'${show(value)}'` : show(String(value))}`, {
      ...context,
      hint: 'e.g. 80 (a number, not a string)',
    })
  return value
}

export interface HostPort {
  address: string
  family: Family
  port: number
}

const HOST_PORT = /^(?:\[([^\][]*)\]|([^\][:]*)):([^:]*)$/

/** 'address:port' or '[v6]:port'; the address canonical, the port strict (parsePort). */
export function parseHostPort(text: unknown, rule: PortRule, context: NetspecErrorContext = {}): HostPort {
  const expected = "'address:port' ('172.16.0.102:80', or '[fd00::2]:80' for IPv6)"
  const m = typeof text === 'string' ? HOST_PORT.exec(text) : null
  if (m === null) throw invalidInput(`${rule.what} must be ${expected}, got '${show(String(text))}'`, { ...context, hint: 'an IPv6 address next to a port goes in brackets' })
  const { address, family } = parseAddress(m[1] ?? m[2], { ...context, hint: `${rule.what}: write it as ${expected}` })
  if ((m[1] !== undefined) !== (family === 6))
    throw invalidInput(`${rule.what} must be ${expected}, got '${show(text as string)}'`, { ...context, hint: 'brackets go around an IPv6 address, and only around one' })
  return { address, family, port: parsePort(m[3], { ...rule, what: `the port in ${rule.what}` }, context) }
}

/** The printer parseHostPort reads back: '10.0.0.2:80', '[fd00::2]:80'. */
export function formatHostPort(h: { address: string; family: Family; port: number }): string {
  return h.family === 6 ? `[${h.address}]:${h.port}` : `${h.address}:${h.port}`
}

export type Proto = 'icmp' | 'tcp' | 'udp'

export interface Endpoint {
  proto: Proto
  address: string
  family: Family
  port?: number
}

const ENDPOINT_FORM = "'10.0.0.2' (ICMP), 'tcp://10.0.0.2:80', 'udp://[fd00::2]:53' or 'icmp://10.0.0.2'"

/**
 * A reachability target as text: a bare address (ICMP), 'icmp://ADDRESS', 'tcp://ADDRESS:PORT', 'udp://ADDRESS:PORT',
 * with an IPv6 address in brackets after a scheme. Lower-case scheme, nothing after the port (no '/').
 */
export function parseEndpoint(text: unknown, context: NetspecErrorContext = {}): Endpoint {
  const refuse = (why: string, hint = `write it like ${ENDPOINT_FORM}`) =>
    invalidInput(`reachability target '${show(String(text))}' ${why}`, { ...context, hint })
  if (typeof text !== 'string') throw refuse('is not a string')
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)
  if (scheme === null) {
    if (/^\[.*\]$/.test(text)) throw refuse('has brackets but no scheme: a bare IPv6 address goes without them', "e.g. 'fd00::2' or 'tcp://[fd00::2]:80'")
    const { address, family } = parseAddress(text, { ...context, hint: `write it like ${ENDPOINT_FORM}` })
    return { proto: 'icmp', address, family }
  }
  const proto = scheme[1]!
  if (proto !== 'icmp' && proto !== 'tcp' && proto !== 'udp') throw refuse(`has the scheme '${show(proto)}': only icmp, tcp and udp (lower case) are known`)
  const rest = text.slice(scheme[0].length)
  if (!rest.startsWith('[') && rest.split(':').length > 2 && isIP(rest.split(':')[0]!) === 4) throw refuse('has more than one port')
  if (!rest.startsWith('[') && rest.split(':').length > 2)
    throw refuse('has an IPv6 address without brackets after the scheme', `e.g. '${proto}://[fd00::2]${proto === 'icmp' ? '' : ':80'}'`)
  const m = /^(?:\[([^\][]*)\]|([^\][:/]*))(?::([^/]*))?$/.exec(rest)
  if (m === null) throw refuse(`is not ${proto}://ADDRESS${proto === 'icmp' ? '' : ':PORT'} (an IPv6 address in brackets, nothing after the port)`)
  const { address, family } = parseAddress(m[1] ?? m[2], { ...context, hint: `write it like ${ENDPOINT_FORM}` })
  if (m[1] !== undefined && family === 4) throw refuse('has an IPv4 address in brackets: brackets go around an IPv6 address only', `e.g. '${proto}://${address}${proto === 'icmp' ? '' : ':80'}'`)
  if (proto === 'icmp') {
    if (m[3] !== undefined) throw refuse('has a port, but ICMP has no ports', "use 'tcp://…' or 'udp://…'")
    return { proto, address, family }
  }
  if (m[3] === undefined) throw refuse(`needs a port: ${proto}://ADDRESS:PORT`, `e.g. '${formatEndpoint({ proto, address, family, port: 80 })}'`)
  return { proto, address, family, port: parsePort(m[3], { what: `the port of ${proto} target '${show(text)}'` }, context) }
}

/** The printer parseEndpoint reads back: '10.0.0.2', 'tcp://10.0.0.2:80', 'udp://[fd00::2]:53'. */
export function formatEndpoint(e: Endpoint): string {
  if (e.proto === 'icmp' || e.port === undefined) return e.address
  return `${e.proto}://${formatHostPort({ address: e.address, family: e.family, port: e.port })}`
}
