// IPv6 text forms, shared by validation (values/cidr.ts) and the netlink codec: expanding `::` and an
// embedded IPv4 tail into eight groups, and the RFC 5952 form `ip` prints. Pure: no I/O.

/** The eight hex groups of an IPv6 address (`::` expanded, a trailing dotted IPv4 part turned into two groups). */
export function expandV6(address: string): string[] {
  let text = address
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4) {
    const o = v4[1]!.split('.').map(Number)
    text = text.slice(0, -v4[1]!.length) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`
  }
  const [head, tail] = text.split('::') as [string, string | undefined]
  const h = head === '' ? [] : head.split(':')
  if (tail === undefined) return h
  const t = tail === '' ? [] : tail.split(':')
  return [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
}

/** RFC 5952 form, as `ip` prints it: lower case, leading zeros dropped, the longest zero run as '::'. */
export function canonicalV6(address: string): string {
  const groups = expandV6(address.toLowerCase()).map((g) => parseInt(g, 16).toString(16))
  let best = -1
  let bestLen = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === '0') j++
    if (j - i > bestLen) {
      best = i
      bestLen = j - i
    }
    i = j
  }
  if (best < 0) return groups.join(':')
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`
}
