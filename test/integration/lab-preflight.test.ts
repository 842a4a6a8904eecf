// Before the first lab, netspec checks that it may create namespaces and that `ip` exists, and says
// exactly what to do when not. Run for real: as an unprivileged user, as root without CAP_NET_ADMIN
// (a restricted container), and with `ip` missing from PATH.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Lab, createLocalExecutor, isNetspecError, type Executor } from 'netspec'
import { distForAnyone, type AnyoneCopy } from '../fixtures/anyone.js'

const run = promisify(execFile)
let copy: AnyoneCopy // dist/ where uid 65534 can read it, wherever the checkout lives

// Lab.create() from the built package in a process with fewer privileges; prints the error it got.
async function createLabAs(setpriv: string[]): Promise<{ kind?: string; message?: string; created?: boolean }> {
  const script = `
    import { Lab } from ${JSON.stringify(copy.index)}
    try { const lab = await Lab.create(); await lab.destroy(); console.log(JSON.stringify({ created: true })) }
    catch (e) { console.log(JSON.stringify({ kind: e.kind, message: e.message })) }`
  const { stdout } = await run('setpriv', [...setpriv, 'node', '--input-type=module', '-e', script], { timeout: 20_000, cwd: copy.dir })
  return JSON.parse(stdout) as { kind?: string; message?: string }
}

describe('privileges', () => {
  beforeAll(async () => {
    copy = await distForAnyone()
  }, 180_000)
  afterAll(() => copy?.remove())

  test('an unprivileged user is told that netspec needs root, and how to run it', async () => {
    const r = await createLabAs(['--reuid=65534', '--regid=65534', '--clear-groups'])

    expect(r.kind).toBe('not-permitted')
    expect(r.message).toContain('netspec needs root: this process lacks CAP_NET_ADMIN and CAP_SYS_ADMIN')
    expect(r.message).toContain('sudo -E env "PATH=$PATH" npx vitest run')
  })

  test('root without CAP_NET_ADMIN (a restricted container) is told which capability is missing', async () => {
    const r = await createLabAs(['--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-net_admin'])

    expect(r.kind).toBe('not-permitted')
    expect(r.message).toContain('this process lacks CAP_NET_ADMIN')
    expect(r.message).toContain('--cap-add NET_ADMIN')
  })
})

test("a missing 'ip' is reported with the Debian package to install", async () => {
  const local = createLocalExecutor()
  const withoutIp: Executor = {
    kind: 'local',
    run: (argv, options = {}) => local.run(argv, { ...options, env: { ...options.env, PATH: '/nonexistent' } }),
    spawn: (argv, options) => local.spawn(argv, options),
  }

  const e = await Lab.create({ executor: withoutIp }).catch((err: unknown) => err)

  expect(isNetspecError(e, 'missing-tool')).toBe(true)
  expect((e as Error).message).toContain("'ip' is not installed (or not on PATH)")
  expect((e as Error).message).toContain('apt-get install -y iproute2')
})

test("a program missing inside a namespace is reported as missing, not as the program's failure", async () => {
  await using lab = await Lab.create({ label: 'missing program' })
  const ns1 = await lab.namespace('ns1')

  await expect(ns1.exec(['netspec-no-such-program'])).rejects.toThrow(/'netspec-no-such-program' is not installed/)
})
