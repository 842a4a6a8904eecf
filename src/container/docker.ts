// The docker CLI, with engine trouble turned into NetspecErrors that say how to fix it.
import { execFile } from 'node:child_process'
import { NetspecError } from '../errors.js'
import { shellQuote } from '../exec/quote.js'

export const START_ENGINE_HINT =
  'start a Docker engine: npx netspec engine start, as root (it runs dockerd --bridge=none --iptables=false --ip-forward=false); ' +
  'if docker is not installed: apt-get install -y docker.io'

export interface DockerResult {
  exitCode: number
  stdout: string
  stderr: string
}

/** Runs `docker ARGS…`; resolves on any exit code, throws 'container' only when docker is not installed. */
export function docker(args: readonly string[], options: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    const child = execFile('docker', args, { timeout: options.timeoutMs ?? 120_000, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
        reject(new NetspecError('container', "the 'docker' command is not installed", { command: `docker ${shellQuote(args)}`, hint: START_ENGINE_HINT }))
        return
      }
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
      resolve({ exitCode: code, stdout: stdout.replace(/\n$/, ''), stderr: stderr.replace(/\n$/, '') })
    })
    child.stdin?.on('error', () => {}) // docker may exit before reading all of it: its exit code says why
    if (options.input !== undefined) child.stdin?.end(options.input)
    else child.stdin?.end()
  })
}

/** Like docker(), but a non-zero exit throws with the command, docker's message and a hint. */
export async function dockerChecked(args: readonly string[], what: string, options: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<string> {
  const r = await docker(args, options)
  if (r.exitCode !== 0)
    throw new NetspecError('container', what, {
      command: `docker ${shellQuote(args)}`,
      stderr: r.stderr,
      exitCode: r.exitCode,
      hint: dockerHint(r.stderr),
    })
  return r.stdout
}

/** What docker's usual complaints mean here. */
export function dockerHint(stderr: string): string | undefined {
  if (/Cannot connect to the Docker daemon|docker daemon running|connect: no such file or directory|ECONNREFUSED|ENOENT.*docker\.sock/i.test(stderr))
    return START_ENGINE_HINT
  if (/unable to apply caps|privileged/i.test(stderr))
    return '--privileged does not work on this machine (its capability bounding set lacks some capability): leave `privileged` off; netspec adds NET_ADMIN, SYS_ADMIN and NET_RAW explicitly, which is enough'
  if (/No such image|pull access denied|repository does not exist|not found: manifest unknown/i.test(stderr))
    return 'build the runner image first: npx netspec image build'
  if (/permission denied.*docker\.sock/i.test(stderr)) return 'run as root or add your user to the docker group'
  return undefined
}

/** Throws a clear error unless an engine answers. */
export async function requireEngine(): Promise<void> {
  const r = await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 15_000 })
  if (r.exitCode !== 0)
    throw new NetspecError('container', 'no Docker engine answers', { command: 'docker version', stderr: r.stderr, hint: START_ENGINE_HINT })
}

/** Is docker installed and does an engine answer? (for skips and doctor) */
export async function engineStatus(): Promise<'answers' | 'no-engine' | 'not-installed'> {
  try {
    const r = await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 15_000 })
    return r.exitCode === 0 ? 'answers' : 'no-engine'
  } catch {
    return 'not-installed'
  }
}
