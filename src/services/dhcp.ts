// A DHCPv4 lease for a lab namespace's interface, taken by ISC dhclient with netspec's own script: the script
// (written into the lab temp dir) applies the address and default route with `ip` inside the namespace and
// records the options; dhclient's lease, pid and config files are in the lab temp dir too. The stock
// /sbin/dhclient-script is never used: it rewrites /etc/resolv.conf, which in a namespace without its own
// /etc/netns file is the machine's. The resolver is written only to the namespace's own /etc/netns file.
import { closeSync, constants, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { NetspecError, invalidInput } from '../errors.js'
import { shellQuote, toolHint, type SpawnedProcess } from '../exec/index.js'
import type { Namespace } from '../lab/namespace.js'
import { checkIfName, checkKeys } from '../lab/validate.js'

export interface DhcpOptions {
  /** Deadline for the lease, default 15 s: dhclient's own `timeout` (it then says why, e.g. "No DHCPOFFERS received."); netspec waits 3 s more as a backstop. */
  timeoutMs?: number
  /** Write the servers to the namespace's own /etc/netns/<name>/resolv.conf when it has one (default true). */
  resolvConf?: boolean
}

export interface DhcpLease {
  interface: string
  address: string
  prefixLength: number
  /** The first router (default gateway), if the server gave one. */
  router?: string
  /** DNS servers the server gave. */
  dns: string[]
  /** Domain name, if given. */
  domain?: string
  /** The server that granted the lease (DHCP server identifier). */
  server: string
  /** Seconds. */
  leaseTime: number
  /** The namespace's resolv.conf written with `dns`, or undefined when it has none of its own (the machine's is never written). */
  resolvConf?: string
  /** The dhclient process (keeps renewing; stopped with the lab). */
  process: SpawnedProcess
}

const DHCLIENT = '/sbin/dhclient'

/** The script dhclient runs for each event; `record` is where it writes the lease's options. */
export function dhclientScript(record: string): string {
  const rec = shellQuote([record])
  return `#!/bin/sh
# netspec's dhclient script: applies a lease inside this network namespace with ip(8) and records its
# options in ${rec}. It never writes /etc (the stock dhclient-script rewrites /etc/resolv.conf).
case "$reason" in
PREINIT)
  ip link set dev "$interface" up
  ;;
BOUND|RENEW|REBIND|REBOOT)
  if [ -n "$old_ip_address" ] && [ "$old_ip_address" != "$new_ip_address" ]; then
    ip -4 addr flush dev "$interface"
  fi
  ip -4 addr replace "$new_ip_address/$new_subnet_mask" \${new_broadcast_address:+broadcast "$new_broadcast_address"} dev "$interface" || exit 1
  for r in $new_routers; do
    ip -4 route replace default via "$r" dev "$interface" || exit 1
    break
  done
  {
    printf 'reason=%s\\n' "$reason"
    printf 'ip_address=%s\\n' "$new_ip_address"
    printf 'subnet_mask=%s\\n' "$new_subnet_mask"
    printf 'routers=%s\\n' "$new_routers"
    printf 'domain_name_servers=%s\\n' "$new_domain_name_servers"
    printf 'domain_name=%s\\n' "$new_domain_name"
    printf 'server=%s\\n' "$new_dhcp_server_identifier"
    printf 'lease_time=%s\\n' "$new_dhcp_lease_time"
  } > ${rec}.new && mv -f ${rec}.new ${rec}
  ;;
EXPIRE|FAIL|RELEASE|STOP)
  if [ -n "$old_ip_address" ]; then ip -4 addr del "$old_ip_address/$old_subnet_mask" dev "$interface" 2>/dev/null; fi
  rm -f ${rec}
  ;;
esac
exit 0
`
}

/** key=value lines of the record → the lease's fields (undefined until a BOUND-like event was recorded). */
export function parseLeaseRecord(text: string): Omit<DhcpLease, 'interface' | 'process' | 'resolvConf'> | undefined {
  const kv = new Map<string, string>()
  for (const line of text.split('\n')) {
    const i = line.indexOf('=')
    if (i > 0 && !kv.has(line.slice(0, i))) kv.set(line.slice(0, i), line.slice(i + 1).trim())
  }
  const address = kv.get('ip_address')
  const mask = kv.get('subnet_mask')
  if (address === undefined || address === '' || mask === undefined) return undefined
  const words = (k: string) => (kv.get(k) ?? '').split(/\s+/).filter(Boolean)
  return {
    address,
    prefixLength: maskToPrefix(mask),
    router: words('routers')[0],
    dns: words('domain_name_servers'),
    domain: kv.get('domain_name') || undefined,
    server: kv.get('server') ?? '',
    leaseTime: Number(kv.get('lease_time') ?? 0),
  }
}

export function maskToPrefix(mask: string): number {
  const bits = mask.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('')
  return /^1*0*$/.test(bits) && bits.length === 32 ? bits.indexOf('0') === -1 ? 32 : bits.indexOf('0') : Number.NaN
}

/**
 * Takes a DHCPv4 lease on `dev` (dhclient in the foreground, kept running for renewals, stopped with the
 * lab) and resolves once the address and default route are applied. Fails at the deadline, or when dhclient
 * gives up, with its last output ("No DHCPOFFERS received.").
 */
export async function dhcp(ns: Namespace, dev: string, options: DhcpOptions = {}, calledAt?: string): Promise<DhcpLease> {
  const ctx = { lab: ns.lab.label, namespace: ns.label, netns: ns.name, calledAt }
  checkKeys(options, ['timeoutMs', 'resolvConf'], 'dhcp', ctx)
  checkIfName(dev, ctx)
  if (!/^[\w.-]+$/.test(dev)) throw invalidInput(`dhcp: interface name '${dev}' may only have letters, digits, '_', '.' and '-' here (it names files)`, ctx)
  const timeoutMs = options.timeoutMs ?? 15_000
  if (!Number.isFinite(timeoutMs) || timeoutMs < 1000 || timeoutMs > 300_000)
    throw invalidInput(`dhcp: 'timeoutMs' must be from 1000 to 300000, got ${timeoutMs}`, ctx)
  if (ns.lab.executor.kind === 'local' && !existsSync(DHCLIENT))
    throw new NetspecError('missing-tool', `'dhclient' is not installed`, { ...ctx, hint: toolHint('dhclient') })

  const dir = join(await ns.lab.tempDir(), ns.name)
  const tag = `dhclient-${dev}`
  const record = join(dir, `${tag}.lease.env`)
  const script = await ns.writeFile(`${tag}.script`, dhclientScript(record))
  await ns.exec(['chmod', '0700', script], { check: true })
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000))
  const conf = await ns.writeFile(
    `${tag}.conf`,
    `timeout ${seconds};\nretry 1;\nrequest subnet-mask, broadcast-address, routers, domain-name, domain-name-servers, dhcp-lease-time, dhcp-server-identifier;\n`,
  )
  const argv = [DHCLIENT, '-4', '-d', '-1', '-v', '-sf', script, '-lf', join(dir, `${tag}.leases`), '-pf', join(dir, `${tag}.pid`), '-cf', conf, dev]
  const readRecord = () => (existsSync(record) ? parseLeaseRecord(readFileSync(record, 'utf8')) : undefined)
  const proc = await ns
    .spawn(argv, { name: 'dhclient', ready: ns.lab.executor.kind === 'local' ? () => readRecord() !== undefined : /bound to /, readyTimeoutMs: timeoutMs + 3000 })
    .catch((e: unknown) => {
      if (e instanceof Error && 'shortMessage' in e) {
        const ne = e as NetspecError
        throw new NetspecError(ne.kind, `no DHCP lease for ${dev} in ${ns.label}: ${ne.shortMessage.replace(/^dhclient in \S+ did not become ready: /, '')}`, {
          ...ctx,
          command: ne.command,
          exitCode: ne.exitCode,
          output: ne.output,
          hint: 'is a DHCP server running on that segment (e.g. dnsmasq --dhcp-range=…) and is the interface up and connected? dhclient’s last output is above',
          cause: e,
        })
      }
      throw e
    })
  let text: string
  if (ns.lab.executor.kind === 'local') text = readFileSync(record, 'utf8')
  else text = (await ns.exec(['cat', record], { check: true })).stdout
  const lease = parseLeaseRecord(text)
  if (lease === undefined) throw new NetspecError('command-failed', `dhclient bound ${dev} in ${ns.label} but recorded no lease`, { ...ctx, output: proc.lastLines(20) })

  let resolvConf: string | undefined
  if (options.resolvConf !== false && lease.dns.length > 0) resolvConf = await writeOwnResolvConf(ns, lease.dns, lease.domain)
  return { interface: dev, ...lease, resolvConf, process: proc }
}

/** Rewrites the namespace's own /etc/netns/<name>/resolv.conf in place (same inode: bound copies see it); never the machine's. */
async function writeOwnResolvConf(ns: Namespace, servers: readonly string[], domain: string | undefined): Promise<string | undefined> {
  const path = `/etc/netns/${ns.name}/resolv.conf`
  const text = `# written by netspec from the DHCP lease\n${domain !== undefined && /^[\w.-]+$/.test(domain) ? `search ${domain}\n` : ''}${servers
    .filter((s) => /^[\d.]+$/.test(s))
    .map((s) => `nameserver ${s}\n`)
    .join('')}`
  if (ns.lab.executor.kind !== 'local') {
    const r = await ns.lab.executor.run(['sh', '-c', '[ -f "$1" ] && [ ! -L "$1" ] && cat > "$1"', 'sh', path], { input: text })
    return r.exitCode === 0 ? path : undefined
  }
  let fd: number
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW)
  } catch {
    return undefined // the namespace reads the machine's file: leave it alone
  }
  try {
    ftruncateSync(fd, 0)
    writeSync(fd, text, 0)
  } finally {
    closeSync(fd)
  }
  return path
}
