// Names that reach kernel tools: interface names, namespace labels, interface aliases, route tables,
// /etc/netns file names. Each is checked against an allow-list, so no value can be syntax to `ip -batch`
// ('#' starts a comment, a trailing '\' joins the next line, a leading quote opens a quoted word), to an
// nft script (a '"' ends the string) or to a tool's argv (a leading '-' is an option). docs/trust.md
// ("Hostile input") lists the rules. Pure: no I/O.
import { invalidInput, type NetspecErrorContext } from '../errors.js'
import { UNSAFE_CHAR, show } from './show.js'

export const IFNAMSIZ = 16 // the kernel's buffer, including the terminating NUL: 15 usable bytes

/**
 * Interface names netspec accepts: 1–15 ASCII letters, digits, '_', '-', '.', not starting with '-' or '.'.
 * The kernel's own rule (dev_valid_name) is wider — anything but '/', ':', white space, '.' and '..' — but
 * '#', quotes, '\' and control characters are syntax to `ip -batch` and nft, and a leading '-' to argv.
 */
export const IFNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/

export function checkIfName(name: unknown, context: NetspecErrorContext = {}): string {
  if (typeof name !== 'string' || name === '')
    throw invalidInput(`interface name must be a non-empty string, got ${show(JSON.stringify(name) ?? String(name))}`, context)
  const bytes = Buffer.byteLength(name)
  if (bytes > IFNAMSIZ - 1)
    throw invalidInput(`interface name '${show(name)}' is ${bytes} bytes; Linux allows at most ${IFNAMSIZ - 1} (IFNAMSIZ)`, {
      ...context,
      hint: IFNAME.test(name) ? `shorten it, e.g. '${name.slice(0, IFNAMSIZ - 1)}'` : "shorten it, and use letters, digits, '-', '_' and '.' (e.g. veth1, br-ns2)",
    })
  if (name === '.' || name === '..' || /[/:\s]/.test(name))
    throw invalidInput(`interface name '${show(name)}' is not allowed: no '/', ':' or white space, and not '.' or '..'`, {
      ...context,
      hint: 'use letters, digits, - and _ (e.g. veth1, br-ns2)',
    })
  if (!IFNAME.test(name))
    throw invalidInput(
      `interface name '${show(name)}' is not allowed: netspec takes ASCII letters, digits, '_', '-' and '.' (not first '-' or '.'); '#', quotes, '\\' and control characters would be syntax to ip or nft`,
      { ...context, hint: 'use letters, digits, - and _ (e.g. veth1, br-ns2)' },
    )
  return name
}

/** A namespace label: the user's short name. It reaches the kernel only through kernelName(), which keeps [A-Za-z0-9_.-]. */
export function checkLabel(label: unknown, what = 'namespace label', context: NetspecErrorContext = {}): string {
  if (typeof label !== 'string' || label.trim() === '')
    throw invalidInput(`${what} must be a non-empty string, got ${show(JSON.stringify(label) ?? String(label))}`, context)
  if (/[/\s]/.test(label) || label.length > 64 || UNSAFE_CHAR.test(label) || label === '.' || label === '..')
    throw invalidInput(`${what} '${show(label)}' must be at most 64 characters without '/', white space or control characters, and not '.' or '..'`, {
      ...context,
      hint: "labels are short names such as 'ns1', 'host' or 'router'",
    })
  return label
}

export const IFALIASZ = 256 // the kernel's limit, including the terminating NUL: 255 usable bytes

/**
 * An interface alias: 1–255 bytes (IFALIASZ, counted in UTF-8 bytes as the kernel does) of printable text:
 * no control characters (NUL, newline …), no U+2028/U+2029, no lone surrogates (UTF-8 cannot carry them), no
 * '#' (ip -batch cuts a line there, even inside quotes), and not both kinds of quotes (ip's quoted words have
 * no escapes). Everything else — spaces, one kind of quote, '\', any script — arrives exactly (batch.ts quotes it).
 */
export function parseAlias(alias: unknown, context: NetspecErrorContext = {}): string {
  const rule = `interface alias must be 1–255 bytes (IFALIASZ) of printable text, without '#', newlines or other control characters, and not both kinds of quotes`
  if (typeof alias !== 'string' || alias === '') throw invalidInput(`${rule}; got ${show(JSON.stringify(alias) ?? String(alias))}`, context)
  const bytes = Buffer.byteLength(alias)
  if (bytes > IFALIASZ - 1)
    throw invalidInput(`${rule}; '${show(alias, 40)}' is ${alias.length} characters but ${bytes} bytes`, {
      ...context,
      hint: 'the kernel counts bytes: a character outside ASCII takes 2–4',
    })
  if (UNSAFE_CHAR.test(alias) || alias.includes('#') || (alias.includes('"') && alias.includes("'")))
    throw invalidInput(`${rule}; got '${show(alias, 60)}'`, context)
  return alias
}

/** Route table names netspec maps to numbers itself: never /etc/iproute2/rt_tables, which is the machine's. */
export const ROUTE_TABLES: Readonly<Record<string, number>> = { default: 253, main: 254, local: 255 }

/**
 * A route table: a whole number 1–4294967295 (decimal, no leading zeros: ip would read '010' as octal and
 * '0x10' as hex) or 'main', 'local', 'default'. Returns the number, which is what goes to the kernel, so the
 * machine's own rt_tables file never changes what a lab does. 0 ('unspec') and 'all' are refused.
 */
export function parseRouteTable(table: unknown, context: NetspecErrorContext = {}): number {
  if (typeof table === 'string' && Object.hasOwn(ROUTE_TABLES, table)) return ROUTE_TABLES[table]!
  const n = typeof table === 'number' ? table : typeof table === 'string' && /^[1-9]\d{0,9}$/.test(table) ? Number(table) : NaN
  if (Number.isInteger(n) && n >= 1 && n <= 0xffffffff) return n
  throw invalidInput(`route table '${show(String(table))}' is not a number or a name netspec knows`, {
    ...context,
    hint: "give a table number from 1 to 4294967295 (e.g. 100), or 'main', 'local' or 'default'; names from /etc/iproute2/rt_tables are the machine's, not the lab's",
  })
}

/** A file name under /etc/netns/<namespace>/: one plain path component. */
export function checkEtcNetnsFile(file: unknown, context: NetspecErrorContext = {}): string {
  if (typeof file !== 'string' || !/^[A-Za-z0-9_][\w.-]{0,63}$/.test(file))
    throw invalidInput(`file name '${show(String(file))}' for /etc/netns is not a plain file name`, { ...context, hint: "e.g. 'resolv.conf' or 'hosts'" })
  return file
}

/** A Docker container id or name, as it goes into docker's argv: never an option, never a path. */
export function checkContainerRef(ref: unknown, context: NetspecErrorContext = {}): string {
  if (typeof ref !== 'string' || !/^\/?[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(ref))
    throw invalidInput(`'${show(String(ref))}' is not a Docker container id or name`, { ...context, hint: 'give the id (hex) or the name docker ps shows' })
  return ref
}
