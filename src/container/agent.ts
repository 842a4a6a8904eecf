// The agent that runs inside the runner container for the container executor: one long-lived Node
// process (Node is bind-mounted) reading JSON requests on stdin and answering on stdout, because a
// `docker exec` per command costs 50–85 ms. It is plain JavaScript, sent with `node -e`.

/** Request from the host. `op: 'run'` buffers output; `'spawn'` streams it; `'kill'` signals a child. */
export interface AgentRequest {
  id: number
  op: 'run' | 'spawn' | 'kill'
  argv?: readonly string[]
  netns?: string
  input?: string
  env?: Record<string, string>
  timeoutMs?: number
  maxBuffer?: number
  target?: number
  signal?: string
}

/** Answer: `started` (pid), `out` (a chunk of a spawned child), `exit` (the end; for run, with the output). */
export interface AgentEvent {
  id: number
  ev: 'started' | 'out' | 'exit'
  pid?: number
  stream?: 'stdout' | 'stderr'
  data?: string
  exitCode?: number
  signal?: string | null
  timedOut?: boolean
  stdout?: string
  stderr?: string
  error?: string
}

export const AGENT_SCRIPT = String.raw`'use strict'
const cp = require('child_process')
const rl = require('readline').createInterface({ input: process.stdin, crlfDelay: Infinity })
const send = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const kids = new Map()
const SIGNO = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }
rl.on('line', (line) => {
  let m
  try { m = JSON.parse(line) } catch { return }
  if (m.op === 'kill') { const k = kids.get(m.target); if (k) { try { k.kill(m.signal || 'SIGTERM') } catch {} } return }
  const argv = m.netns ? ['ip', 'netns', 'exec', m.netns, ...m.argv] : m.argv
  const max = m.maxBuffer || 16 * 1024 * 1024
  let child
  try {
    child = cp.spawn(argv[0], argv.slice(1), { env: m.env ? { ...process.env, ...m.env } : process.env, stdio: [m.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'] })
  } catch (e) { send({ id: m.id, ev: 'exit', exitCode: -1, error: String(e.code || e) }); return }
  kids.set(m.id, child)
  const out = { stdout: '', stderr: '' }
  let timedOut = false, timer, sent = false, error
  if (m.timeoutMs) timer = setTimeout(() => { timedOut = true; try { child.kill('SIGKILL') } catch {} }, m.timeoutMs)
  for (const s of ['stdout', 'stderr']) child[s].on('data', (c) => {
    const t = c.toString()
    if (m.op === 'spawn') send({ id: m.id, ev: 'out', stream: s, data: t })
    else out[s] = (out[s] + t).slice(-max)
  })
  if (child.pid !== undefined) send({ id: m.id, ev: 'started', pid: child.pid })
  const finish = (code, signal) => {
    if (sent) return
    sent = true
    clearTimeout(timer)
    kids.delete(m.id)
    const exitCode = code ?? (signal ? 128 + (SIGNO[signal] || 0) : -1)
    send({ id: m.id, ev: 'exit', exitCode, signal, timedOut, error, ...(m.op === 'run' ? out : {}) })
  }
  child.on('error', (e) => { error = String(e.code || e); finish(-1, null) })
  // A command that backgrounds a server keeps the pipes open: after its exit, wait for output only briefly.
  child.on('exit', (code, signal) => setTimeout(() => finish(code, signal), 100))
  child.on('close', (code, signal) => finish(code, signal))
  if (m.input !== undefined) { child.stdin.on('error', () => {}); child.stdin.end(m.input) }
})
rl.on('close', () => { for (const k of kids.values()) { try { k.kill('SIGKILL') } catch {} } process.exit(0) })
send({ id: 0, ev: 'started', pid: process.pid })
`
