// /etc stays the machine's (issue 13 item 3, issue 17's hazard). /etc/netns/<name> is created exclusively and
// removed only as far as the lab made it; and every lab namespace has its own resolv.conf and hosts, so a lab
// process writing /etc/resolv.conf or /etc/hosts (as dhclient-script does) writes its namespace's copy, on both
// kernel paths, via exec and spawn. The machine's files keep their content, inode and mtime.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { Lab, isNetspecError } from 'netspec'
import { kernelName, markerPath } from '../../src/lab/owner.js'
import { netnsNames } from '../fixtures/kernel.js'

const scratch = mkdtempSync(join(tmpdir(), 'netspec-etc-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

function withPath<T>(noNetlink: string | undefined, fn: () => Promise<T>): Promise<T> {
  const before = process.env.NETSPEC_NO_NETLINK
  if (noNetlink === undefined) delete process.env.NETSPEC_NO_NETLINK
  else process.env.NETSPEC_NO_NETLINK = noNetlink
  return fn().finally(() => {
    if (before === undefined) delete process.env.NETSPEC_NO_NETLINK
    else process.env.NETSPEC_NO_NETLINK = before
  })
}

const machine = (f: string) => {
  const st = statSync(f)
  return { content: readFileSync(f, 'utf8'), ino: st.ino, mtimeMs: st.mtimeMs, dir: readdirSync('/etc').filter((e) => e.startsWith(f.slice(5))).sort() }
}

describe.each([
  ['netlink', undefined],
  ['NETSPEC_NO_NETLINK=1', '1'],
])('kernel path: %s', (_p, noNetlink) => {
  test('a symlink at /etc/netns/<name> is never written through, nor removed', async () => {
    const lab = await withPath(noNetlink, () => Lab.create({ label: 'etc symlink' }))
    const victim = join(scratch, `victim-${noNetlink ?? 'nl'}`)
    mkdirSync(victim)
    writeFileSync(join(victim, 'hosts'), 'victim\n')
    const link = `/etc/netns/${kernelName(lab.id, 'x')}`
    try {
      await lab.namespace('a', { files: { hosts: '10.0.0.1 a\n' } }) // /etc/netns exists from here on
      symlinkSync(victim, link)
      const e = await lab.namespace('x', { files: { hosts: 'evil\n' } }).catch((x: unknown) => x)
      expect(isNetspecError(e)).toBe(true)
      expect((e as Error).message).toContain(`${link} already exists (not created by this lab)`)
      expect(readFileSync(join(victim, 'hosts'), 'utf8')).toBe('victim\n')
      expect(JSON.parse(readFileSync(markerPath(lab.id), 'utf8')).etc?.[kernelName(lab.id, 'x')]).toBeUndefined()
    } finally {
      await lab.destroy()
      expect(readFileSync(join(victim, 'hosts'), 'utf8')).toBe('victim\n')
      expect(existsSync(link)).toBe(true) // not ours: left alone
      rmSync(link)
    }
  })

  test('an existing directory at /etc/netns/<name> is not adopted, and its files survive teardown', async () => {
    const lab = await withPath(noNetlink, () => Lab.create({ label: 'etc dir' }))
    const dir = `/etc/netns/${kernelName(lab.id, 'y')}`
    try {
      await (await lab.namespace('a')).exec(['true']) // /etc/netns exists from here on
      mkdirSync(dir)
      writeFileSync(join(dir, 'foreign.conf'), 'not the lab’s\n')
      // The default files are written before the namespace's first process: that is where it fails.
      const y = await lab.namespace('y')
      await expect(y.exec(['cat', '/etc/resolv.conf'])).rejects.toThrow(`${dir} already exists (not created by this lab)`)
      await expect(lab.namespace('z', { files: { hosts: '10.0.0.9 z\n' } })).resolves.toBeDefined()
    } finally {
      await lab.destroy()
    }
    expect(readFileSync(join(dir, 'foreign.conf'), 'utf8')).toBe('not the lab’s\n')
    rmSync(dir, { recursive: true })
    expect(netnsNames().filter((n) => n.startsWith(`ns-${lab.id}-`))).toEqual([])
  })

  test("lab processes writing /etc/resolv.conf and /etc/hosts write their namespace's copies, never the machine's", async () => {
    const before = { resolv: machine('/etc/resolv.conf'), hosts: machine('/etc/hosts') }
    const lab = await withPath(noNetlink, () => Lab.create({ label: 'etc hazard' }))
    try {
      const ns = await lab.namespace('client')
      // Its own files, by default: resolv.conf without a server, hosts a copy of the machine's.
      expect((await ns.exec(['cat', '/etc/resolv.conf'])).stdout).toContain(`resolv.conf of lab namespace ${ns.name}`)
      expect((await ns.exec(['cat', '/etc/hosts'])).stdout).toBe(before.hosts.content)

      await ns.exec(['sh', '-c', 'echo "nameserver 10.66.0.1" > /etc/resolv.conf'])
      await ns.exec(['sh', '-c', 'echo "10.66.0.2 evil" >> /etc/hosts'])
      // What Debian's dhclient-script does: a new file beside it, copied over the old one, then removed.
      await ns.exec(['sh', '-c', 'n=/etc/resolv.conf.dhclient-new.$$; echo "nameserver 10.66.0.3" > $n; cat $n > /etc/resolv.conf; rm -f $n'])
      // And a rename over it: the kernel refuses (the file is a mount point in the process's view): still not the machine's.
      const renamed = await ns.exec(['sh', '-c', 'n=/etc/resolv.conf.new.$$; echo "nameserver 10.66.0.4" > $n; mv -f $n /etc/resolv.conf; s=$?; rm -f $n; exit $s'])
      expect(renamed.exitCode).not.toBe(0)
      const daemon = await ns.spawn(['sh', '-c', 'echo "nameserver 10.66.0.5" >> /etc/resolv.conf; echo "10.66.0.6 spawned" >> /etc/hosts'])
      expect((await daemon.exited).exitCode).toBe(0)

      expect((await ns.exec(['cat', '/etc/resolv.conf'])).stdout).toBe('nameserver 10.66.0.3\nnameserver 10.66.0.5\n')
      expect((await ns.exec(['cat', '/etc/hosts'])).stdout).toBe(`${before.hosts.content}10.66.0.2 evil\n10.66.0.6 spawned\n`)
    } finally {
      await lab.destroy()
      const after = { resolv: machine('/etc/resolv.conf'), hosts: machine('/etc/hosts') }
      // A safety net should this ever regress: put the machine's files back, then fail.
      if (after.resolv.content !== before.resolv.content) writeFileSync('/etc/resolv.conf', before.resolv.content)
      if (after.hosts.content !== before.hosts.content) writeFileSync('/etc/hosts', before.hosts.content)
      expect(after).toEqual(before)
    }
    expect(existsSync(`/etc/netns/${kernelName(lab.id, 'client')}`)).toBe(false)
  })
})

// Found in CI: an un-awaited matcher still probing after teardown started a process in a namespace of the torn-down
// lab; the lab's default /etc files were written then, for a namespace that was gone, listed by no marker.
test('nothing is written to /etc/netns once teardown has begun, and no marker comes back', async () => {
  const lab = await Lab.create({ label: 'late process' })
  const a = await lab.namespace('a') // no process in it yet: its default files are still owed
  const dir = `/etc/netns/${a.name}`
  await lab.destroy()
  // What a check still running then does: start a process there through the lab's executor.
  const late = await lab.executor.run(['true'], { netns: a.name }).catch((e: unknown) => e)
  expect(late).toBeDefined()
  expect(existsSync(dir)).toBe(false)
  expect(existsSync(markerPath(lab.id))).toBe(false)
})
