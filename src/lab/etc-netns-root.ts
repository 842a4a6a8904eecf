// /etc/netns itself, when netspec has to create it: whether netspec made it is kept in a note file inside it
// (etc-netns.ts says why), so the directory must never exist without its note, not even for an instant an owner
// can be SIGKILLed in. One source, plain JavaScript in a string, as marker-check.ts: the reaper (a `node -e`
// string) embeds it and etc-netns.ts turns the same text into a function.
//
// - Creation: a directory is made beside it (`/etc/.netns.netspec-<pid>-<tag>-<n>.new`), the note written inside,
//   and the directory renamed to /etc/netns (rename(2) is one step; where libc is at hand, renameat2 with
//   RENAME_NOREPLACE, so an /etc/netns that appeared meanwhile is never replaced).
// - Removal: the note is moved out beside it (`….gone`), which takes netspec's claim away in one step; then the
//   directory goes if it is empty (rmdir), else the note goes back (a lab made its directory meanwhile); then the
//   moved note goes.
// An owner killed between two steps leaves only an entry beside /etc/netns named with its PID and start-time tag:
// `finish()` (the reaper for its owner, the sweep for every dead one) completes or undoes that step.
export const ETC_NETNS_ROOT_SOURCE = String.raw`
function etcNetnsRoot(fs, path, etcNetns, records) {
  const NOTE = '.netspec-created'
  // Every step beside etcNetns is first recorded in netspec's root-only state directory (records): an entry in /etc
  // proves nothing by its name (anyone with root can plant '.netns.netspec-<pid>-<tag>-<n>.gone'), so a recovery
  // acts only on entries netspec recorded (a review found a planted '.gone' made netspec delete an /etc/netns it
  // never made, or take one over).
  const record = (p) => { try { fs.mkdirSync(records, { mode: 0o700 }) } catch {} ; fs.writeFileSync(path.join(records, path.basename(p)), '', { flag: 'wx', mode: 0o600 }) }
  const recorded = (p) => { try { return fs.lstatSync(path.join(records, path.basename(p))).isFile() } catch { return false } }
  const unrecord = (p) => { try { fs.unlinkSync(path.join(records, path.basename(p))) } catch {} }
  const note = path.join(etcNetns, NOTE)
  const parent = path.dirname(etcNetns)
  const stem = '.' + path.basename(etcNetns) + '.netspec-'
  const pendingRe = new RegExp('^' + stem.replace(/[.]/g, '[.]') + '([1-9][0-9]{0,9})-([0-9a-z]{1,13})-([0-9a-z]{1,8})[.](new|gone)$')
  const pending = (pid, tag, kind) => path.join(parent, stem + pid + '-' + tag + '-' + Math.floor(Math.random() * 2176782336).toString(36) + '.' + kind)
  const code = (e) => (e && e.code) || ''

  // A creation's directory that did not become etcNetns: its note, then itself (anything else in it stays).
  function dropNew(dir) {
    try { fs.unlinkSync(path.join(dir, NOTE)) } catch {}
    try { fs.rmdirSync(dir) } catch {}
  }

  // etcNetns with the note already inside, or false when something is there already (made meanwhile by another
  // lab, or not a directory at all: the caller looks at it). rename(from, to) must fail rather than replace.
  function create(pid, tag, rename) {
    const dir = pending(pid, tag, 'new')
    record(dir)
    fs.mkdirSync(dir, { mode: 0o755 })
    try {
      fs.writeFileSync(path.join(dir, NOTE), pid + '\n', { flag: 'wx', mode: 0o644 })
      try {
        rename(dir, etcNetns)
        return true
      } catch (e) {
        if (['EEXIST', 'ENOTEMPTY', 'ENOTDIR', 'EISDIR'].includes(code(e))) return false
        throw e
      }
    } finally {
      dropNew(dir) // gone already after a rename
      unrecord(dir)
    }
  }

  // After the note was moved out to 'gone': etcNetns goes if empty, else the note goes back; then 'gone' goes.
  function settleGone(gone) {
    try { fs.rmdirSync(etcNetns) } catch (e) {
      if (code(e) === 'ENOTEMPTY' || code(e) === 'EEXIST') { try { fs.linkSync(gone, note) } catch {} }
    }
    try { fs.unlinkSync(gone) } catch {}
  }

  // Removes etcNetns when netspec created it (its note is there) and nothing but the note is left in it.
  function removeIfOurs(pid, tag) {
    try {
      if (!fs.existsSync(note) || fs.readdirSync(etcNetns).some((f) => f !== NOTE)) return false
    } catch { return false }
    const gone = pending(pid, tag, 'gone')
    try { record(gone) } catch { return false }
    try { fs.renameSync(note, gone) } catch { unrecord(gone); return false } // another lab's removal took the note first
    settleGone(gone)
    unrecord(gone)
    return !fs.existsSync(etcNetns)
  }

  // Completes the steps of owners for whom dead(pid, tag) holds; returns the entries it acted on.
  function finish(dead) {
    let names = []
    try { names = fs.readdirSync(parent) } catch { return [] }
    const done = []
    for (const n of names) {
      const m = pendingRe.exec(n)
      if (m === null || !dead(Number(m[1]), m[2])) continue
      const p = path.join(parent, n)
      if (!recorded(p)) continue // not a step netspec took: never acted on
      let st
      try { st = fs.lstatSync(p) } catch { continue }
      if (m[4] === 'new' && st.isDirectory()) dropNew(p)
      else if (m[4] === 'gone' && st.isFile()) settleGone(p)
      else continue
      unrecord(p)
      done.push(p)
    }
    // Records of a dead owner's steps that never happened, or that it finished but had no time to unrecord.
    let kept = []
    try { kept = fs.readdirSync(records) } catch {}
    for (const n of kept) {
      const m = pendingRe.exec(n)
      if (m !== null && dead(Number(m[1]), m[2]) && !fs.existsSync(path.join(parent, n))) unrecord(path.join(parent, n))
    }
    return done
  }

  return { note, create, removeIfOurs, finish }
}
`

export interface EtcNetnsRoot {
  /** The note file inside the directory. */
  note: string
  create(pid: number, tag: string, rename: (from: string, to: string) => void): boolean
  removeIfOurs(pid: number, tag: string): boolean
  finish(dead: (pid: number, tag: string) => boolean): string[]
}

type Fs = typeof import('node:fs')
type Path = typeof import('node:path')

export const etcNetnsRoot = new Function(`${ETC_NETNS_ROOT_SOURCE}\nreturn etcNetnsRoot`)() as (fs: Fs, path: Path, etcNetns: string, records: string) => EtcNetnsRoot
