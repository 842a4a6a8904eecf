// Files for a test: the lab's private directory and ns.writeFile(), created exclusively, readable by the
// namespace's processes, removed at teardown even while a daemon still writes into it.
import { existsSync, lstatSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { test as labTest } from 'netspec/vitest'
import { Lab, isNetspecError } from 'netspec'
import { removeMarker } from '../../src/lab/owner.js'

describe('lab.tempDir() and ns.writeFile()', () => {
  labTest('a 0700 directory per lab; files 0600 in a subdirectory per namespace, read by its processes', async ({ lab }) => {
    const r1 = await lab.namespace('r1')
    const r2 = await lab.namespace('r2')
    const dir = await lab.tempDir()
    expect(dir.startsWith(join(tmpdir(), 'netspec-lab-'))).toBe(true)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(await lab.tempDir()).toBe(dir)

    const a = await r1.writeFile('bird.conf', 'router id 10.0.0.1;\n')
    const b = await r2.writeFile('bird.conf', 'router id 10.0.0.2;\n')
    expect(a).toBe(join(dir, r1.name, 'bird.conf'))
    expect(b).toBe(join(dir, r2.name, 'bird.conf'))
    expect(statSync(a).mode & 0o777).toBe(0o600)
    expect((await r1.exec(['cat', a])).stdout).toBe('router id 10.0.0.1;\n')
    expect((await r2.exec(['cat', b])).stdout).toBe('router id 10.0.0.2;\n')
  })

  labTest('a name already written, or planted as a link, is refused: nothing outside is followed or overwritten', async ({ lab }) => {
    const r1 = await lab.namespace('r1')
    const first = await r1.writeFile('x.conf', 'one')
    const again = await r1.writeFile('x.conf', 'two').catch((e: unknown) => e)
    expect(isNetspecError(again, 'invalid-input')).toBe(true)
    expect((again as Error).message).toMatch(/EEXIST[\s\S]*namespace: r1[\s\S]*already written in this namespace/)
    expect(readFileSync(first, 'utf8')).toBe('one')

    const outside = join(tmpdir(), `netspec-daemons-target-${process.pid}`)
    symlinkSync(outside, join(await lab.tempDir(), r1.name, 'planted.conf'))
    await expect(r1.writeFile('planted.conf', 'evil')).rejects.toThrow(/EEXIST/)
    expect(existsSync(outside)).toBe(false)
  })

  labTest('hostile names are refused before anything is created', async ({ lab }) => {
    const r1 = await lab.namespace('r1')
    for (const name of ['../escape', '/etc/resolv.conf', '..', 'a\0b', '-rf', 'x'.repeat(256), '']) {
      await expect(r1.writeFile(name, 'x')).rejects.toSatisfy((e: unknown) => isNetspecError(e, 'invalid-input'))
    }
    // No file was written, so no directory was made either.
    const { existingTempDir } = await import('../../src/lab/tempdir.js')
    expect(existingTempDir(lab)).toBeUndefined()
  })

  test('teardown stops the daemons, then removes the directory; a handle used afterwards says the lab is gone', async () => {
    const lab = await Lab.create({ label: 'temp dir teardown' })
    const r1 = await lab.namespace('r1')
    const dir = await lab.tempDir()
    const log = join(dir, 'daemon.log')
    // A daemon still writing into the directory while the lab is torn down.
    const d = await r1.spawn(['sh', '-c', `while :; do echo tick >> ${log}; sleep 0.05; done`], { ready: () => existsSync(log) })
    await lab.destroy()
    expect(d.running).toBe(false)
    expect(existsSync(dir)).toBe(false)
    await expect(r1.writeFile('late.conf', 'x')).rejects.toThrow(/torn down/)
    await expect(lab.tempDir()).rejects.toThrow(/torn down/)
  })

  test('a kept lab keeps its directory', async () => {
    const lab = await Lab.create({ label: 'temp dir kept' }) // no namespace: nothing kept in the kernel
    const dir = await lab.tempDir()
    writeFileSync(join(dir, 'note'), 'kept')
    lab.keep()
    await lab.destroy()
    expect(lstatSync(dir).isDirectory()).toBe(true)
    expect(readFileSync(join(dir, 'note'), 'utf8')).toBe('kept')
    // Clean up what this test kept (its marker and directory), as `netspec sweep --kept` would.
    removeMarker(lab.id)
    rmSync(dir, { recursive: true })
  })
})

describe('an owner that dies (SIGKILL) leaves no temp directory', () => {
  const SCRIPT = `
    import { Lab } from './dist/index.js'
    const lab = await Lab.create({ label: 'temp dir crash' })
    const r1 = await lab.namespace('r1')
    const conf = await r1.writeFile('bird.conf', 'x')
    console.log(JSON.stringify({ labId: lab.id, dir: await lab.tempDir(), conf, namespaces: lab.marker.namespaces }))
    setInterval(() => {}, 60_000)`

  async function crashOwner(env: NodeJS.ProcessEnv) {
    const { spawn } = await import('node:child_process')
    const { createInterface } = await import('node:readline')
    const { ROOT } = await import('../fixtures/dist.js')
    const child = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] })
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve)
      child.once('exit', (code) => reject(new Error(`owner exited early with ${code}`)))
    })
    const report = JSON.parse(line) as { labId: string; dir: string; conf: string; namespaces: string[] }
    expect(existsSync(report.conf)).toBe(true)
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    await exited
    return report
  }

  test('its reaper removes the directory with the namespaces', async () => {
    const { buildDist } = await import('../fixtures/dist.js')
    await buildDist()
    const report = await crashOwner(process.env)
    const until = Date.now() + 10_000
    while (existsSync(report.dir) && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
    expect(existsSync(report.dir)).toBe(false)
  }, 180_000)

  test('without a reaper, sweep() removes it', async () => {
    const { buildDist } = await import('../fixtures/dist.js')
    await buildDist()
    const report = await crashOwner({ ...process.env, NETSPEC_REAPER: 'off' })
    expect(existsSync(report.dir)).toBe(true)
    const { sweep } = await import('netspec')
    const owner = Number(report.labId.split('-')[0])
    // The dry run names the directory, as --force will remove it; only this dead owner's labs are swept.
    const plan = await sweep({ dryRun: true, owner })
    expect(plan.removed.find((p) => p.labId === report.labId)?.tempDir).toBe(report.dir)
    expect(existsSync(report.dir)).toBe(true)
    await sweep({ force: true, owner })
    expect(existsSync(report.dir)).toBe(false)
    const { leftovers } = await import('../fixtures/kernel.js')
    expect(leftovers(report.namespaces)).toEqual([])
  }, 180_000)
})
