// Addresses and prefixes as plain values: parse (refusing anything ambiguous), print in the form `ip` prints.
import { isIP } from 'node:net'
import { invalidInput, type NetspecErrorContext } from '../errors.js'
import { canonicalV6, expandV6 } from './address.js'
import { show } from './show.js'

export type Family = 4 | 6

export interface ParsedCidr {
  address: string
  prefixLength: number
  family: Family
  /** `address/prefixLength` in canonical form. */
  cidr: string
}

// Node's isIP() accepts an IPv6 zone ('fe80::1%eth0'); a zone is not part of an address netspec can give the
// kernel (ip would drop it or read it as a device), so it is refused rather than silently lost.
function ipFamily(text: string): 0 | Family {
  if (text.includes('%')) return 0
  return isIP(text) as 0 | Family
}

/** An interface address: `10.0.12.1/24` or `fd00::1/64`. */
export function parseCidr(text: unknown, context: NetspecErrorContext = {}): ParsedCidr {
  if (typeof text !== 'string')
    throw invalidInput(`address must be a string like '10.0.12.1/24', got ${show(JSON.stringify(text))}`, context)
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(text.trim())
  const family = m === null ? 0 : ipFamily(m[1]!)
  if (m === null || family === 0) {
    const bare = ipFamily(text.trim())
    throw invalidInput(`'${show(text)}' is not an address with a prefix length (CIDR)`, {
      ...context,
      hint: bare !== 0 ? `add the prefix length, e.g. '${text.trim()}/${bare === 4 ? 24 : 64}'` : "write it like '10.0.12.1/24' or 'fd00::1/64'",
    })
  }
  const prefixLength = Number(m[2])
  const max = family === 4 ? 32 : 128
  if (prefixLength > max)
    throw invalidInput(`'${show(text)}': prefix length ${prefixLength} is over ${max} for IPv${family}`, { ...context, hint: `use a prefix length from 0 to ${max}` })
  const address = family === 6 ? canonicalV6(m[1]!) : m[1]!
  return { address, prefixLength, family, cidr: `${address}/${prefixLength}` }
}

/** A bare address (a route's gateway, a ping target). */
export function parseAddress(text: unknown, context: NetspecErrorContext = {}): { address: string; family: Family } {
  const family = typeof text === 'string' ? ipFamily(text) : 0
  if (family === 0)
    throw invalidInput(`'${show(text)}' is not an IP address`, {
      ...context,
      hint: typeof text === 'string' && text.includes('/') ? 'give the address without a prefix length here' : "write it like '10.0.12.1' or 'fd00::1'",
    })
  return { address: family === 6 ? canonicalV6(text as string) : (text as string), family }
}

/** A route destination: 'default', a prefix, or a host address. */
export function parseDestination(text: unknown, context: NetspecErrorContext = {}): { dst: string; family?: Family } {
  if (text === 'default') return { dst: 'default' }
  if (typeof text === 'string' && !text.includes('/')) {
    const a = parseAddress(text, context)
    return { dst: a.address, family: a.family }
  }
  const c = parseCidr(text, context)
  return { dst: `${networkOf(c)}/${c.prefixLength}`, family: c.family }
}

/** The network address of a CIDR (host bits cleared), as the kernel prints it in routes. */
export function networkOf(c: ParsedCidr): string {
  const bits = toBits(c.address, c.family)
  const width = c.family === 4 ? 32n : 128n
  const mask = ((1n << width) - 1n) ^ ((1n << (width - BigInt(c.prefixLength))) - 1n)
  return fromBits(bits & mask, c.family)
}

export function sameSubnet(a: ParsedCidr, address: string): boolean {
  const fam = isIP(address)
  if (fam !== a.family) return false
  const width = a.family === 4 ? 32n : 128n
  const mask = ((1n << width) - 1n) ^ ((1n << (width - BigInt(a.prefixLength))) - 1n)
  return (toBits(a.address, a.family) & mask) === (toBits(address, a.family) & mask)
}

export function toBits(address: string, family: Family): bigint {
  if (family === 4) return address.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n)
  const full = expandV6(address)
  return full.reduce((acc, h) => (acc << 16n) | BigInt(parseInt(h, 16)), 0n)
}

function fromBits(bits: bigint, family: Family): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((bits >> s) & 255n)).join('.')
  const groups: string[] = []
  for (let i = 7n; i >= 0n; i--) groups.push(((bits >> (i * 16n)) & 0xffffn).toString(16))
  return canonicalV6(groups.join(':'))
}
