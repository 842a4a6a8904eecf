// The reaper's own program, run as `node -e REAPER_SOURCE <ownerPid> <ownerStart> <labsDir> <etcNetns>`.
// Why a string and not a file: it must run the same from the sources under Vitest (where .ts cannot be
// run by plain node) and from the published dist, with nothing to copy or resolve. It is self-contained
// (node built-ins and `ip` only) and does what sweep({ owner, force: true }) does, for one dead owner.
//
// It reads standard input, a pipe whose other end only the owner holds: EOF means the owner has exited
// (normally, by SIGKILL or by the OOM killer alike). Then it waits until the owner is really gone,
// removes the labs whose marker names that owner (never a kept one, never anything without a marker),
// and exits. Cleaning runs in passes: one at once, then re-checks that catch a process or namespace
// that an `ip` the owner had started finished creating after the owner died.
import { ETC_NETNS_ROOT_SOURCE } from '../lab/etc-netns-root.js'
import { MARKER_CHECK_SOURCE } from '../lab/marker-check.js'

export const REAPER_SOURCE = String.raw`
'use strict'
${MARKER_CHECK_SOURCE}
${ETC_NETNS_ROOT_SOURCE}
const fs = require('node:fs')
const path = require('node:path')
const cp = require('node:child_process')
const [ownerPid, ownerStart, labsDir, etcNetns] = [Number(process.argv[1]), process.argv[2], process.argv[3], process.argv[4]]
const stateDir = path.dirname(labsDir)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const log = process.env.NETSPEC_REAPER_LOG ? (s) => { try { fs.appendFileSync(process.env.NETSPEC_REAPER_LOG, new Date().toISOString() + ' reaper ' + process.pid + ' owner ' + ownerPid + ': ' + s + '\n') } catch {} } : () => {}

for (const sig of ['SIGINT', 'SIGHUP', 'SIGPIPE']) process.on(sig, () => {})

// Start time and state of a process, or undefined if it is gone.
function stat(pid) {
  try {
    const s = fs.readFileSync('/proc/' + pid + '/stat', 'utf8')
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    return { state: f[0], start: f[19] }
  } catch { return undefined }
}
function ownerAlive() {
  const s = stat(ownerPid)
  return s !== undefined && s.state !== 'Z' && (ownerStart === 'undefined' || s.start === ownerStart)
}

// Markers are untrusted input: each is read without following a symlink and checked against the same schema
// as the sweep's (src/lab/marker-check.ts); a bad one is logged and nothing in it is acted on.
function markers() {
  let files = []
  try { files = fs.readdirSync(labsDir) } catch { return [] }
  const out = []
  for (const f of files) {
    if (!f.startsWith(ownerPid + '-') || !f.endsWith('.json')) continue
    try {
      const fd = fs.openSync(path.join(labsDir, f), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK)
      let m
      try {
        if (!fs.fstatSync(fd).isFile()) { log('bad marker ' + f + ': not a regular file'); continue }
        m = JSON.parse(fs.readFileSync(fd, 'utf8'))
      } finally { fs.closeSync(fd) }
      const bad = checkMarker(f, m)
      if (bad !== undefined) { log('bad marker ' + f + ': ' + bad + '; left alone'); continue }
      if (m.ownerPid !== ownerPid || String(m.ownerStart) !== ownerStart || m.kept === true) continue
      out.push(m)
    } catch (e) { log('bad marker ' + f + ': ' + e) }
  }
  return out
}

// A marker is written to <labId>.json.<pid>.tmp and renamed: an owner killed in between leaves the
// .tmp (nothing was created yet: the marker is written before the namespace it names).
function removeHalfWritten() {
  let files = []
  try { files = fs.readdirSync(labsDir) } catch { return }
  const re = new RegExp('^' + ownerPid + '-[0-9a-z]+-\\d+\\.json\\.' + ownerPid + '\\.tmp$')
  for (const f of files) if (re.test(f)) fs.rmSync(path.join(labsDir, f), { force: true })
}

// Namespace inodes are remembered across passes: a process that entered a namespace just before its
// name was deleted still keeps it alive, and is found by the inode. An open descriptor holds each one,
// so that its inode number cannot be given to another run's new namespace meanwhile (nsfs reuses them).
const inodes = new Set()
const held = []
// A namespace holding a process that started before the owner is not one the owner's lab created (its namespaces,
// and every process in them, are younger than the owner): a re-bound name or a forged marker. It is never emptied.
const refused = new Set()
function pidsIn() {
  const found = []
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue
    try {
      const ino = fs.readlinkSync('/proc/' + e + '/ns/net')
      if (!inodes.has(ino)) continue
      const s = stat(Number(e))
      if (s !== undefined && ownerStart !== 'undefined' && Number(s.start) < Number(ownerStart)) {
        inodes.delete(ino); refused.add(ino)
        log(ino + ' holds process ' + e + ', older than the owner: not a namespace of its labs, left alone')
      } else found.push({ pid: Number(e), ino })
    } catch {}
  }
  return found.filter((f) => inodes.has(f.ino)).map((f) => f.pid)
}
async function killAll() {
  for (let round = 0; round < 50; round++) {
    const pids = pidsIn().filter((p) => { const s = stat(p); return s !== undefined && s.state !== 'Z' })
    if (pids.length === 0) return
    for (const p of pids) { try { process.kill(p, 'SIGKILL') } catch {} }
    await sleep(10)
  }
}
function present() {
  try { return new Set(fs.readdirSync('/run/netns')) } catch { return new Set() }
}

// Only a namespace mount counts: a plain file at /run/netns/<name> (a crashed creation) has an inode of /run's
// file system, whose number could equal some namespace's.
let nsfs
try { nsfs = fs.statSync('/proc/self/ns/net').dev } catch {}
// A name is untrusted (a forged marker, or a name re-bound since, e.g. by 'ip netns attach NAME 1'): the machine's own
// namespace (PID 1's) and the reaper's are never emptied, whatever name points at them; the name alone is unlinked.
const machine = new Set()
for (const p of ['/proc/1/ns/net', '/proc/self/ns/net']) { try { machine.add(fs.readlinkSync(p)) } catch {} }

let root
const etcRoot = () => (root ??= etcNetnsRoot(fs, path, etcNetns, path.join(stateDir, 'etc-pending')))
const ownTag = () => { const s = stat(process.pid); return s === undefined ? 'x' : Number(s.start).toString(36) }

// Only what the lab created in /etc/netns: its own files, then the directory if empty (never followed).
function removeEtc(m) {
  for (const [n, files] of Object.entries(m.etc || {})) {
    const dir = path.join(etcNetns, n)
    let st
    try { st = fs.lstatSync(dir) } catch { continue }
    if (!st.isDirectory()) continue
    for (const f of files) { try { if (!fs.lstatSync(path.join(dir, f)).isDirectory()) fs.unlinkSync(path.join(dir, f)) } catch {} }
    try { fs.rmdirSync(dir) } catch {}
  }
}

function trustedParent(dir) {
  let at = ''
  for (const part of ['', ...dir.split('/').filter((p) => p !== '')]) {
    at = part === '' ? '/' : (at === '/' ? '' : at) + '/' + part
    const st = fs.lstatSync(at)
    if (st.isSymbolicLink() || !st.isDirectory()) return false
    if (st.uid !== 0 && st.uid !== process.geteuid()) return false
    if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) return false
  }
  return true
}

async function pass(labs) {
  const there = present()
  for (const m of labs) for (const n of m.namespaces) {
    if (!there.has(n) || (m.adopted || []).includes(n) || held.length >= holdBudget) continue
    let fd
    try { fd = fs.openSync('/run/netns/' + n, 'r') } catch { continue } // gone, or no descriptor left: the inode is still read below
    try {
      const st = fs.fstatSync(fd)
      const ino = 'net:[' + st.ino + ']'
      if (st.dev !== nsfs || inodes.has(ino) || refused.has(ino) || machine.has(ino)) { if (machine.has(ino)) log(n + ' is the machine\'s own namespace: its processes are left alone'); fs.closeSync(fd) }
      else { inodes.add(ino); held.push(fd) }
    } catch { fs.closeSync(fd) }
  }
  await killAll()
  const names = labs.flatMap((m) => [...m.namespaces, ...(m.adopted || [])]).filter((n) => there.has(n))
  if (names.length > 0) cp.spawnSync('ip', ['-force', '-batch', '-'], { input: names.map((n) => 'netns del ' + n).join('\n') + '\n', stdio: ['pipe', 'ignore', 'ignore'], timeout: 10000 })
  for (const m of labs) removeEtc(m)
  // /etc/netns itself, if netspec made it and nothing is left in it (a lab that made its directory meanwhile keeps it).
  etcRoot().removeIfOurs(process.pid, ownTag())
  for (const m of labs) {
    // lab.tempDir(): the marker schema (checkMarker) let through only this lab's own mkdtemp name.
    // Its parent path must be free of symlinks (real path is itself) and it must be a directory, not a link.
    // As the lab makes it (src/lab/tempdir.ts): ours and 0700, in a parent no other user can change (each
    // component root's or ours, sticky where others may write), as markedTempDir checks for the sweep.
    const t = m.tempDir
    if (typeof t === 'string') {
      try {
        const st = fs.lstatSync(t)
        if (fs.realpathSync(path.dirname(t)) === path.dirname(t) && st.isDirectory() && st.uid === process.geteuid() && (st.mode & 0o077) === 0 && trustedParent(path.dirname(t))) fs.rmSync(t, { recursive: true, force: true })
        else log('temp directory ' + t + ' is not as netspec makes it: left alone')
      } catch {}
    }
  }
  return names.length
}

// The reaper inherits its owner's RLIMIT_NOFILE, which may be what the owner ran out of: raise its own before
// reaping (to fs.nr_open where CAP_SYS_RESOURCE allows, else the soft limit to the hard one), and hold namespaces
// open only within what is left, so that listing /proc and running ip can never fail for want of a descriptor.
function fileLimit() {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))
    const [soft, hard] = line.split(/\s{2,}/).slice(1, 3).map((x) => x === 'unlimited' ? Infinity : Number(x))
    return { soft, hard }
  } catch { return { soft: 1024, hard: 1024 } }
}
let holdBudget = 0
function raiseFileLimit(need) {
  try {
    const max = Math.min(Number(fs.readFileSync('/proc/sys/fs/nr_open', 'utf8')), 1048576)
    const { soft, hard } = fileLimit()
    if (soft < need) { // the usual case (a limit far above the lab's size) costs no process
      const r = cp.spawnSync('prlimit', ['--pid', String(process.pid), '--nofile=' + max + ':' + max], { stdio: 'ignore', timeout: 5000 })
      if (r.status !== 0 && soft < hard) cp.spawnSync('prlimit', ['--pid', String(process.pid), '--nofile=' + hard + ':' + hard], { stdio: 'ignore', timeout: 5000 })
    }
  } catch {}
  holdBudget = Math.max(0, Math.min(fileLimit().soft, 1 << 20) - 64)
  log('descriptor limit ' + fileLimit().soft + ', holding at most ' + holdBudget + ' namespaces open')
}

async function reap() {
  // The pipe closes a moment before the kernel has finished with the owner: wait (bounded) until it is gone.
  for (let i = 0; i < 500 && ownerAlive(); i++) await sleep(10)
  if (ownerAlive()) { log('pipe closed but the owner lives on: leaving its labs alone'); return }
  removeHalfWritten()
  // A creation or removal of /etc/netns itself that the owner was killed in the middle of: completed (etc-netns-root.ts).
  if (ownerStart !== 'undefined') {
    const done = etcRoot().finish((pid, tag) => pid === ownerPid && tag === Number(ownerStart).toString(36))
    if (done.length > 0) log('finished ' + done.join(' '))
  }
  const labs = markers()
  if (labs.length === 0) { log('owner gone, no labs of it left'); return }
  log('owner gone, reaping ' + labs.map((m) => m.labId).join(' '))
  raiseFileLimit(labs.reduce((n, m) => n + m.namespaces.length, 0) + 128)
  let removed = 0
  // A pass that fails (e.g. EMFILE despite the raise) is retried by the next ones.
  for (const delay of [0, 50, 150, 300]) {
    await sleep(delay)
    try { removed = Math.max(removed, await pass(labs)) } catch (e) { log('pass failed: ' + e) }
  }
  try { await killAll() } catch (e) { log('kill failed: ' + e) }
  for (const fd of held) fs.closeSync(fd) // now the namespaces may go
  const left = present()
  for (const m of labs) if (!m.namespaces.some((n) => left.has(n))) fs.rmSync(path.join(labsDir, m.labId + '.json'), { force: true })
  log('done: ' + removed + ' namespace(s) removed')
}

let reaping = false
const start = () => { if (reaping) return; reaping = true; reap().catch((e) => log('failed: ' + e)).finally(() => process.exit(0)) }
process.stdin.on('data', () => {})
process.stdin.on('end', start)
process.stdin.on('close', start)
process.stdin.on('error', start)
`
