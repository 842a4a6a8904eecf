// Which sysctls a lab may write: only keys the kernel keeps per network namespace (issue 13, item 1).
// A key visible inside a namespace is not always private to it: net.netfilter.nf_hooks_lwtunnel is one
// global switch that every namespace shows, and it can only be turned on (writing 0 back fails with
// EBUSY). So the policy is an allow-list of families the kernel keeps in `struct net` (each reviewed
// against the kernel sources and checked on this machine by test/integration/sysctl-policy.test.ts,
// which lists every writable key of a fresh namespace read-only), minus a deny-list of keys known to be
// shared or to change the machine in other ways (loading a kernel module). Everything else is refused.
// Pure: no I/O. docs/trust.md ("Which sysctls a lab may write") has the table.
import { invalidInput, type NetspecErrorContext } from '../errors.js'
import { IFNAME } from './names.js'
import { show } from './show.js'

export interface SysctlKey {
  /** Canonical text: dots, or slashes where a component holds a dot (an interface like eth0.10). */
  key: string
  components: string[]
  /** `/proc/sys/…` */
  path: string
}

/** Keys that look per-namespace by their family but are not, or that change the machine anyway. */
export const SYSCTL_DENY: readonly { pattern: RegExp; why: string }[] = [
  {
    pattern: /^net\.netfilter\.nf_hooks_lwtunnel$/,
    why: 'it is shared by every namespace of the machine and can only be switched on (writing 0 back fails with EBUSY)',
  },
  {
    pattern: /^net\.netfilter\.nf_conntrack_(max|buckets|expect_max)$/,
    why: 'it is shared by every namespace of the machine (read-only inside a namespace)',
  },
  { pattern: /^net\.netfilter\.nf_log(\.|_all_netns$)/, why: 'choosing a logger may load a kernel module, a change to the whole machine' },
  {
    pattern: /^net\.netfilter\.nf_conntrack_log_invalid$/,
    why: 'a non-zero value loads the nf_log_syslog kernel module where no logger is registered, a change to the whole machine',
  },
  { pattern: /^net\.ipv4\.tcp_congestion_control$/, why: 'naming an algorithm that is not loaded loads a kernel module, a change to the whole machine' },
  { pattern: /^net\.ipv4\.tcp_(mem|available_congestion_control|allowed_congestion_control)$/, why: 'it is shared by every namespace of the machine' },
  { pattern: /^net\.ipv4\.udp_mem$/, why: 'it is shared by every namespace of the machine' },
]

/** Families the kernel keeps per network namespace (`struct net`), as regular expressions over the dotted key. */
export const SYSCTL_ALLOW: readonly { pattern: RegExp; what: string }[] = [
  { pattern: /^net\.ipv[46]\.(conf|neigh)\.[^.]+\.[a-z0-9_]+$/, what: 'net.ipv4/ipv6 conf.<dev|all|default>.* and neigh.<dev|default>.*' },
  { pattern: /^net\.ipv[46]\.route\.[a-z0-9_]+$/, what: 'net.ipv4.route.*, net.ipv6.route.*' },
  { pattern: /^net\.ipv6\.icmp\.[a-z0-9_]+$/, what: 'net.ipv6.icmp.*' },
  {
    pattern: /^net\.ipv4\.(ip_[a-z0-9_]+|tcp_[a-z0-9_]+|udp_[a-z0-9_]+|icmp_[a-z0-9_]+|igmp_[a-z0-9_]+|ipfrag_[a-z0-9_]+|fib_[a-z0-9_]+|ping_group_range|fwmark_reflect|raw_l3mdev_accept|nexthop_compat_mode|xfrm4_gc_thresh)$/,
    what: 'net.ipv4.ip_*, tcp_*, udp_*, icmp_*, igmp_*, ipfrag_*, fib_*, ping_group_range, fwmark_reflect, raw_l3mdev_accept, nexthop_compat_mode, xfrm4_gc_thresh',
  },
  {
    pattern: /^net\.ipv6\.(bindv6only|ip_nonlocal_bind|anycast_src_echo_reply|auto_flowlabels|flowlabel_[a-z0-9_]+|fwmark_reflect|ip6frag_[a-z0-9_]+|fib_[a-z0-9_]+|idgen_[a-z0-9_]+|max_(dst_opts|hbh)_[a-z0-9_]+|seg6_flowlabel|ioam6_[a-z0-9_]+|xfrm6_gc_thresh)$/,
    what: 'net.ipv6.bindv6only, ip_nonlocal_bind, flowlabel_*, ip6frag_*, fib_*, idgen_*, max_dst_opts_*, max_hbh_*, … (the per-namespace ipv6 table)',
  },
  { pattern: /^net\.netfilter\.nf_conntrack_[a-z0-9_]+$/, what: 'net.netfilter.nf_conntrack_* (timeouts, accounting, …)' },
  { pattern: /^net\.core\.(somaxconn|xfrm_[a-z0-9_]+)$/, what: 'net.core.somaxconn, net.core.xfrm_*' },
  { pattern: /^net\.unix\.max_dgram_qlen$/, what: 'net.unix.max_dgram_qlen' },
  { pattern: /^net\.mptcp\.[a-z0-9_]+$/, what: 'net.mptcp.*' },
  { pattern: /^net\.bridge\.bridge-nf-[a-z0-9-]+$/, what: 'net.bridge.bridge-nf-* (per namespace since Linux 5.3; earlier kernels do not show them in a namespace)' },
]

const COMPONENT = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/

/**
 * A sysctl key, in dots ('net.ipv4.conf.all.forwarding') or slashes ('net/ipv4/conf/eth0.10/forwarding', as
 * sysctl(8) takes keys whose interface name holds a dot). Components are [A-Za-z0-9_.-] (no '..', '/', NUL).
 */
export function parseSysctlKey(key: unknown, context: NetspecErrorContext = {}): SysctlKey {
  const bad = (why: string) =>
    invalidInput(`sysctl '${show(String(key))}' is not allowed: ${why}`, {
      ...context,
      hint: "e.g. 'net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding' or 'net/ipv4/conf/eth0.10/rp_filter'",
    })
  if (typeof key !== 'string' || key === '' || Buffer.byteLength(key) > 200) throw bad('a key is a non-empty string of at most 200 bytes')
  const components = key.includes('/') ? key.split('/') : key.split('.')
  if (components.some((c) => !COMPONENT.test(c) || c === '.' || c === '..') || (!key.includes('/') && components.some((c) => c.includes('.'))))
    throw bad("its parts must be letters, digits, '_', '-' (and '.' inside an interface name in the slash form); no '..', empty parts or other characters")
  // Mixed forms ('net.ipv4/neigh/…', 'net/ipv4.conf…'): as sysctl(8) reads a key with a '/', every '.' is part of
  // a name, so such a key names a directory that does not exist. Only an interface name may hold a dot there.
  if (key.includes('/')) {
    const ifPart = /^ipv[46]$/.test(components[1] ?? '') && (components[2] === 'conf' || components[2] === 'neigh') ? 3 : -1
    const dotted = components.findIndex((c, i) => c.includes('.') && i !== ifPart)
    if (dotted >= 0)
      throw invalidInput(`sysctl '${show(key)}' mixes '/' and '.' separators: in the slash form every '.' is part of a name, so '${show(components[dotted])}' would be one directory, which does not exist`, {
        ...context,
        hint: `write it all with dots ('${show(components.join('.'))}') or all with slashes ('${show(components.join('/').replace(/\./g, '/'))}'); only an interface name may hold a dot in the slash form, as in 'net/ipv4/conf/eth0.10/rp_filter'`,
      })
  }
  if (components[0] !== 'net') throw bad('a lab sets only net.* keys, which can be private to its namespace')
  // The interface part of conf/neigh keys is an interface name (or all/default), checked as one.
  if (/^ipv[46]$/.test(components[1] ?? '') && (components[2] === 'conf' || components[2] === 'neigh') && components.length === 5) {
    if (!IFNAME.test(components[3]!) || Buffer.byteLength(components[3]!) > 15) throw bad(`'${show(components[3])}' is not an interface name`)
  }
  const key2 = components.some((c) => c.includes('.')) ? components.join('/') : components.join('.')
  return { key: key2, components, path: `/proc/sys/${components.join('/')}` }
}

/** Whether a lab may write this key, and if not, why. `key` is parsed first (parseSysctlKey). */
export function sysctlPolicy(key: string): { allowed: true; family: string } | { allowed: false; why: string } {
  const k = parseSysctlKey(key)
  // Match on dots with the interface part replaced, so an interface name holding a dot matches its family.
  const c = [...k.components]
  if (c.length === 5 && (c[2] === 'conf' || c[2] === 'neigh')) c[3] = 'dev'
  const dotted = c.join('.')
  for (const d of SYSCTL_DENY) if (d.pattern.test(dotted)) return { allowed: false, why: d.why }
  for (const a of SYSCTL_ALLOW) if (a.pattern.test(dotted)) return { allowed: true, family: a.what }
  return { allowed: false, why: 'it is not in the families the kernel keeps per network namespace, so it may be shared by every namespace of the machine' }
}

/** Only per-namespace `net.*` sysctls: a lab never changes the machine's own settings. Returns the canonical key. */
export function checkSysctlKey(key: unknown, context: NetspecErrorContext = {}): string {
  const k = parseSysctlKey(key, context)
  const p = sysctlPolicy(k.key)
  if (!p.allowed)
    throw invalidInput(`sysctl '${k.key}' is not allowed: ${p.why}`, {
      ...context,
      hint: 'a lab writes only keys the kernel keeps per network namespace (docs/trust.md lists the families); set machine-wide keys outside the test, on purpose',
    })
  return k.key
}

export function sysctlPath(key: string): string {
  return parseSysctlKey(key).path
}

/**
 * A sysctl value as text: words of [A-Za-z0-9_.:/-] separated by single spaces ('1', '4096 131072 6291456').
 * Refused, with the kernel's reason: an empty value (the kernel takes a zero-length write as nothing, so the key
 * would silently keep its value), white space at either end or doubled (the kernel strips it from numbers but
 * keeps it in a string value, so it would mean different things to different keys), a newline (the kernel stops
 * reading at it: the rest would be lost), NUL and other characters (a value may reach a shell).
 */
export function checkSysctlValue(value: string | number, key: string, ctx: NetspecErrorContext = {}): string {
  const s = String(value)
  const refuse = (why: string) =>
    invalidInput(`sysctl value '${show(s)}' for ${key} is refused: ${why}`, {
      ...ctx,
      hint: "values are numbers or words, separated by single spaces: e.g. 1 or '4096 131072 6291456'",
    })
  if (typeof value !== 'string' && typeof value !== 'number') throw refuse('a value is a string or a number')
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw refuse('a number value must be a whole number (the kernel reads integers)')
  if (s === '') throw refuse('it is empty, and the kernel takes an empty write as no write at all: the key would keep its value')
  if (Buffer.byteLength(s) > 4096) throw refuse('it is longer than 4096 bytes, a page, the most the kernel reads')
  if (/[\n\r]/.test(s)) throw refuse('it holds a line break, where the kernel stops reading: what follows would be lost')
  if (/\0/.test(s)) throw refuse('it holds a NUL byte, where the kernel stops reading: what follows would be lost')
  if (/^\s|\s$/.test(s)) throw refuse('it starts or ends with white space, which the kernel drops from a number but keeps in a string')
  if (/\s\s/.test(s) || /\s/.test(s.replace(/ /g, ''))) throw refuse('words are separated by one space (no tabs, no doubled spaces)')
  if (!/^[\w.:/-]+( [\w.:/-]+)*$/.test(s)) throw refuse("it has characters that are not allowed (words are letters, digits and '_.:/-')")
  return s
}

/** A value as the kernel prints it, in the form checkSysctlValue accepts: its words, one space apart (vectors come tab-separated). */
export function sysctlHeld(text: string): string {
  return text.trim().split(/\s+/).join(' ')
}

/**
 * Why the value the kernel holds after a write is not what was written, or undefined. The kernel reads only as
 * many numbers as a key has ('0 1' into ip_forward holds 0; '4096 8192' into tcp_rmem leaves the third) and reads
 * '0x1' as 1: those are refused. A number it rounds (milliseconds kept in jiffies: 50 holds 52 at HZ=250) is the
 * kernel's own unit and is not refused: the caller returns the held value.
 */
export function sysctlReadBackProblem(written: string, held: string): string | undefined {
  const w = sysctlHeld(written).split(' ')
  const h = sysctlHeld(held).split(' ')
  const decimal = /^-?\d+$/
  if (w.length !== h.length) return `the kernel holds ${h.length} value${h.length === 1 ? '' : 's'} ('${show(h.join(' '))}') after ${w.length} were written`
  for (let i = 0; i < w.length; i++) {
    if (w[i] === h[i]) continue
    if (decimal.test(w[i]!) && decimal.test(h[i]!)) continue // rounded to the kernel's unit, or written with leading zeros
    return `the kernel holds '${show(h.join(' '))}'`
  }
  return undefined
}
