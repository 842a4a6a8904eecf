// What a set of owner processes left behind, read straight from the kernel and the file system.
// Judged only by those owners' PIDs (kernel names `ns-<pid>-…`, markers `<pid>-….json`) and a run tag
// on the command line of every process they started: other runs may build labs on this machine meanwhile.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { LABS_DIR } from '../../src/lab/owner.js'

export interface Leftovers {
  namespaces: string[]
  etcNetns: string[]
  markers: string[]
  mounts: string[]
  processes: string[]
  rootLinks: string[]
}

const ours = (pids: ReadonlySet<number>, name: string, re: RegExp) => {
  const m = re.exec(name)
  return m !== null && pids.has(Number(m[1]))
}

/** Everything of these owners still present; `linkPrefix` names the interfaces they used (never in the root namespace). */
export function leftoversOf(owners: Iterable<number>, tag: string, linkPrefix = 'tt'): Leftovers {
  const pids = new Set(owners)
  const nsName = /^ns-(\d+)-[0-9a-z]+-\d+-/
  const netns = existsSync('/run/netns') ? readdirSync('/run/netns') : []
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
  const links = JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { ifname: string }[]
  return {
    namespaces: netns.filter((n) => ours(pids, n, nsName)),
    etcNetns: [
      ...(existsSync('/etc/netns') ? readdirSync('/etc/netns') : []).filter((n) => ours(pids, n, nsName)),
      // A creation or removal of /etc/netns itself cut short (src/lab/etc-netns-root.ts), beside it in /etc.
      ...readdirSync('/etc').filter((n) => ours(pids, n, /^\.netns\.netspec-(\d+)-/)).map((n) => `/etc/${n}`),
    ],
    markers: (existsSync(LABS_DIR) ? readdirSync(LABS_DIR) : []).filter((f) => ours(pids, f, /^(\d+)-[0-9a-z]+-\d+\.json/)),
    mounts: mountinfo.filter((l) => {
      const point = l.split(' ')[4] ?? ''
      return point.startsWith('/run/netns/') && ours(pids, point.slice('/run/netns/'.length), nsName)
    }),
    processes: taggedProcesses(tag),
    rootLinks: links.map((l) => l.ifname).filter((n) => n.startsWith(linkPrefix)),
  }
}

/** Processes whose command line carries the tag (other than the caller). */
export function taggedProcesses(tag: string): string[] {
  const out: string[] = []
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8')
      if (cmd.includes(tag) && stat[stat.lastIndexOf(')') + 2] !== 'Z') out.push(`${e}: ${cmd}`)
    } catch {
      // exited meanwhile
    }
  }
  return out
}

/** Processes still running among these PIDs (e.g. reapers that should have exited). */
export function alive(pids: Iterable<number>): number[] {
  return [...pids].filter((p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      return stat[stat.lastIndexOf(')') + 2] !== 'Z'
    } catch {
      return false
    }
  })
}

export const nothingLeft = (l: Leftovers): boolean => Object.values(l).every((v: string[]) => v.length === 0)

/** Polls until nothing of these owners is left or the deadline passes; returns what is left and when it went. */
export async function waitUntilClean(owners: Iterable<number>, tag: string, deadlineMs = 10_000): Promise<{ left: Leftovers; ms: number }> {
  const started = performance.now()
  const list = [...owners]
  for (;;) {
    const left = leftoversOf(list, tag)
    const ms = performance.now() - started
    if (nothingLeft(left) || ms > deadlineMs) return { left, ms }
    await new Promise((r) => setTimeout(r, 20))
  }
}
