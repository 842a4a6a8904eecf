// The values layer (src/values/): what it accepts can only reach a kernel tool as exactly the intended words,
// proven by properties over hostile strings (fast-check); and the sysctl policy, by examples.
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { isNetspecError } from '../../src/errors.js'
import {
  IFNAME,
  batchLineProblem,
  batchWord,
  checkCaptureFilter,
  checkIfName,
  checkLabel,
  checkSysctlKey,
  checkSysctlValue,
  parseAlias,
  parseCidr,
  parseRouteTable,
  parseSysctlKey,
  splitBatchLine,
  sysctlPolicy,
  sysctlReadBackProblem,
} from '../../src/values/index.js'
import { linkSetLines, routeLine } from '../../src/lab/namespace.js'
import { hostile } from '../fixtures/hostile.js'

// Ten times the integration fuzz's runs per path (NETSPEC_FUZZ_RUNS): these cost microseconds each.
const RUNS = 10 * Number(process.env.NETSPEC_FUZZ_RUNS ?? 50)

/** Throws unless `fn` either returns or throws a NetspecError 'invalid-input'. */
function refusedOr<T>(fn: () => T): { ok: true; value: T } | { ok: false } {
  try {
    return { ok: true, value: fn() }
  } catch (e) {
    if (!isNetspecError(e, 'invalid-input')) throw e
    return { ok: false }
  }
}

describe('ip batch words: print, then read as ip reads them', () => {
  test('any list of words batchWord accepts comes back exactly, as one command', () => {
    fc.assert(
      fc.property(fc.array(hostile(), { minLength: 1, maxLength: 6 }), (words) => {
        const printed = refusedOr(() => words.map(batchWord))
        if (!printed.ok) return
        const line = printed.value.join(' ')
        expect(batchLineProblem(line)).toBeUndefined()
        expect(splitBatchLine(line)).toEqual(words)
      }),
      { numRuns: RUNS },
    )
  })

  test("splitBatchLine reads '#', quotes and words as iproute2's makeargs does", () => {
    expect(splitBatchLine('addr add 10.0.0.1/24 dev lo#x')).toEqual(['addr', 'add', '10.0.0.1/24', 'dev', 'lo'])
    expect(splitBatchLine(`link set dev x alias "a 'b' \\"`)).toEqual(['link', 'set', 'dev', 'x', 'alias', "a 'b' \\"])
    expect(splitBatchLine('link set dev "x')).toBeUndefined()
    expect(batchLineProblem('link del dev veth1\\')).toMatch(/join the next line/)
  })
})

describe('interface names', () => {
  test('an accepted name is the allow-list, ≤ 15 bytes, and one word in every line it goes into', () => {
    fc.assert(
      fc.property(hostile(), (name) => {
        const r = refusedOr(() => checkIfName(name))
        if (!r.ok) return
        expect(r.value).toBe(name)
        expect(IFNAME.test(name) && Buffer.byteLength(name) <= 15 && name !== '.' && name !== '..').toBe(true)
        for (const line of [`link del dev ${name}`, `addr add 10.0.0.1/24 dev ${name}`, `route add ${routeLine('10.1.0.0/16', { dev: name }, {})}`])
          expect(splitBatchLine(line)!.includes(name) && batchLineProblem(line) === undefined).toBe(true)
      }),
      { numRuns: RUNS },
    )
  })

  test.each(['lo#x', 'veth1#', 'veth1\\', '"x', "x'", '-x', '.x', 'x y', 'a/b', 'a:b', '.', '..', 'x\0', 'x\n', 'é', ''])('refuses %j', (name) => {
    expect(() => checkIfName(name)).toThrow(/interface name/)
  })

  test('labels refuse control characters, /, white space, . and ..', () => {
    for (const label of ['a\0', 'a\u2028', '..', 'a/b', 'a b', 'x'.repeat(65)]) expect(() => checkLabel(label)).toThrow(/label/)
    expect(checkLabel('router-1.é')).toBe('router-1.é')
  })
})

describe('aliases', () => {
  test('an accepted alias is ≤ 255 bytes and arrives exactly in its link set line', () => {
    fc.assert(
      fc.property(hostile(), (alias) => {
        const r = refusedOr(() => linkSetLines('veth1', { alias: parseAlias(alias) }, {}))
        if (!r.ok) return
        expect(Buffer.byteLength(alias)).toBeLessThanOrEqual(255)
        expect(Buffer.from(alias, 'utf8').toString('utf8')).toBe(alias) // UTF-8 carries it unchanged
        expect(r.value).toHaveLength(1)
        expect(batchLineProblem(r.value[0]!)).toBeUndefined()
        expect(splitBatchLine(r.value[0]!)).toEqual(['link', 'set', 'dev', 'veth1', 'alias', alias])
      }),
      { numRuns: RUNS },
    )
  })

  test('bytes, not characters; NUL and newline refused', () => {
    expect(() => parseAlias('é'.repeat(255))).toThrow(/255 characters but 510 bytes/)
    expect(parseAlias('é'.repeat(127) + 'x')).toHaveLength(128)
    expect(() => parseAlias('a\0b')).toThrow(/alias/)
    expect(() => parseAlias('a\nb')).toThrow(/alias/)
    expect(() => parseAlias(`it's "x"`)).toThrow(/both kinds of quotes/)
  })
})

describe('route tables', () => {
  test('a number, main, local or default; printed as the number', () => {
    expect([parseRouteTable(100), parseRouteTable('100'), parseRouteTable('main'), parseRouteTable('local'), parseRouteTable('default')]).toEqual([100, 100, 254, 255, 253])
    for (const t of ['all', 'unspec', 0, '0', '010', '0x10', 4294967296, -1, 1.5, 'main#', 'custom', '', ' 1'])
      expect(() => parseRouteTable(t)).toThrow(/route table/)
    fc.assert(
      fc.property(fc.oneof(hostile(), fc.integer({ min: -10, max: 2 ** 33 })), (t) => {
        const r = refusedOr(() => parseRouteTable(t))
        if (r.ok) expect(Number.isInteger(r.value) && r.value >= 1 && r.value <= 0xffffffff).toBe(true)
      }),
      { numRuns: RUNS },
    )
  })
})

describe('CIDRs', () => {
  test('print(parse(x)) is stable', () => {
    const cidr = fc.oneof(
      fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })),
      fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })),
    )
    fc.assert(
      fc.property(cidr, ([a, len]) => {
        const once = parseCidr(`${a}/${len}`)
        expect(parseCidr(once.cidr)).toEqual(once)
      }),
      { numRuns: RUNS },
    )
  })

  test('hostile text is refused or parses to a plain canonical CIDR', () => {
    fc.assert(
      fc.property(hostile(), (text) => {
        const r = refusedOr(() => parseCidr(text))
        if (r.ok) expect(/^[0-9a-f.:]+\/\d{1,3}$/.test(r.value.cidr)).toBe(true)
      }),
      { numRuns: RUNS },
    )
    expect(() => parseCidr('fe80::1%eth0/64')).toThrow(/not an address/)
  })
})

describe('sysctl keys: only what the kernel keeps per network namespace', () => {
  test.each([
    'net.ipv4.ip_forward',
    'net.ipv6.conf.all.forwarding',
    'net.ipv4.conf.veth1.rp_filter',
    'net/ipv4/conf/eth0.10/rp_filter',
    'net.ipv4.neigh.default.gc_thresh1',
    'net.ipv4.tcp_syncookies',
    'net.ipv4.icmp_echo_ignore_all',
    'net.ipv6.route.max_size',
    'net.netfilter.nf_conntrack_tcp_loose',
    'net.core.somaxconn',
    'net.unix.max_dgram_qlen',
  ])('allows %s', (key) => {
    expect(sysctlPolicy(key).allowed).toBe(true)
    expect(checkSysctlKey(key)).toBe(key)
  })

  test.each([
    ['net.netfilter.nf_hooks_lwtunnel', /shared by every namespace of the machine and can only be switched on/],
    ['net.netfilter.nf_conntrack_max', /shared by every namespace of the machine/],
    ['net.core.rmem_max', /not in the families the kernel keeps per network namespace/],
    ['net.core.rps_default_mask', /not in the families/],
    ['net.ipv4.tcp_congestion_control', /loads a kernel module/],
    ['net.netfilter.nf_log.2', /kernel module/],
    ['net.netfilter.nf_conntrack_log_invalid', /loads the nf_log_syslog kernel module/],
    ['kernel.hostname', /only net\.\* keys/],
    ['vm.swappiness', /only net\.\* keys/],
    ['net..ipv4.ip_forward', /parts must be/],
    ['net.ipv4/../../kernel/x', /parts must be/],
    ['net/ipv4/conf/../forwarding', /parts must be/],
    ['net.ipv4.ip_forward\0', /parts must be/],
    ['net.ipv4.conf.lo#x.forwarding', /parts must be/],
    ['net.ipv4.conf.eth0.10.forwarding', /not in the families/],
    ['net/ipv4/conf/-x/forwarding', /not an interface name/],
  ])('refuses %s', (key, why) => {
    expect(() => checkSysctlKey(key)).toThrow(why)
  })

  test('any key it accepts is a path under /proc/sys/net with no way out', () => {
    fc.assert(
      fc.property(fc.oneof(hostile(), hostile().map((s) => `net.ipv4.conf.${s}.forwarding`), hostile().map((s) => `net/ipv4/${s}`)), (key) => {
        const r = refusedOr(() => checkSysctlKey(key))
        if (!r.ok) return
        const { path, components } = parseSysctlKey(r.value)
        expect(path.startsWith('/proc/sys/net/')).toBe(true)
        expect(components.every((c) => /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(c) && c !== '..')).toBe(true)
        expect(parseSysctlKey(r.value).key).toBe(r.value) // print(parse(x)) stable
      }),
      { numRuns: RUNS },
    )
  })
})

describe('sysctl keys and values: the true reason for a refusal', () => {
  test.each([
    ['net.ipv4/neigh/default/gc_thresh1', /mixes '\/' and '\.' separators: .*'net\.ipv4' would be one directory/, /net\.ipv4\.neigh\.default\.gc_thresh1/],
    ['net/ipv4.conf.all.forwarding', /mixes '\/' and '\.' separators: .*'ipv4\.conf\.all\.forwarding' would be one directory/, /net\/ipv4\/conf\/all\/forwarding/],
    ['net/ipv4/conf.all/forwarding', /mixes/, /net\.ipv4\.conf\.all\.forwarding/],
  ])('a mixed form %s is refused as mixed, with both forms in the hint', (key, why, hint) => {
    expect(() => checkSysctlKey(key)).toThrow(why)
    try {
      checkSysctlKey(key)
    } catch (e) {
      expect(isNetspecError(e, 'invalid-input') && e.hint).toMatch(hint)
    }
  })

  test('an interface name may hold a dot in the slash form, and only there', () => {
    expect(checkSysctlKey('net/ipv4/neigh/eth0.10/retrans_time_ms')).toBe('net/ipv4/neigh/eth0.10/retrans_time_ms')
    expect(() => checkSysctlKey('net/ipv4.x/conf/eth0.10/rp_filter')).toThrow(/mixes/)
  })

  test.each([
    ['', /empty, and the kernel takes an empty write as no write at all/],
    [' 1', /starts or ends with white space/],
    ['1 ', /starts or ends with white space/],
    ['1\n', /line break/],
    ['1\n0', /line break/],
    ['1\0', /NUL byte/],
    ['1\t2', /one space/],
    ['1  2', /one space/],
    ['1;reboot', /characters that are not allowed/],
    [Number.NaN, /whole number/],
    [1.5, /whole number/],
    ['x'.repeat(4097), /4096 bytes/],
  ])('the value %j is refused with its reason', (value, why) => {
    expect(() => checkSysctlValue(value as string, 'net.ipv4.ip_forward')).toThrow(why)
  })

  test('accepted values are words one space apart and come back unchanged', () => {
    for (const v of ['1', '-1', '4096 131072 6291456', 'bbr', '0:ffff']) expect(checkSysctlValue(v, 'k')).toBe(v)
    expect(checkSysctlValue(0, 'k')).toBe('0')
    fc.assert(
      fc.property(hostile(), (v) => {
        const r = refusedOr(() => checkSysctlValue(v, 'k'))
        if (r.ok) expect(r.value.split(' ').join(' ')).toBe(v), expect(/^[\w.:/-]+( [\w.:/-]+)*$/.test(r.value)).toBe(true)
      }),
      { numRuns: RUNS },
    )
  })

  test('the read-back: what the kernel did not take is named, what it rounded to its unit is not', () => {
    expect(sysctlReadBackProblem('0 1', '0\n')).toMatch(/holds 1 value \('0'\) after 2 were written/)
    expect(sysctlReadBackProblem('4096 8192', '4096\t8192\t16384\n')).toMatch(/holds 3 values/)
    expect(sysctlReadBackProblem('0x1', '1\n')).toMatch(/holds '1'/)
    expect(sysctlReadBackProblem('bbr', 'cubic\n')).toMatch(/holds 'cubic'/)
    expect(sysctlReadBackProblem('4096 131072 6291456', '4096\t131072\t6291456\n')).toBeUndefined()
    expect(sysctlReadBackProblem('50', '52\n')).toBeUndefined() // ms kept in jiffies (HZ=250)
    expect(sysctlReadBackProblem('01', '1\n')).toBeUndefined()
  })
})

describe('capture filters', () => {
  test('accepted filters carry no control characters except white space; never an argv of their own', () => {
    fc.assert(
      fc.property(hostile(), (f) => {
        const r = refusedOr(() => checkCaptureFilter(f))
        if (r.ok && r.value !== undefined) expect(/[\0-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(r.value)).toBe(false)
      }),
      { numRuns: RUNS },
    )
    expect(checkCaptureFilter('  ')).toBeUndefined()
    expect(() => checkCaptureFilter('icmp\0')).toThrow(/control characters/)
  })
})
