// Link attributes as values: MAC addresses and MTUs. Pure: no I/O.
import { invalidInput, type NetspecErrorContext } from '../errors.js'
import { show } from './show.js'

export function checkMac(mac: unknown, context: NetspecErrorContext = {}): string {
  if (typeof mac !== 'string' || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac))
    throw invalidInput(`'${show(String(mac))}' is not a MAC address`, { ...context, hint: "write it like 'ee:ee:ee:ee:ee:ee'" })
  if ((parseInt(mac.slice(0, 2), 16) & 1) === 1)
    throw invalidInput(`'${mac}' is a multicast MAC address and cannot be set on an interface`, {
      ...context,
      hint: 'the lowest bit of the first byte must be 0 (e.g. 02:…, ee:…)',
    })
  return mac.toLowerCase()
}

export function checkMtu(mtu: unknown, context: NetspecErrorContext = {}): number {
  if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 68 || mtu > 65535)
    throw invalidInput(`MTU must be a whole number from 68 to 65535, got ${show(JSON.stringify(mtu) ?? String(mtu))}`, context)
  return mtu
}
