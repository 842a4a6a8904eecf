// The schema every lab marker is checked against before anything in it is acted on, by the sweep and by the
// reaper alike. One source, plain JavaScript in a string: the reaper (src/reaper/script.ts) is itself a string
// run with `node -e` and embeds it; owner.ts turns the same text into a function. A marker is untrusted input
// (anyone with root may have written or corrupted it): a bad one is reported by file name and nothing in it is
// acted on. The names it may list are exactly the kernel names its own lab id produces, so no entry can become
// a path anywhere but /run/netns/<name> and /etc/netns/<name>.
export const MARKER_CHECK_SOURCE = String.raw`
function checkMarker(file, m) {
  const isInt = (x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return 'not a JSON object'
  if (m.version !== 1) return 'unknown version ' + JSON.stringify(m.version)
  if (typeof m.labId !== 'string') return 'labId is not a string'
  // <pid>-<tag>-<n>, nothing else: with the tag, the first three parts of a kernel name say whose it is. (The older
  // <pid>-<n> ids are refused: 'ns-4711-123-1-x' could be lab 4711-123's '1-x' or lab 4711-123-1's 'x'.)
  const id = /^([1-9][0-9]{0,9})-([0-9a-z]{1,13})-([1-9][0-9]{0,9})$/.exec(m.labId)
  if (id === null) return 'labId ' + JSON.stringify(m.labId.slice(0, 80)) + ' is not <pid>-<tag>-<n>'
  if (file !== m.labId + '.json') return 'file name does not match labId ' + m.labId
  if (m.ownerPid !== Number(id[1])) return 'ownerPid ' + JSON.stringify(m.ownerPid) + ' does not match labId ' + m.labId
  if (m.ownerStart !== undefined && !isInt(m.ownerStart)) return 'ownerStart is not a number of clock ticks'
  if (m.ownerStart !== undefined && m.ownerStart.toString(36) !== id[2]) return 'ownerStart does not match labId ' + m.labId
  if (typeof m.label !== 'string' || m.label.length > 4096) return 'label is not a string'
  if (m.createdAt !== undefined && typeof m.createdAt !== 'string') return 'createdAt is not a string'
  if (m.kept !== undefined && typeof m.kept !== 'boolean') return 'kept is not a boolean'
  const prefix = 'ns-' + m.labId + '-'
  const badName = (n) => typeof n !== 'string' || !n.startsWith(prefix) || !/^[A-Za-z0-9_.-]{1,32}$/.test(n.slice(prefix.length)) || n.length > 255
  const names = (key, list) => {
    if (!Array.isArray(list)) return key + ' is not a list'
    if (list.length > 100000) return key + ' lists too many entries'
    for (const n of list) if (badName(n)) return key + ' entry ' + JSON.stringify(String(n).slice(0, 80)) + ' is not a kernel name of lab ' + m.labId
    return undefined
  }
  const ns = names('namespaces', m.namespaces)
  if (ns !== undefined) return ns
  if (m.adopted !== undefined) {
    const ad = names('adopted', m.adopted)
    if (ad !== undefined) return ad
  }
  if (m.etc !== undefined) {
    if (m.etc === null || typeof m.etc !== 'object' || Array.isArray(m.etc)) return 'etc is not an object'
    for (const [n, files] of Object.entries(m.etc)) {
      if (badName(n) || !m.namespaces.includes(n)) return 'etc entry ' + JSON.stringify(n.slice(0, 80)) + ' is not a namespace of lab ' + m.labId
      if (!Array.isArray(files)) return 'etc files of ' + n + ' are not a list'
      for (const f of files) if (typeof f !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/.test(f)) return 'etc file ' + JSON.stringify(String(f).slice(0, 80)) + ' is not a plain file name'
    }
  }
  // lab.tempDir(): an absolute, normalised path whose last part is exactly what mkdtemp made for this lab id.
  if (m.tempDir !== undefined) {
    const t = m.tempDir
    if (typeof t !== 'string' || t.length > 4096 || !t.startsWith('/') || /[\u0000-\u001f]/.test(t) || t.split('/').slice(1).some((c) => c === '' || c === '.' || c === '..'))
      return 'tempDir is not an absolute, normalised path'
    const last = t.slice(t.lastIndexOf('/') + 1)
    if (!new RegExp('^netspec-lab-' + m.labId + '-[A-Za-z0-9]{6}$').test(last)) return 'tempDir ' + JSON.stringify(last.slice(0, 80)) + ' is not the temp directory of lab ' + m.labId
  }
  // netspec never records containers in a lab marker (its runner containers have their own lifelines and labels;
  // adopted ones are never removed): a marker that lists some was not written by netspec, and a docker id prefix
  // could name any container of the machine.
  if (m.containers !== undefined) return 'containers: netspec never lists containers in a lab marker'
  return undefined
}
`
