// A capture filter (pcap-filter syntax) is tcpdump's to judge; what netspec guarantees is that it reaches
// tcpdump as the expression and nothing else: one argv element after `--`, so no part of it can be an
// option (`-w FILE` …). Here only what argv cannot carry or no filter needs is refused. Pure: no I/O.
import { invalidInput, type NetspecErrorContext } from '../errors.js'
import { show } from './show.js'

export function checkCaptureFilter(filter: unknown, context: NetspecErrorContext = {}): string | undefined {
  if (filter === undefined) return undefined
  if (typeof filter !== 'string') throw invalidInput(`capture: 'filter' must be a string of pcap-filter syntax, got ${show(String(filter))}`, context)
  const text = filter.trim()
  if (text === '') return undefined
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) || Buffer.byteLength(text) > 4096)
    throw invalidInput(`capture: filter '${show(text)}' has control characters or is over 4096 bytes`, {
      ...context,
      hint: "a pcap-filter expression such as 'icmp or arp' or 'tcp port 80'",
    })
  return text
}
