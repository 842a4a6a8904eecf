// Reads this machine's namespaces for `netspec graph`. Read-only: `ip -j` reads, `docker ps/inspect`,
// and `nsenter -n` into containers' namespaces (never `ip netns attach`, which would add a name).
import { readlinkSync, statSync } from 'node:fs'
import { defaultExecutor, type Executor } from '../exec/index.js'
import { listNetns } from '../kernel/ip.js'
import { ownerAlive, parseKernelName, readMarkers } from '../lab/owner.js'
import { parseIfaces, parseNsids, resolveEdges, splitJsonValues, type GraphNamespace, type NetGraph } from './graph-model.js'

const BATCH = 'addr show\nnetns list-id\n'

/** One `ip -j -d -batch -` per namespace: links with addresses, and the nsid table. */
async function readNs(exec: Executor, prefix: string[], ipArgs: string[] = []): Promise<Pick<GraphNamespace, 'ifaces' | 'nsids'> | undefined> {
  const r = await exec.run([...prefix, 'ip', ...ipArgs, '-j', '-d', '-batch', '-'], { input: BATCH, timeoutMs: 10_000 })
  if (r.exitCode !== 0) return undefined // gone meanwhile (other runs' labs come and go)
  const [links, ids] = splitJsonValues(r.stdout)
  return { ifaces: parseIfaces(links), nsids: parseNsids(ids) }
}

function inode(path: string, viaLink: boolean): string | undefined {
  try {
    return viaLink ? readlinkSync(path) : `net:[${statSync(path).ino}]`
  } catch {
    return undefined
  }
}

async function limit<T, R>(items: readonly T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await fn(items[i]!)
      }
    }),
  )
  return out
}

interface Container {
  id: string
  name: string
  pid: number
}

/** Running Docker containers with their PIDs, or why docker did not answer. */
export async function dockerContainers(exec: Executor): Promise<{ containers: Container[]; note?: string }> {
  let ps
  try {
    ps = await exec.run(['docker', 'ps', '--no-trunc', '--format', '{{.ID}}\t{{.Names}}'], { timeoutMs: 5000 })
  } catch {
    return { containers: [] } // docker not installed: nothing to say
  }
  if (ps.exitCode !== 0) return { containers: [], note: `docker did not answer (${ps.stderr.trim().split('\n')[0]}): containers not shown` }
  const rows = ps.stdout.split('\n').filter(Boolean).map((l) => l.split('\t') as [string, string])
  if (rows.length === 0) return { containers: [] }
  const ins = await exec.run(['docker', 'inspect', '--format', '{{.Id}}\t{{.State.Pid}}', ...rows.map((r) => r[0])], { timeoutMs: 5000 })
  const pids = new Map(ins.stdout.split('\n').filter(Boolean).map((l) => l.split('\t') as [string, string]))
  return {
    containers: rows
      .map(([id, name]) => ({ id, name, pid: Number(pids.get(id)) }))
      .filter((c) => Number.isInteger(c.pid) && c.pid > 0),
  }
}

export async function collectGraph(options: { executor?: Executor; docker?: boolean } = {}): Promise<NetGraph> {
  const exec = options.executor ?? defaultExecutor()
  const notes: string[] = []
  const markers = readMarkers()
  const labOf = (name: string): GraphNamespace['lab'] => {
    const m = markers.find((mk) => mk.namespaces.includes(name) || (mk.adopted ?? []).includes(name))
    if (m === undefined) return undefined
    const state = ownerAlive(m) ? 'live' : m.kept === true ? 'kept' : 'dead owner'
    return { label: m.label, labId: m.labId, nsLabel: parseKernelName(name)?.label ?? name, state }
  }

  const named = await listNetns(exec)
  const docker = options.docker === false ? { containers: [] } : await dockerContainers(exec)
  if (docker.note !== undefined) notes.push(docker.note)

  // One namespace may be both named and a container's (an adopted container): identify by inode.
  const hostInode = inode('/proc/1/ns/net', true)
  const byInode = new Map<string, GraphNamespace>()
  const all: GraphNamespace[] = []
  const add = (ino: string | undefined, ns: GraphNamespace) => {
    if (ino !== undefined) byInode.set(ino, ns)
    all.push(ns)
  }

  const host = await readNs(exec, [])
  if (host !== undefined) add(hostInode, { key: 'host', title: 'host (root namespace)', kind: 'host', ...host })

  const namedRead = await limit(named, 8, async (name) => ({ name, data: await readNs(exec, [], ['-n', name]) }))
  for (const { name, data } of namedRead) {
    if (data === undefined) continue
    const ino = inode(`/run/netns/${name}`, false)
    if (ino !== undefined && ino === hostInode) continue // a name for the root namespace itself
    const lab = labOf(name)
    add(ino, { key: name, title: name, kind: 'named', netns: name, ...(lab === undefined ? {} : { lab }), ...data })
  }

  const fresh = docker.containers.filter((c) => {
    const ns = byInode.get(inode(`/proc/${c.pid}/ns/net`, true) ?? '')
    if (ns === undefined) return true
    ns.container = c // adopted by a lab, or host-networked: annotate the namespace already read
    return false
  })
  const containerRead = await limit(fresh, 8, async (c) => ({ c, data: await readNs(exec, ['nsenter', '-t', String(c.pid), '-n']) }))
  for (const { c, data } of containerRead) {
    if (data === undefined) continue
    add(inode(`/proc/${c.pid}/ns/net`, true), { key: `container:${c.id}`, title: `container ${c.name}`, kind: 'container', container: c, ...data })
  }

  const edges = resolveEdges(all)
  // The host is drawn only when a veth of the graph reaches into it (e.g. Docker's).
  const hostUsed = edges.some((e) => (e.a.key === 'host' && 'key' in e.b && e.b.key !== 'host') || ('key' in e.b && e.b.key === 'host' && e.a.key !== 'host'))
  const namespaces = hostUsed ? all : all.filter((n) => n.key !== 'host')
  return { namespaces, edges: hostUsed ? edges : edges.filter((e) => e.a.key !== 'host'), notes }
}
