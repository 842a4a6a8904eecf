// routeDel: what the kernel needs to find a route (its prefix, narrowed by what is given), and the error when the
// route is not there, naming it and what the namespace has for that destination. Pure, but for the read-back.
import { NetspecError, isNetspecError, invalidInput, type NetspecErrorContext } from '../errors.js'
import { routeDestination } from '../kernel/ip.js'
import type { Route } from '../kernel/types.js'
import { describeRoute } from './format.js'
import { checkRouteType } from './rules-validate.js'
import { checkIfName, checkKeys, parseAddress, parseDestination } from './validate.js'
import { parseRouteTable } from '../values/names.js'

/** What selects the route to delete; every field is optional: the prefix alone deletes the first route to it. */
export interface RouteDelOptions {
  via?: string
  dev?: string
  metric?: number
  /** A table number or 'main', 'local', 'default' (default: main). */
  table?: number | string
  /** Only a route of this type; without it, a route of any type (as `ip route del`). */
  type?: 'unicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw'
  /** Only a route with this preferred source. */
  src?: string
}

const DEL_KEYS = ['via', 'dev', 'metric', 'table', 'type', 'src'] as const

/**
 * The `ip route del` line (after `route del`): `[TYPE] PREFIX [via A] [dev D] [src S] [metric M] [table T]`. What is
 * not given is not asked for: the kernel deletes the first route to the prefix that matches the rest (any type, any
 * gateway, any device) in the main table (or `table`).
 */
export function routeDelLine(destination: string, options: RouteDelOptions, ctx: NetspecErrorContext): string {
  checkKeys(options, DEL_KEYS, 'routeDel', { ...ctx, hint: `routeDel selects a route by ${DEL_KEYS.join(', ')} (an mtu or onlink does not select one)` })
  const { dst, family } = parseDestination(destination, ctx)
  const type = options.type === undefined ? undefined : checkRouteType(options.type, ctx)
  const via = options.via === undefined ? undefined : parseAddress(options.via, ctx)
  const src = options.src === undefined ? undefined : parseAddress(options.src, ctx)
  const fam = family ?? via?.family ?? src?.family ?? 4
  for (const [what, a] of [['via', via], ['src', src]] as const)
    if (a !== undefined && a.family !== fam)
      throw invalidInput(`route to ${destination} (IPv${fam}) cannot have ${what} ${what === 'via' ? options.via : options.src} (IPv${a.family})`, {
        ...ctx,
        hint: 'the address must be of the same family as the destination',
      })
  const parts: string[] = type === undefined ? [] : [type]
  parts.push(dst === 'default' && fam === 6 ? '::/0' : dst)
  if (via !== undefined) parts.push('via', via.address)
  if (options.dev !== undefined) parts.push('dev', checkIfName(options.dev, ctx))
  if (src !== undefined) parts.push('src', src.address)
  if (options.metric !== undefined) {
    if (!Number.isInteger(options.metric) || options.metric < 0 || options.metric > 0xffffffff)
      throw invalidInput(`route metric must be a whole number from 0 to 4294967295, got ${options.metric}`, ctx)
    parts.push('metric', String(options.metric))
  }
  if (options.table !== undefined) parts.push('table', String(parseRouteTable(options.table, ctx)))
  return parts.join(' ')
}

/**
 * The error of a failed delete: when the kernel found no such route ("No such process"), the route asked for and
 * what the namespace has for its destination (read back), with the kernel's own words and command kept.
 */
export async function routeDelMissing(
  e: unknown,
  ns: { label: string; routes(): Promise<Route[]> },
  destination: string,
  options: RouteDelOptions,
  ctx: NetspecErrorContext,
): Promise<unknown> {
  if (!isNetspecError(e) || e.kind !== 'command-failed' || !/No such process/.test(e.stderr ?? '')) return e
  let routes: Route[]
  try {
    routes = await ns.routes()
  } catch {
    return e
  }
  const { dst, family } = routeDestination(destination)
  const fam = family ?? (options.via !== undefined ? parseAddress(options.via).family : options.src !== undefined ? parseAddress(options.src).family : 4)
  const same = routes.filter((r) => r.dst === dst && r.family === fam)
  const asked = [`to ${dst}`, ...DEL_KEYS.filter((k) => options[k] !== undefined).map((k) => `${k} ${options[k]}`), ...(options.table === undefined ? ['(table main)'] : [])].join(' ')
  const mine = routes.filter((r) => r.table !== 'local' && !r.dst.startsWith('fe80') && r.family === fam)
  const hint =
    same.length > 0
      ? `for ${dst} it has: ${same.map(describeRoute).join('; ')}; give what selects one of these (or the prefix alone, with its table)`
      : `it has no route to ${dst} in any table; its IPv${fam} routes: ${mine.map(describeRoute).join('; ') || '(none)'}`
  return new NetspecError('command-failed', `routeDel: ${ns.label} has no route ${asked}`, {
    ...ctx,
    command: e.command,
    stderr: e.stderr,
    exitCode: e.exitCode,
    hint,
    cause: e,
  })
}
