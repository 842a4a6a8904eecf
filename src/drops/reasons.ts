// The kernel's drop reasons (enum skb_drop_reason) by number, read from the running kernel's own tracepoint
// format (the `print fmt` of skb:kfree_skb lists every { number, "NAME" } pair), never from a table that is true
// for one kernel only: the numbers change between kernel versions.

/** Parses `__print_symbolic(REC->reason, { 2, "NOT_SPECIFIED" }, …)` out of the tracepoint's format text. */
export function parseReasons(format: string): Map<number, string> {
  const out = new Map<number, string>()
  const at = format.indexOf('REC->reason')
  if (at < 0) return out
  for (const m of format.slice(at).matchAll(/\{\s*(\d+)\s*,\s*"([A-Z0-9_]+)"\s*\}/g)) out.set(Number(m[1]), m[2]!)
  return out
}

/**
 * The drops that decide a check at once: the kernel's verdict on the path itself, which the same packet meets again
 * (a filter, a missing route or forwarding, the reverse-path filter, a neighbour that never answered, a packet too
 * big, a device or tunnel that cannot carry it, tc). An allow-list: every other reason says nothing about whether the
 * path works — socket and TCP state (QUEUE_PURGE when the probe closes a socket with the listener's greeting unread,
 * SOCKET_*, TCP_*), NO_SOCKET (the RST or port-unreachable that follows decides 'refused'), frames for another host
 * that a bridge flooded (OTHERHOST) — or is transient and retried by the sender (CPU_BACKLOG, QDISC_DROP,
 * NEIGH_QUEUEFULL): those leave the check to its probes, as without drop reasons.
 */
const DECISIVE = new Set([
  'NETFILTER_DROP',
  'IP_RPFILTER',
  'IP_INNOROUTES',
  'IP_OUTNOROUTES',
  'IP_INADDRERRORS',
  'IP_INVALID_SOURCE',
  'IP_LOCAL_SOURCE',
  'IP_INVALID_DEST',
  'IP_LOCALNET',
  'IP_INHDR',
  'IP_NOPROTO',
  'IPV6DISABLED',
  'IPV6_BAD_EXTHDR',
  'PKT_TOO_BIG',
  'NEIGH_FAILED',
  'NEIGH_CREATEFAIL',
  'NEIGH_DEAD',
  'DEV_READY',
  'TC_EGRESS',
  'TC_INGRESS',
  'TC_DROP',
  'XFRM_POLICY',
  'UNICAST_IN_L2_MULTICAST',
  'VXLAN_VNI_NOT_FOUND',
  'VXLAN_NO_REMOTE',
  'VXLAN_INVALID_HDR',
  'VXLAN_INVALID_SMAC',
  'VXLAN_ENTRY_EXISTS',
])

export function isDecisive(reason: string): boolean {
  return DECISIVE.has(reason)
}

/** What a drop reason means, in the words of a network engineer (no entry: the reason's own name says it). */
const PHRASES: Record<string, string> = {
  IP_RPFILTER: 'reverse-path filter',
  IP_INNOROUTES: 'it has no route for the destination',
  IP_OUTNOROUTES: 'no route out',
  IP_INADDRERRORS: 'invalid destination address',
  IP_INVALID_SOURCE: 'invalid source address',
  IP_LOCAL_SOURCE: 'the source address is its own',
  IP_INVALID_DEST: 'invalid destination address',
  IP_INHDR: 'bad IP header (e.g. TTL expired)',
  IP_NOPROTO: 'no handler for the IP protocol',
  IPV6DISABLED: 'IPv6 is disabled',
  PKT_TOO_BIG: 'packet too big for the path MTU',
  NEIGH_FAILED: 'the next hop never answered ARP/ND: the queued packet was dropped when its neighbour entry turned FAILED',
  NEIGH_QUEUEFULL: 'too many packets queued waiting for ARP/ND',
  NEIGH_CREATEFAIL: 'no neighbour entry could be created',
  NEIGH_DEAD: 'the neighbour entry was removed',
  QDISC_DROP: 'a queueing discipline dropped it',
  QDISC_OVERLIMIT: 'a queueing discipline over its limit',
  TC_EGRESS: 'a tc egress filter',
  TC_INGRESS: 'a tc ingress filter',
  XFRM_POLICY: 'an IPsec policy',
  NETFILTER_DROP: 'netfilter',
  UNICAST_IN_L2_MULTICAST: 'IP unicast in a layer-2 multicast frame',
  BPF_CGROUP_EGRESS: 'a cgroup BPF program',
}

/**
 * The phrase for one drop. `forwarding` is the namespace's own forwarding sysctl ('0' or '1'), asked only for the
 * reasons a router that does not forward gives (IP_INADDRERRORS / IP_INNOROUTES in ip_error).
 */
export function phraseFor(reason: string, fn: string, forwarding?: string): string {
  if ((reason === 'IP_INADDRERRORS' || reason === 'IP_INNOROUTES') && fn.startsWith('ip_error') && forwarding === '0') return 'it does not forward'
  if (reason === 'IP_INADDRERRORS' && forwarding === '0') return 'it does not forward'
  return PHRASES[reason] ?? reason.toLowerCase().replace(/_/g, ' ')
}
