import { describe, expect, test } from 'vitest'
import { DnsFormatError, checkHostname, decodeResponse, encodeQuery, parseResolvConf } from '../../src/services/dns-codec.js'

// A response built by hand: header, the question, then answers using name compression (0xc00c → offset 12).
function response(rcode: number, answers: Buffer[], id = 0x1234): Buffer {
  const q = encodeQuery(id, 'www.lab', 'A')
  q.writeUInt16BE(0x8180 | rcode, 2) // QR, RD, RA
  q.writeUInt16BE(answers.length, 6)
  return Buffer.concat([q, ...answers])
}
const rr = (type: number, rdata: Buffer, name = Buffer.from([0xc0, 12])) => {
  const fixed = Buffer.alloc(10)
  fixed.writeUInt16BE(type, 0)
  fixed.writeUInt16BE(1, 2)
  fixed.writeUInt32BE(300, 4)
  fixed.writeUInt16BE(rdata.length, 8)
  return Buffer.concat([name, fixed, rdata])
}

describe('DNS codec', () => {
  test('a query is the RFC 1035 bytes: id, RD, one question, QTYPE, class IN', () => {
    expect(encodeQuery(0xabcd, 'web.lab', 'AAAA').toString('hex')).toBe('abcd01000001000000000000' + '03776562036c616200' + '001c0001')
    expect(encodeQuery(1, 'web.lab.', 'A').equals(encodeQuery(1, 'web.lab', 'A'))).toBe(true)
  })

  test('decodes A, AAAA, CNAME (compressed), MX and TXT answers, and the rcode', () => {
    const cname = Buffer.from([2, 0x64, 0x62, 0xc0, 16]) // "db" + pointer to "lab" in the question
    const r = decodeResponse(
      response(0, [
        rr(5, cname),
        rr(1, Buffer.from([10, 80, 0, 51]), Buffer.concat([Buffer.from([2, 0x64, 0x62]), Buffer.from([0xc0, 16])])),
        rr(28, Buffer.from('fd000080000000000000000000000050', 'hex')),
        rr(15, Buffer.concat([Buffer.from([0, 10]), cname])),
        rr(16, Buffer.from([2, 0x68, 0x69, 1, 0x21])),
        rr(99, Buffer.from([1, 2])),
      ]),
    )
    expect(r).toMatchObject({ id: 0x1234, rcode: 'NOERROR', recursionAvailable: true, authoritative: false, question: { name: 'www.lab', type: 'A' } })
    expect(r.answers.map((a) => [a.name, a.type, a.data])).toEqual([
      ['www.lab', 'CNAME', 'db.lab'],
      ['db.lab', 'A', '10.80.0.51'],
      ['www.lab', 'AAAA', 'fd00:80::50'],
      ['www.lab', 'MX', '10 db.lab'],
      ['www.lab', 'TXT', 'hi!'],
      ['www.lab', 'TYPE99', '0102'],
    ])
    expect(decodeResponse(response(3, [])).rcode).toBe('NXDOMAIN')
    expect(decodeResponse(response(5, [])).rcode).toBe('REFUSED')
    expect(decodeResponse(response(9, [])).rcode).toBe('RCODE9')
  })

  test('malformed responses are errors, never hangs or out-of-bounds reads', () => {
    const good = response(0, [rr(1, Buffer.from([10, 0, 0, 1]))])
    for (let n = 0; n < good.length; n++) expect(() => decodeResponse(good.subarray(0, n))).toThrow(DnsFormatError)
    const loop = response(0, [rr(1, Buffer.from([1, 2, 3, 4]), Buffer.from([0xc0, 29]))])
    loop.writeUInt16BE(0xc000 | 29, 29) // the answer's name points at itself
    expect(() => decodeResponse(loop)).toThrow(/loops/)
    const query = encodeQuery(1, 'a.lab', 'A')
    expect(() => decodeResponse(query)).toThrow(/not a DNS response/)
  })

  test('host names: ≤ 253 bytes, labels 1–63 of letters, digits, - and _', () => {
    expect(checkHostname('web.lab')).toBe('web.lab')
    expect(checkHostname('web.lab.')).toBe('web.lab')
    expect(checkHostname('_sip._udp.lab')).toBe('_sip._udp.lab')
    expect(checkHostname(`${'a'.repeat(63)}.lab`)).toHaveLength(67)
    expect(checkHostname(`${'a.'.repeat(126)}a`)).toHaveLength(253)
    for (const bad of ['', '.', 'a..b', '.a', `${'a'.repeat(64)}.lab`, `${'a.'.repeat(127)}a`, 'a b', '-a', 'a-', 'wéb.lab', 'a\0b', 'a/b', 'a#b'])
      expect(() => checkHostname(bad), JSON.stringify(bad)).toThrow(/DNS name/)
  })

  test('resolv.conf: up to three nameservers, search, comments', () => {
    expect(parseResolvConf('# lab\nnameserver 10.0.0.1\nnameserver fe80::1%eth0 ; x\nsearch lab corp\nnameserver 10.0.0.3\nnameserver 10.0.0.4\n')).toEqual({
      nameservers: ['10.0.0.1', 'fe80::1', '10.0.0.3'],
      search: ['lab', 'corp'],
    })
  })
})
