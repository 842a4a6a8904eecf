// The reaper's own program, run as `node -e REAPER_SOURCE <ownerPid> <ownerStart> <labsDir> <etcNetns>`.
// Why a string and not a file: it must run the same from the sources under Vitest (where .ts cannot be
// run by plain node) and from the published dist, with nothing to copy or resolve. It is self-contained
// (node built-ins and `ip` only) and does what sweep({ owner }) does, for one dead owner.
//
// It reads standard input, a pipe whose other end only the owner holds: EOF means the owner has exited
// (normally, by SIGKILL or by the OOM killer alike). Then it waits until the owner is really gone,
// removes the labs whose marker names that owner (never a kept one, never anything without a marker),
// and exits. Cleaning runs in passes: one at once, then re-checks that catch a process or namespace
// that an `ip` the owner had started finished creating after the owner died.
export const REAPER_SOURCE = String.raw`
'use strict'
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

function markers() {
  let files = []
  try { files = fs.readdirSync(labsDir) } catch { return [] }
  const out = []
  for (const f of files) {
    if (!f.startsWith(ownerPid + '-') || !f.endsWith('.json')) continue
    try {
      const m = JSON.parse(fs.readFileSync(path.join(labsDir, f), 'utf8'))
      if (m.version !== 1 || m.ownerPid !== ownerPid || String(m.ownerStart) !== ownerStart || m.kept === true) continue
      if (!Array.isArray(m.namespaces) || 'labId' in m === false || f !== m.labId + '.json') continue
      out.push(m)
    } catch {}
  }
  return out
}

// A marker is written to <labId>.json.<pid>.tmp and renamed: an owner killed in between leaves the
// .tmp (nothing was created yet: the marker is written before the namespace it names).
function removeHalfWritten() {
  let files = []
  try { files = fs.readdirSync(labsDir) } catch { return }
  const re = new RegExp('^' + ownerPid + '-\\d+\\.json\\.' + ownerPid + '\\.tmp$')
  for (const f of files) if (re.test(f)) fs.rmSync(path.join(labsDir, f), { force: true })
}

// Namespace inodes are remembered across passes: a process that entered a namespace just before its
// name was deleted still keeps it alive, and is found by the inode. An open descriptor holds each one,
// so that its inode number cannot be given to another run's new namespace meanwhile (nsfs reuses them).
const inodes = new Set()
const held = []
function pidsIn() {
  const pids = []
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue
    try { if (inodes.has(fs.readlinkSync('/proc/' + e + '/ns/net'))) pids.push(Number(e)) } catch {}
  }
  return pids
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

async function pass(labs) {
  const there = present()
  for (const m of labs) for (const n of m.namespaces) {
    if (!there.has(n) || (m.adopted || []).includes(n)) continue
    try {
      const fd = fs.openSync('/run/netns/' + n, 'r')
      const ino = 'net:[' + fs.fstatSync(fd).ino + ']'
      if (inodes.has(ino)) fs.closeSync(fd)
      else { inodes.add(ino); held.push(fd) }
    } catch {}
  }
  await killAll()
  const names = labs.flatMap((m) => [...m.namespaces, ...(m.adopted || [])]).filter((n) => there.has(n))
  if (names.length > 0) cp.spawnSync('ip', ['-force', '-batch', '-'], { input: names.map((n) => 'netns del ' + n).join('\n') + '\n', stdio: ['pipe', 'ignore', 'ignore'], timeout: 10000 })
  for (const m of labs) for (const n of m.namespaces) fs.rmSync(path.join(etcNetns, n), { recursive: true, force: true })
  const note = path.join(etcNetns, '.netspec-created')
  if (fs.existsSync(note) && fs.readdirSync(etcNetns).every((f) => f === '.netspec-created')) {
    try { fs.rmSync(note, { force: true }); fs.rmdirSync(etcNetns) } catch {}
  }
  for (const m of labs) {
    // lab.tempDir(): only a directory named as mkdtemp named it for this lab (see isLabTempDir in lab/owner.ts).
    const t = m.tempDir
    const re = new RegExp('^netspec-lab-' + String(m.labId).replace(/[^\d-]/g, '') + '-[A-Za-z0-9]{6}$')
    if (typeof t === 'string' && path.isAbsolute(t) && path.normalize(t) === t && re.test(path.basename(t))) {
      try { if (fs.lstatSync(t).isDirectory()) fs.rmSync(t, { recursive: true, force: true }) } catch {}
    }
  }
  for (const m of labs) {
    const ids = (m.containers || []).filter((c) => /^[\w.-]+$/.test(c))
    if (ids.length > 0) cp.spawnSync('docker', ['rm', '-f', '-v', ...ids], { stdio: 'ignore', timeout: 20000 })
  }
  return names.length
}

async function reap() {
  // The pipe closes a moment before the kernel has finished with the owner: wait (bounded) until it is gone.
  for (let i = 0; i < 500 && ownerAlive(); i++) await sleep(10)
  if (ownerAlive()) { log('pipe closed but the owner lives on: leaving its labs alone'); return }
  removeHalfWritten()
  const labs = markers()
  if (labs.length === 0) { log('owner gone, no labs of it left'); return }
  log('owner gone, reaping ' + labs.map((m) => m.labId).join(' '))
  const removed = await pass(labs)
  for (const delay of [50, 150, 300]) { await sleep(delay); await pass(labs) }
  await killAll()
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
