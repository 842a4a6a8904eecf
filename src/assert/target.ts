// What a reachability check aims at: `'10.0.12.2'` (ICMP), `'tcp://10.0.12.2:80'`, `'udp://[fd00::2]:53'`.
// The grammar is src/values/port.ts's (strict ports, IPv6 in brackets); this adds the object form.
import { invalidInput } from '../errors.js'
import type { Family } from '../kernel/types.js'
import { checkKeys } from '../values/options.js'
import { checkPort, formatEndpoint, parseEndpoint, type Proto } from '../values/port.js'
import { parseAddress } from '../values/cidr.js'
import { show } from '../values/show.js'

export type { Proto }

export interface Target {
  proto: Proto
  address: string
  family: Family
  port?: number
  /** As the user wrote it, for messages. */
  text: string
}

export interface TargetObject {
  proto?: Proto
  host: string
  port?: number
}

export function parseTarget(target: string | TargetObject): Target {
  if (typeof target === 'object' && target !== null) {
    checkKeys(target, ['proto', 'host', 'port'], 'target')
    const proto = target.proto ?? (target.port === undefined ? 'icmp' : 'tcp')
    if (proto !== 'icmp' && proto !== 'tcp' && proto !== 'udp') throw invalidInput(`target proto must be 'icmp', 'tcp' or 'udp', got '${show(String(proto))}'`)
    const { address, family } = parseAddress(target.host, { hint: `write it like '10.0.0.2' or 'fd00::2' (no brackets, no port: those go in 'port')` })
    if (proto === 'icmp') {
      if (target.port !== undefined) throw invalidInput(`ICMP has no ports: { host: '${show(target.host)}', port: ${show(String(target.port))} }`, { hint: `use proto 'tcp' or 'udp'` })
      return { proto, address, family, text: target.host }
    }
    if (target.port === undefined) throw invalidInput(`${proto} target '${show(target.host)}' needs a port from 1 to 65535`, { hint: `e.g. { proto: '${proto}', host: '${show(target.host)}', port: 80 }` })
    const port = checkPort(target.port, { what: `the port of ${proto} target '${show(target.host)}'` })
    return { proto, address, family, port, text: formatEndpoint({ proto, address: target.host, family, port }) }
  }
  if (typeof target !== 'string') throw invalidInput(`reachability target must be a string like '10.0.0.2' or 'tcp://10.0.0.2:80'`)
  return { ...parseEndpoint(target), text: target }
}
