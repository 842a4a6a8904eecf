// One bpftrace for a whole Vitest run instead of one per worker: the global setup (src/vitest/setup.ts) opens a
// unix socket and names it in NETSPEC_DROPS_HUB, which the workers inherit; the first worker that needs drop
// reasons makes the hub start bpftrace (owned by the run's main process: the kernel kills it with that process),
// and every worker gets every line (the reason names and 'ready' replayed to late comers). Each worker still holds
// its own namespace fds and keeps only its own labs' drops. Why: the start-up (~1 s idle, several under load, LLVM)
// was paid by every test file's process; measured in docs/drops.md.
import { lstatSync, readdirSync, rmSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { STATE_DIR, ensureOwnDir, ownDirProblem, processStartTime } from '../lab/owner.js'
import { createServer, type Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { dropsSupport, spawnBpftrace } from './watcher.js'
import type { ChildProcess } from 'node:child_process'

export interface DropHub {
  path: string
  /** bpftrace's PID, once a worker has made the hub start it. */
  readonly pid: number | undefined
  close(): Promise<void>
}

/**
 * The sockets of earlier runs' hubs whose main process died without closing them (SIGKILL): `drops-<pid>.sock`
 * with no such process any more (a socket, never followed: lstat). A live run's socket is left alone.
 */
export function removeDeadHubSockets(dir: string): string[] {
  const removed: string[] = []
  if (ownDirProblem(dir) !== undefined) return removed // a link, or a directory others can change: never ours to clean
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return removed
  }
  for (const n of names) {
    const m = /^drops-([1-9]\d{0,9})\.sock$/.exec(n)
    if (m === null || processStartTime(Number(m[1])) !== undefined) continue
    try {
      if (!lstatSync(join(dir, n)).isSocket()) continue
      unlinkSync(join(dir, n))
      removed.push(n)
    } catch {
      // gone meanwhile
    }
  }
  return removed
}

/** Starts the run's hub (bpftrace itself only on first use), or undefined where drop reasons are off here. */
export async function startDropHub(dir = STATE_DIR): Promise<DropHub | undefined> {
  if (!dropsSupport().on) return undefined
  // netspec's state directory (NETSPEC_STATE_DIR), checked as for markers: dead runs' sockets are removed from it
  // and this run's is bound in it, so it must be a real directory nobody else can change.
  ensureOwnDir(dir)
  removeDeadHubSockets(dir)
  const path = `${dir}/drops-${process.pid}.sock`
  rmSync(path, { force: true })
  const clients = new Set<Socket>()
  const preamble: string[] = []
  let child: ChildProcess | undefined
  let stderr = ''
  let failure: string | undefined

  const start = () => {
    child = spawnBpftrace(process.env)
    child.unref()
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (s: string) => (stderr = (stderr + s.split('\n').filter((l) => !/RLIMIT_MEMLOCK/.test(l)).join('\n')).slice(-4000)))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('print fmt') || line === 'ready') preamble.push(line)
      for (const c of clients) c.write(`${line}\n`)
    })
    const end = (why: string) => {
      failure ??= why
      for (const c of clients) c.end(`E ${failure}\n`)
    }
    child.on('error', (e) => end(`cannot start bpftrace: ${e.message}`))
    child.on('exit', (code, signal) => end(`bpftrace exited (${signal ?? `code ${code}`})${stderr.trim() === '' ? '' : `: ${stderr.trim().split('\n').slice(-3).join(' / ')}`}`))
  }

  const server = createServer((sock) => {
    sock.on('error', () => {})
    if (failure !== undefined) return void sock.end(`E ${failure}\n`)
    clients.add(sock)
    sock.on('close', () => clients.delete(sock))
    if (child === undefined) start()
    for (const l of preamble) sock.write(`${l}\n`)
  })
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve))
  server.unref()
  return {
    path,
    get pid() {
      return child?.pid
    },
    async close() {
      child?.kill('SIGKILL')
      for (const c of clients) c.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      rmSync(path, { force: true })
    },
  }
}
