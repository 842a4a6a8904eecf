// What a reachability check aims at: `'10.0.12.2'` (ICMP), `'tcp://10.0.12.2:80'`, `'udp://[fd00::2]:53'`.
import { invalidInput } from '../errors.js'
import type { Family } from '../kernel/types.js'
import { parseAddress } from '../lab/validate.js'

export type Proto = 'icmp' | 'tcp' | 'udp'

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
    const proto = target.proto ?? (target.port === undefined ? 'icmp' : 'tcp')
    return build(proto, target.host, target.port, `${proto === 'icmp' ? '' : `${proto}://`}${target.host}${target.port === undefined ? '' : `:${target.port}`}`)
  }
  if (typeof target !== 'string') throw invalidInput(`reachability target must be a string like '10.0.0.2' or 'tcp://10.0.0.2:80'`)
  const m = /^(tcp|udp|icmp):\/\/(?:\[([^\]]+)\]|([^:/]+))(?::(\d+))?\/?$/.exec(target)
  if (m === null) return build('icmp', target, undefined, target)
  return build(m[1] as Proto, (m[2] ?? m[3])!, m[4] === undefined ? undefined : Number(m[4]), target)
}

function build(proto: Proto, host: string, port: number | undefined, text: string): Target {
  const { address, family } = parseAddress(host, { hint: `write it like '10.0.0.2', 'tcp://10.0.0.2:80' or 'udp://[fd00::2]:53'` })
  if (proto !== 'icmp' && (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535))
    throw invalidInput(`${proto} target '${text}' needs a port from 1 to 65535`, { hint: `e.g. '${proto}://${host}:80'` })
  if (proto === 'icmp' && port !== undefined) throw invalidInput(`ICMP has no ports: '${text}'`, { hint: `use 'tcp://…' or 'udp://…'` })
  return { proto, address, family, port, text }
}
