// Pure parts of container mode: the docker exec line of `run --container`, what is forwarded, the PID 1
// script, docker's complaints turned into advice, and what lab.adopt() accepts.
import { describe, expect, test } from 'vitest'
import { execArgv, forwardedEnv } from '../../src/container/cli.js'
import { containerRef, defaultLabel } from '../../src/container/adopt.js'
import { dockerHint } from '../../src/container/docker.js'
import { pid1Script } from '../../src/container/runner.js'

describe('run --container', () => {
  test('runs the project Vitest with the bind-mounted node, in the same folder, with the plan args', () => {
    expect(execArgv({ id: 'abc' }, '/p', '/p/node_modules/vitest/vitest.mjs', ['run', '--project', 'specs'], { CI: 'true' })).toEqual([
      'exec', '-i', '-w', '/p', '-e', 'CI=true', 'abc', '/usr/local/bin/node', '/p/node_modules/vitest/vitest.mjs', 'run', '--project', 'specs',
    ])
  })
  test('forwards CI, GitHub and netspec variables but not NETSPEC_EXECUTOR; turns the sealed check off inside; the plan wins', () => {
    const env = forwardedEnv({ env: { NETSPEC_KEEP: 'on-failure' } }, { CI: 'true', GITHUB_SHA: 'x', NETSPEC_EXECUTOR: 'container', NETSPEC_KEEP: 'off', SECRET: 's', PATH: '/x' })
    expect(env).toEqual({ HOME: '/root', CI: 'true', GITHUB_SHA: 'x', NETSPEC_KEEP: 'on-failure', NETSPEC_SEALED: 'off' })
  })
})

describe('PID 1 of a runner', () => {
  test('makes /proc/sys writable, mounts a shared /run/netns, starts the service, then blocks on the lifeline', () => {
    const lines = pid1Script('server --port 80').split('\n')
    expect(lines[0]).toMatch(/^mount -o remount,rw \/proc\/sys/)
    expect(lines[1]).toContain('mount --make-shared /run/netns')
    expect(lines[2]).toBe('( server --port 80 ) &')
    expect(lines.at(-1)).toBe('read _ < /netspec/lifeline')
    expect(pid1Script()).not.toContain('&\n')
  })
})

describe('dockerHint', () => {
  test('names the fix for each usual complaint', () => {
    expect(dockerHint('Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?')).toContain('npx netspec engine start')
    expect(dockerHint('OCI runtime create failed: unable to apply caps: operation not permitted')).toMatch(/leave `privileged` off/)
    expect(dockerHint('Error: No such image: netspec-runner:latest')).toContain('npx netspec image build')
    expect(dockerHint('something else')).toBeUndefined()
  })
})

describe('lab.adopt() input', () => {
  test('takes a testcontainers container, a runner, or an id/name; rejects anything else', () => {
    expect(containerRef({ getId: () => 'a1' })).toBe('a1')
    expect(containerRef({ id: 'b2' })).toBe('b2')
    expect(containerRef('web')).toBe('web')
    expect(() => containerRef(42 as unknown as string)).toThrow(/adopt needs a started container/)
    for (const bad of ['--format={{.Id}}', '-f', '../x', 'a b', 'x#']) expect(() => containerRef(bad)).toThrow(/not a Docker container id or name/)
  })
  test('labels a container by its name, made label-safe', () => {
    expect(defaultLabel('/my web:1')).toBe('my_web_1')
  })
})
