// A minimal DNS message codec (RFC 1035): one question out, a response decoded with bounds checks and
// compression-loop protection. Pure: no I/O; the query is sent from inside a lab namespace by dns.ts.
import { invalidInput, type NetspecErrorContext } from '../errors.js'
import { canonicalV6 } from '../kernel/address.js'

export const RR_TYPES = { A: 1, NS: 2, CNAME: 5, PTR: 12, MX: 15, TXT: 16, AAAA: 28 } as const
export type RrType = keyof typeof RR_TYPES

export const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'] as const

export interface DnsAnswer {
  name: string
  /** 'A', 'AAAA', … or 'TYPE<n>' for types this codec does not name. */
  type: string
  ttl: number
  /** Address for A/AAAA, target name for CNAME/NS/PTR, `10 mail.lab` for MX, the text for TXT, else hex. */
  data: string
}

export interface DnsResponse {
  id: number
  /** 'NOERROR', 'NXDOMAIN', … or 'RCODE<n>'. */
  rcode: string
  authoritative: boolean
  truncated: boolean
  recursionAvailable: boolean
  question?: { name: string; type: string }
  answers: DnsAnswer[]
}

const HOSTNAME_HINT = "a host name such as 'web.lab': letters, digits, '-' and '_' in labels of 1–63 characters, 253 at most in all (an internationalised name in its xn-- form)"

/** A host name to look up, without its trailing dot: ≤ 253 bytes, labels of 1–63 of [A-Za-z0-9_-], no '-' at either end. */
export function checkHostname(name: unknown, ctx: NetspecErrorContext = {}): string {
  if (typeof name !== 'string' || name === '' || name === '.')
    throw invalidInput(`a DNS name must be a non-empty string, got ${JSON.stringify(name)}`, { ...ctx, hint: HOSTNAME_HINT })
  const shown = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name)
  const bare = name.endsWith('.') ? name.slice(0, -1) : name
  if (Buffer.byteLength(bare) > 253) throw invalidInput(`DNS name ${shown} is ${Buffer.byteLength(bare)} bytes; at most 253 are allowed`, { ...ctx, hint: HOSTNAME_HINT })
  for (const label of bare.split('.')) {
    if (label === '') throw invalidInput(`DNS name ${shown} has an empty label`, { ...ctx, hint: HOSTNAME_HINT })
    if (label.length > 63) throw invalidInput(`DNS name ${shown} has a label of ${label.length} characters; at most 63 are allowed`, { ...ctx, hint: HOSTNAME_HINT })
    if (!/^[A-Za-z0-9_-]+$/.test(label)) throw invalidInput(`DNS name ${shown} has characters a host name cannot have`, { ...ctx, hint: HOSTNAME_HINT })
    if (label.startsWith('-') || label.endsWith('-')) throw invalidInput(`DNS name ${shown} has a label starting or ending with '-'`, { ...ctx, hint: HOSTNAME_HINT })
  }
  return bare
}

/** A standard query with recursion desired for one name and type. */
export function encodeQuery(id: number, name: string, type: RrType): Buffer {
  const labels = checkHostname(name).split('.')
  const qname = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])])
  const header = Buffer.alloc(12)
  header.writeUInt16BE(id & 0xffff, 0)
  header.writeUInt16BE(0x0100, 2) // RD
  header.writeUInt16BE(1, 4) // QDCOUNT
  const tail = Buffer.alloc(4)
  tail.writeUInt16BE(RR_TYPES[type], 0)
  tail.writeUInt16BE(1, 2) // class IN
  return Buffer.concat([header, qname, tail])
}

export class DnsFormatError extends Error {}

const typeName = (n: number) => (Object.entries(RR_TYPES).find(([, v]) => v === n)?.[0] ?? `TYPE${n}`)

/** Decodes a response; throws DnsFormatError on a message that is cut short or loops. */
export function decodeResponse(msg: Buffer): DnsResponse {
  const need = (off: number, n: number) => {
    if (off + n > msg.length) throw new DnsFormatError(`DNS message cut short (${msg.length} bytes, needed ${off + n})`)
  }
  need(0, 12)
  const flags = msg.readUInt16BE(2)
  if ((flags & 0x8000) === 0) throw new DnsFormatError('not a DNS response (QR is 0)')
  const qd = msg.readUInt16BE(4)
  const an = msg.readUInt16BE(6)
  const readName = (start: number): [string, number] => {
    const labels: string[] = []
    let off = start
    let end = -1
    for (let jumps = 0; ; ) {
      need(off, 1)
      const len = msg[off]!
      if (len === 0) {
        off += 1
        break
      }
      if ((len & 0xc0) === 0xc0) {
        need(off, 2)
        if (++jumps > 32) throw new DnsFormatError('DNS name compression loops')
        if (end < 0) end = off + 2
        off = msg.readUInt16BE(off) & 0x3fff
        continue
      }
      if ((len & 0xc0) !== 0) throw new DnsFormatError(`bad DNS label length byte 0x${len.toString(16)}`)
      need(off + 1, len)
      labels.push(msg.toString('latin1', off + 1, off + 1 + len))
      off += 1 + len
      if (labels.join('.').length > 255) throw new DnsFormatError('DNS name longer than 255 bytes')
    }
    return [labels.join('.'), end < 0 ? off : end]
  }
  let off = 12
  let question: DnsResponse['question']
  for (let i = 0; i < qd; i++) {
    const [name, next] = readName(off)
    need(next, 4)
    if (i === 0) question = { name, type: typeName(msg.readUInt16BE(next)) }
    off = next + 4
  }
  const answers: DnsAnswer[] = []
  for (let i = 0; i < an; i++) {
    const [name, next] = readName(off)
    need(next, 10)
    const type = msg.readUInt16BE(next)
    const ttl = msg.readUInt32BE(next + 4)
    const rdlen = msg.readUInt16BE(next + 8)
    const rd = next + 10
    need(rd, rdlen)
    let data: string
    if (type === RR_TYPES.A && rdlen === 4) data = [...msg.subarray(rd, rd + 4)].join('.')
    else if (type === RR_TYPES.AAAA && rdlen === 16) {
      const groups = Array.from({ length: 8 }, (_, g) => msg.readUInt16BE(rd + 2 * g).toString(16))
      data = canonicalV6(groups.join(':'))
    } else if (type === RR_TYPES.CNAME || type === RR_TYPES.NS || type === RR_TYPES.PTR) data = readName(rd)[0]
    else if (type === RR_TYPES.MX && rdlen >= 3) data = `${msg.readUInt16BE(rd)} ${readName(rd + 2)[0]}`
    else if (type === RR_TYPES.TXT) {
      const parts: string[] = []
      for (let p = rd; p < rd + rdlen; ) {
        const l = msg[p]!
        need(p + 1, l)
        parts.push(msg.toString('utf8', p + 1, p + 1 + l))
        p += 1 + l
      }
      data = parts.join('')
    } else data = msg.subarray(rd, rd + rdlen).toString('hex')
    answers.push({ name, type: typeName(type), ttl, data })
    off = rd + rdlen
  }
  const rcode = flags & 0x0f
  return {
    id: msg.readUInt16BE(0),
    rcode: RCODES[rcode] ?? `RCODE${rcode}`,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    recursionAvailable: (flags & 0x0080) !== 0,
    question,
    answers,
  }
}

export interface ResolvConf {
  nameservers: string[]
  search: string[]
}

/** `nameserver` and `search`/`domain` lines of a resolv.conf (at most three servers, as glibc uses). */
export function parseResolvConf(text: string): ResolvConf {
  const nameservers: string[] = []
  let search: string[] = []
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim()
    const [key, ...rest] = line.split(/\s+/)
    if (key === 'nameserver' && rest[0] !== undefined && nameservers.length < 3) nameservers.push(rest[0].replace(/%.*$/, ''))
    else if ((key === 'search' || key === 'domain') && rest.length > 0) search = rest
  }
  return { nameservers, search }
}
