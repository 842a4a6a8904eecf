// The runner image, built with no registry: this machine's own network tools and their shared-library
// closure (ldd), plus busybox-static for the rest, tarred and `docker import`ed. Node and the project
// are bind-mounted at run time. Tagged by a hash of its inputs, so a second build is a cache hit.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { NetspecError } from '../errors.js'
import { untrustedDir } from '../lab/safe-files.js'
import { docker, dockerChecked, requireEngine } from './docker.js'

export const IMAGE_REPO = 'netspec-runner'
export const LATEST = `${IMAGE_REPO}:latest`
/** Bumped when the recipe below changes, so the hash (and the tag) changes with it. */
const RECIPE = 'netspec-runner/4'
/** Where node (the caller's process.execPath) is bind-mounted inside the image. */
export const NODE_IN_IMAGE = '/usr/local/bin/node'
const PATH_IN_IMAGE = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/opt/busybox/bin'

/** Programs copied from this machine; the first group is required. */
export const REQUIRED_TOOLS = ['ip', 'bridge', 'tc', 'ss', 'nft', 'ping', 'xtables-nft-multi', 'dash', 'bash', 'mount', 'umount', 'cat', 'kill']
export const OPTIONAL_TOOLS = [
  'tcpdump', 'conntrack', 'sysctl', 'mkfifo', 'mkdir', 'rm', 'ls', 'sleep', 'env', 'timeout', 'id', 'readlink', 'echo', 'true',
  'false', 'nsenter', 'unshare', 'ps', 'grep', 'sed', 'head', 'tail', 'wc', 'tr', 'cut', 'sort', 'stat', 'touch', 'ln', 'cp', 'mv', 'chmod',
]
/** iptables and friends are names of one multi-call binary, chosen by argv[0]. */
const XTABLES_NAMES = [
  'iptables', 'iptables-save', 'iptables-restore', 'ip6tables', 'ip6tables-save', 'ip6tables-restore',
  'iptables-nft', 'iptables-nft-save', 'iptables-nft-restore', 'ip6tables-nft', 'ip6tables-nft-save', 'ip6tables-nft-restore',
]
const XTABLES_EXT = '/usr/lib/x86_64-linux-gnu/xtables'
const ETC_FILES = ['/etc/protocols', '/etc/services', '/etc/ethertypes']
const BUSYBOX = '/bin/busybox'

/** Merged /usr: /bin, /sbin, /lib, /lib64 are symlinks into /usr in the image. */
export function inImage(path: string): string {
  const m = /^\/(bin|sbin|lib|lib64)(\/.*)$/.exec(path)
  return m === null ? path : `/usr/${m[1]}${m[2]}`
}

/** Shared libraries (and the loader) that `ldd` lists for one program. */
export function parseLdd(text: string): string[] {
  const libs: string[] = []
  for (const line of text.split('\n')) {
    const m = /=>\s+(\/\S+)\s+\(/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line)
    if (m?.[1] !== undefined) libs.push(m[1])
  }
  return libs
}

function which(tool: string): string | undefined {
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    const p = join(dir, tool)
    if (existsSync(p)) return p
  }
  return undefined
}

// One `ldd` for all files: ~170 of them, one process each, would cost 3 s.
function ldd(files: string[]): string[] {
  try {
    return parseLdd(execFileSync('ldd', files, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 16 * 1024 * 1024 }))
  } catch (e) {
    // ldd exits 1 when one of them is static ("not a dynamic executable"); the others are still listed.
    return parseLdd(String((e as { stdout?: unknown }).stdout ?? ''))
  }
}

export interface ImageInputs {
  /** Program name → host path. */
  tools: Map<string, string>
  /** Extra dynamic objects whose libraries must be present (node, xtables extensions, native addons). */
  objects: string[]
  /** All shared libraries of all of the above. */
  libs: string[]
  busybox: string | undefined
  missing: string[]
}

/** Finds everything the image is made of on this machine (no writes). */
export function collectInputs(nodePath = process.execPath, addons: string[] = []): ImageInputs {
  const tools = new Map<string, string>()
  const missing: string[] = []
  for (const t of [...REQUIRED_TOOLS, ...OPTIONAL_TOOLS]) {
    const p = which(t)
    if (p !== undefined) tools.set(t, p)
    else if (REQUIRED_TOOLS.includes(t)) missing.push(t)
  }
  const ext = existsSync(XTABLES_EXT) ? readdirSync(XTABLES_EXT).filter((f) => f.endsWith('.so')).map((f) => join(XTABLES_EXT, f)) : []
  // glibc parts that addons load (librt: rolldown, lightningcss) or that name lookups need, whoever asks.
  const base = ['librt.so.1', 'libresolv.so.2', 'libutil.so.1', 'libnss_files.so.2', 'libnss_dns.so.2', 'libanl.so.1']
    .map((l) => join('/usr/lib/x86_64-linux-gnu', l))
    .filter((l) => existsSync(l))
  const objects = [nodePath, ...addons.filter((a) => existsSync(a)), ...ext, ...base]
  const libs = new Set(ldd([...tools.values(), ...objects]))
  return { tools, objects, libs: [...libs].sort(), busybox: existsSync(BUSYBOX) ? BUSYBOX : undefined, missing }
}

/** A hash of every input file (path, size, mtime) and the recipe: the image tag. */
export function inputsHash(inputs: ImageInputs): string {
  const h = createHash('sha256').update(RECIPE)
  const files = [...inputs.tools.values(), ...inputs.objects.slice(1), ...inputs.libs, ...(inputs.busybox === undefined ? [] : [inputs.busybox])]
  for (const f of files.sort()) {
    const s = statSync(f)
    h.update(`${f}\0${s.size}\0${s.mtimeMs}\n`)
  }
  return h.digest('hex').slice(0, 12)
}

function put(root: string, hostPath: string, imagePath = inImage(hostPath)): void {
  const dest = join(root, imagePath)
  if (existsSync(dest)) return
  mkdirSync(dirname(dest), { recursive: true })
  copyFileSync(realpathSync(hostPath), dest)
}

function link(root: string, target: string, at: string): void {
  const dest = join(root, at)
  mkdirSync(dirname(dest), { recursive: true })
  try {
    lstatSync(dest)
  } catch {
    symlinkSync(target, dest)
  }
}

/** Lays the image's root file system out in `root`. */
export function layout(root: string, inputs: ImageInputs): void {
  for (const d of ['usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64', 'usr/local/bin', 'etc', 'run/netns', 'proc', 'sys', 'dev', 'tmp', 'root', 'var/run'])
    mkdirSync(join(root, d), { recursive: true })
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${d}`, join(root, d))
  for (const [name, hostPath] of inputs.tools) put(root, hostPath, `/usr/${hostPath.includes('/sbin/') ? 'sbin' : 'bin'}/${name}`)
  for (const n of XTABLES_NAMES) link(root, 'xtables-nft-multi', `/usr/sbin/${n}`)
  link(root, 'dash', '/usr/bin/sh') // never busybox's sh: it would run its own `ip` applet instead of iproute2's
  for (const f of inputs.objects.slice(1)) if (!f.includes('/node_modules/')) put(root, f) // addons come with the bind-mounted project
  for (const l of inputs.libs) put(root, l)
  for (const f of ETC_FILES) if (existsSync(f)) put(root, f)
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n')
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n')
  writeFileSync(join(root, 'etc/hosts'), '127.0.0.1 localhost\n::1 localhost\n')
  if (inputs.busybox !== undefined) {
    // Applets go to a folder at the end of PATH: the real tools copied above always win.
    put(root, inputs.busybox, '/opt/busybox/busybox')
    const applets = execFileSync(inputs.busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => /^[\w.[-]+$/.test(a))
    for (const a of applets) link(root, '../busybox', `/opt/busybox/bin/${a}`)
  }
}

export interface BuildResult {
  image: string
  cached: boolean
  durationMs: number
  sizeBytes: number
}

/** Native addons under the project's node_modules (rolldown, lightningcss, koffi …): their libraries must be in the image. */
export function projectAddons(projectDir = process.cwd()): string[] {
  const nm = join(projectDir, 'node_modules')
  if (!existsSync(nm)) return []
  try {
    const out = execFileSync('find', ['-L', nm, '-maxdepth', '7', '-name', '*.node', '-type', 'f', '-not', '-path', '*musl*', '-not', '-path', '*obj.target*'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    return out.split('\n').filter(Boolean).sort()
  } catch (e) {
    return String((e as { stdout?: unknown }).stdout ?? '').split('\n').filter(Boolean).sort()
  }
}

export async function imageExists(ref: string): Promise<boolean> {
  return (await docker(['image', 'inspect', '--format', '{{.Id}}', ref], { timeoutMs: 15_000 })).exitCode === 0
}

/** Builds (or finds cached) `netspec-runner:<hash>` and tags it `netspec-runner:latest`; smoke-tests a new build. */
export async function buildImage(options: { force?: boolean; log?: (line: string) => void } = {}): Promise<BuildResult> {
  const log = options.log ?? (() => {})
  const started = performance.now()
  await requireEngine()
  const inputs = collectInputs(process.execPath, projectAddons())
  if (inputs.missing.length > 0)
    throw new NetspecError('missing-tool', `cannot build the runner image: ${inputs.missing.join(', ')} not installed on this machine`, {
      hint: 'install them: apt-get install -y iproute2 nftables iptables iputils-ping util-linux procps (and busybox-static)',
    })
  const image = `${IMAGE_REPO}:${inputsHash(inputs)}`
  if (options.force !== true && (await imageExists(image))) {
    await dockerChecked(['tag', image, LATEST], 'could not tag the runner image')
    return { image, cached: true, durationMs: performance.now() - started, sizeBytes: await imageSize(image) }
  }
  // Laid out as root by path: another user who could move it (a TMPDIR of theirs) could redirect the copies.
  const untrusted = untrustedDir(realpathSync(tmpdir()))
  if (untrusted !== undefined)
    throw new NetspecError('not-permitted', `refusing to lay out the runner image in ${tmpdir()}: ${untrusted}`, {
      hint: 'set TMPDIR to a directory that only root (or this user) can change, such as /tmp (sticky), or unset it',
    })
  const root = mkdtempSync(join(tmpdir(), 'netspec-image-'))
  try {
    log(`laying out ${inputs.tools.size} tools and ${inputs.libs.length} libraries in ${root}`)
    layout(root, inputs)
    const tar = execFileSync('tar', ['-C', root, '--numeric-owner', '--owner=0', '--group=0', '-c', '.'], { maxBuffer: 512 * 1024 * 1024 })
    log(`importing ${(tar.length / 1e6).toFixed(1)} MB as ${image}`)
    await dockerChecked(
      ['import', '--change', `ENV PATH=${PATH_IN_IMAGE}`, '--change', 'CMD ["/bin/sh"]', '--message', RECIPE, '-', image],
      'docker import of the runner image failed',
      { input: tar },
    )
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
  await smokeTest(image)
  await dockerChecked(['tag', image, LATEST], 'could not tag the runner image')
  await removeStale(image)
  return { image, cached: false, durationMs: performance.now() - started, sizeBytes: await imageSize(image) }
}

/** `ip -V` and `nft --version` must run inside a fresh build, or the build is removed. */
export async function smokeTest(image: string): Promise<void> {
  const r = await docker(['run', '--rm', '--network', 'none', image, 'sh', '-c', 'ip -V && nft --version && iptables -V && ping -V'], { timeoutMs: 60_000 })
  if (r.exitCode !== 0) {
    await docker(['rmi', '-f', image])
    throw new NetspecError('container', `the new runner image ${image} failed its smoke test and was removed`, {
      command: `docker run --rm --network none ${image} sh -c 'ip -V && nft --version && iptables -V && ping -V'`,
      stderr: r.stderr || r.stdout,
      exitCode: r.exitCode,
      hint: 'a tool or library is missing from the image: please report this with the output above',
    })
  }
}

/** Older builds (other input hashes) are stale once a new one exists; images still in use stay. */
async function removeStale(keep: string): Promise<void> {
  const r = await docker(['images', IMAGE_REPO, '--format', '{{.Repository}}:{{.Tag}}'])
  const stale = r.stdout.split('\n').filter((t) => /^netspec-runner:[0-9a-f]{12}$/.test(t) && t !== keep)
  for (const t of stale) await docker(['rmi', t])
}

async function imageSize(image: string): Promise<number> {
  const r = await docker(['image', 'inspect', '--format', '{{.Size}}', image])
  return Number(r.stdout.trim()) || 0
}

/** The image to run: `NETSPEC_IMAGE`, else netspec-runner:latest; a clear error if it is absent. */
export async function requireImage(ref = process.env.NETSPEC_IMAGE ?? LATEST): Promise<string> {
  await requireEngine()
  if (!(await imageExists(ref)))
    throw new NetspecError('container', `the runner image ${ref} does not exist on this machine`, {
      command: `docker image inspect ${ref}`,
      hint: 'build it (no registry needed, ~5 s): npx netspec image build',
    })
  return ref
}
