// iputils ping: the argv netspec runs on the process path (containers, NETSPEC_NO_NETLINK=1) and a parser
// for what it prints. Owned here rather than reached through the `ping` package's private files.

export interface PingSummary {
  /** Echo replies received (the statistics line's "N received"; reply lines when it is missing). */
  received: number
  /** Average round trip in ms (the rtt line), else the first reply's `time=`. */
  rttMs?: number
}

/** `ping -n -c 1 -s 56 [-6] -W <s> ADDRESS`: one echo, numeric output, a wait in seconds (iputils takes fractions). */
export function pingArgv(address: string, family: 4 | 6, waitSeconds: number, sized?: { size: number; dontFragment: boolean }): string[] {
  // -M do|dont: the DF bit (IPv4) / no fragmentation by the sender (IPv6), as `ping -M do -s N` in the path-MTU tutorials.
  const size = sized === undefined ? ['-s', '56'] : ['-M', sized.dontFragment ? 'do' : 'dont', '-s', String(sized.size)]
  return ['ping', '-n', '-c', '1', ...size, ...(family === 6 ? ['-6'] : []), '-W', waitSeconds.toFixed(2), '--', address]
}

/** Reads iputils ping's output (any locale-independent parts: numbers and the fixed English statistics words). */
export function parsePing(stdout: string): PingSummary {
  const stats = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(stdout)
  const replies = [...stdout.matchAll(/^\d+ bytes from .*time[=<]([\d.]+) ?ms/gm)]
  const received = stats !== null ? Number(stats[2]) : replies.length
  const rtt = /^(?:rtt|round-trip) min\/avg\/max(?:\/(?:mdev|stddev))? = [\d.]+\/([\d.]+)\//m.exec(stdout)
  const rttMs = rtt !== null ? Number(rtt[1]) : replies[0] !== undefined ? Number(replies[0][1]) : undefined
  return received > 0 && rttMs !== undefined ? { received, rttMs } : { received }
}

/**
 * The first ICMP error ping printed: "From 10.0.1.254 icmp_seq=1 Destination Host Unreachable" (IPv6: "From fd01::254
 * icmp_seq=1 Destination unreachable: Administratively prohibited"); `from` is the error's sender, `words` ping's text.
 */
export function parsePingError(stdout: string): { from: string; words: string } | undefined {
  const m = /^From (\S+?)(?: \(([^)]*)\))?:? icmp_seq=\d+ (.+?)\s*$/m.exec(stdout)
  return m === null ? undefined : { from: m[2] ?? m[1]!, words: m[3]! }
}
