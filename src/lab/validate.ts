// Input checks that run before anything touches the kernel. Pure functions: unit-tested without root.
import { isIP } from 'node:net'
import { canonicalV6, expandV6 } from '../kernel/address.js'
import { invalidInput, type NetspecErrorContext } from '../errors.js'
import type { Family } from '../kernel/types.js'

export const IFNAMSIZ = 16 // the kernel's buffer, including the terminating NUL: 15 usable bytes

export function checkIfName(name: unknown, context: NetspecErrorContext = {}): string {
  if (typeof name !== 'string' || name === '')
    throw invalidInput(`interface name must be a non-empty string, got ${JSON.stringify(name)}`, context)
  const bytes = Buffer.byteLength(name)
  if (bytes > IFNAMSIZ - 1)
    throw invalidInput(`interface name '${name}' is ${bytes} bytes; Linux allows at most ${IFNAMSIZ - 1} (IFNAMSIZ)`, {
      ...context,
      hint: `shorten it, e.g. '${name.slice(0, IFNAMSIZ - 1)}'`,
    })
  if (name === '.' || name === '..' || /[/:\s]/.test(name))
    throw invalidInput(`interface name '${name}' is not allowed: no '/', ':' or white space, and not '.' or '..'`, {
      ...context,
      hint: 'use letters, digits, - and _ (e.g. veth1, br-ns2)',
    })
  return name
}

export function checkLabel(label: unknown, what = 'namespace label'): string {
  if (typeof label !== 'string' || label.trim() === '')
    throw invalidInput(`${what} must be a non-empty string, got ${JSON.stringify(label)}`)
  if (/[/\s]/.test(label) || label.length > 64)
    throw invalidInput(`${what} '${label}' must be at most 64 characters without '/' or white space`, {
      hint: "labels are short names such as 'ns1', 'host' or 'router'",
    })
  return label
}

export interface ParsedCidr {
  address: string
  prefixLength: number
  family: Family
  /** `address/prefixLength` in canonical form. */
  cidr: string
}

/** An interface address: `10.0.12.1/24` or `fd00::1/64`. */
export function parseCidr(text: unknown, context: NetspecErrorContext = {}): ParsedCidr {
  if (typeof text !== 'string')
    throw invalidInput(`address must be a string like '10.0.12.1/24', got ${JSON.stringify(text)}`, context)
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(text.trim())
  const family = m === null ? 0 : isIP(m[1]!)
  if (m === null || family === 0) {
    const bare = isIP(text.trim())
    throw invalidInput(`'${text}' is not an address with a prefix length (CIDR)`, {
      ...context,
      hint: bare !== 0 ? `add the prefix length, e.g. '${text.trim()}/${bare === 4 ? 24 : 64}'` : "write it like '10.0.12.1/24' or 'fd00::1/64'",
    })
  }
  const prefixLength = Number(m[2])
  const max = family === 4 ? 32 : 128
  if (prefixLength > max)
    throw invalidInput(`'${text}': prefix length ${prefixLength} is over ${max} for IPv${family}`, { ...context, hint: `use a prefix length from 0 to ${max}` })
  const address = family === 6 ? canonicalV6(m[1]!) : m[1]!
  return { address, prefixLength, family: family as Family, cidr: `${address}/${prefixLength}` }
}

/** A bare address (a route's gateway, a ping target). */
export function parseAddress(text: unknown, context: NetspecErrorContext = {}): { address: string; family: Family } {
  const family = typeof text === 'string' ? isIP(text) : 0
  if (family === 0)
    throw invalidInput(`'${String(text)}' is not an IP address`, {
      ...context,
      hint: typeof text === 'string' && text.includes('/') ? 'give the address without a prefix length here' : "write it like '10.0.12.1' or 'fd00::1'",
    })
  return { address: family === 6 ? canonicalV6(text as string) : (text as string), family: family as Family }
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

export function checkMac(mac: unknown, context: NetspecErrorContext = {}): string {
  if (typeof mac !== 'string' || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac))
    throw invalidInput(`'${String(mac)}' is not a MAC address`, { ...context, hint: "write it like 'ee:ee:ee:ee:ee:ee'" })
  if ((parseInt(mac.slice(0, 2), 16) & 1) === 1)
    throw invalidInput(`'${mac}' is a multicast MAC address and cannot be set on an interface`, {
      ...context,
      hint: 'the lowest bit of the first byte must be 0 (e.g. 02:…, ee:…)',
    })
  return mac.toLowerCase()
}

export function checkMtu(mtu: unknown, context: NetspecErrorContext = {}): number {
  if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 68 || mtu > 65535)
    throw invalidInput(`MTU must be a whole number from 68 to 65535, got ${JSON.stringify(mtu)}`, context)
  return mtu
}

/** Rejects keys the caller did not mean: a typo must not be silently ignored. */
export function checkKeys<T extends object>(
  options: T | undefined,
  allowed: readonly string[],
  what: string,
  context: NetspecErrorContext = {},
): T {
  if (options === undefined) return {} as T
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw invalidInput(`${what} options must be an object`, context)
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      const near = allowed.find((a) => editDistance(a, key) <= 2)
      throw invalidInput(`unknown option '${key}' for ${what}`, {
        ...context,
        hint: near !== undefined ? `did you mean '${near}'?` : `known options: ${allowed.join(', ')}`,
      })
    }
  }
  return options
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
  return d[a.length]![b.length]!
}

/** Only per-namespace `net.*` sysctls: a lab never changes the machine's own settings. */
export function checkSysctlKey(key: unknown, context: NetspecErrorContext = {}): string {
  if (typeof key !== 'string' || !/^net\.[\w.-]+$/.test(key) || key.includes('..'))
    throw invalidInput(`sysctl '${String(key)}' is not allowed: a lab sets only net.* keys, which are private to its namespace`, {
      ...context,
      hint: "e.g. 'net.ipv4.ip_forward' or 'net.ipv6.conf.all.forwarding'",
    })
  return key
}

export function sysctlPath(key: string): string {
  return `/proc/sys/${key.replace(/\./g, '/')}`
}
