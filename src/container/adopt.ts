// lab.adopt(container): a running container's network namespace becomes a lab namespace (linked
// into /run/netns under a lab name for the lab's lifetime, unlinked at teardown; the container itself
// is left alone). Takes a testcontainers StartedTestContainer, a Runner, or a Docker id or name.
import { invalidInput, NetspecError } from '../errors.js'
import type { Lab } from '../lab/lab.js'
import type { Namespace } from '../lab/namespace.js'
import { docker, dockerHint } from './docker.js'
import { checkContainerRef } from '../values/names.js'

/** Anything with a Docker id: testcontainers' StartedTestContainer (`getId()`), a Runner (`id`), or the id/name itself. */
export type AdoptableContainer = string | { getId(): string } | { id: string }

export function containerRef(c: AdoptableContainer): string {
  if (typeof c === 'string') return checkContainerRef(c)
  if (typeof c === 'object' && c !== null && 'getId' in c && typeof c.getId === 'function') return checkContainerRef(c.getId())
  if (typeof c === 'object' && c !== null && 'id' in c && typeof c.id === 'string') return checkContainerRef(c.id)
  throw invalidInput(`adopt needs a started container (testcontainers), or a Docker id or name, got ${String(c)}`)
}

/** The label a container gets when none is given: its name, made label-safe. */
export function defaultLabel(name: string): string {
  return name.replace(/^\//, '').replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 32) || 'container'
}

export async function adoptContainer(lab: Lab, container: AdoptableContainer, label?: string): Promise<Namespace> {
  const ref = containerRef(container)
  if (lab.executor.kind !== 'local')
    throw invalidInput(`lab.adopt() needs the local executor: a container's PID is a host PID (this lab uses '${lab.executor.kind}')`, {
      lab: lab.label,
      hint: 'adopt containers in labs that run on the host (root), not with NETSPEC_EXECUTOR=container',
    })
  const r = await docker(['inspect', '-f', '{{.State.Pid}} {{.State.Running}} {{.Name}}', ref])
  if (r.exitCode !== 0)
    throw new NetspecError('container', `cannot adopt container '${ref}': docker does not know it`, {
      lab: lab.label,
      command: `docker inspect ${ref}`,
      stderr: r.stderr,
      hint: dockerHint(r.stderr) ?? 'pass a running container (its id or name)',
    })
  const [pid, running, name] = r.stdout.trim().split(' ')
  if (running !== 'true' || !(Number(pid) > 0))
    throw new NetspecError('container', `cannot adopt container '${ref}': it is not running`, { lab: lab.label, hint: 'start it first' })
  return lab.adoptPid(label ?? defaultLabel(name ?? ref), Number(pid))
}
