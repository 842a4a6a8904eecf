// /etc/netns itself (src/lab/etc-netns-root.ts), against a scratch directory standing in for it: it never exists
// without netspec's note, whenever its owner is SIGKILLed, and what an owner killed mid-step leaves beside it is
// completed by finish() (the reaper's and the sweep's part) for that owner only.
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { ETC_NETNS_ROOT_SOURCE, etcNetnsRoot } from '../../src/lab/etc-netns-root.js'
import { renameNoReplace } from '../../src/lab/etc-netns.js'
import { libc } from '../../src/kernel/netlink/ffi.js'
import { REAPER_SOURCE } from '../../src/reaper/script.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function scratch() {
  const parent = mkdtempSync(join(tmpdir(), 'netspec-etc-root-'))
  dirs.push(parent)
  return { parent, netns: join(parent, 'netns'), records: join(parent, 'records') }
}

// What netspec writes in its state directory before a step beside /etc/netns: finish() acts only on recorded ones.
function recordAs(records: string, entry: string): void {
  mkdirSync(records, { recursive: true })
  writeFileSync(join(records, entry), '')
}

const NOTE = '.netspec-created'

// A process that has come and gone: its PID and start time.
function deadProcess(): { pid: number; start: number } {
  const stat = spawnSync('sh', ['-c', 'cat /proc/self/stat'], { encoding: 'utf8' }).stdout
  return { pid: Number(stat.split(' ')[0]), start: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) }
}

// What a lab's creation and teardown of /etc/netns do, over and over, as fast as they can: one tick in, it says so.
const CHURN = String.raw`
${ETC_NETNS_ROOT_SOURCE}
const fs = require('node:fs'), path = require('node:path')
const root = etcNetnsRoot(fs, path, process.argv[1], process.argv[2])
const tag = Number(fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[19]).toString(36)
process.stdout.write('go\n')
for (;;) {
  if (!fs.existsSync(process.argv[1])) root.create(process.pid, tag, fs.renameSync)
  root.removeIfOurs(process.pid, tag)
}
`

test('SIGKILLed at any instant of creating or removing it: never a directory without its note; finish() leaves nothing beside it', async () => {
  const { parent, netns, records } = scratch()
  const halfDone: Record<string, number> = { new: 0, gone: 0 }
  for (let round = 0; round < 40; round++) {
    const child = spawn(process.execPath, ['-e', CHURN, netns, records], { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))
    const exited = new Promise((resolve) => child.once('exit', resolve))
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 4))
    child.kill('SIGKILL')
    await exited
    for (const n of readdirSync(parent)) {
      const kind = /\.(new|gone)$/.exec(n)?.[1]
      if (kind !== undefined) halfDone[kind]! += 1
    }
    // A creation never leaves the directory without its note; a removal may, with the moved note beside it.
    if (existsSync(netns) && !existsSync(join(netns, NOTE))) expect(readdirSync(parent).some((n) => n.endsWith('.gone'))).toBe(true)
    const root = etcNetnsRoot(fs, path, netns, records)
    root.finish((pid) => pid === child.pid)
    expect(readdirSync(parent).filter((n) => n !== 'netns' && n !== 'records')).toEqual([])
    expect(existsSync(records) ? readdirSync(records) : []).toEqual([])
    if (existsSync(netns)) expect(readdirSync(netns)).toEqual([NOTE])
  }
  // The kills landed mid-step (not only between whole loops): both half states were met and completed.
  console.log(`half-done states completed by finish(): ${JSON.stringify(halfDone)} in 40 kills`)
}, 60_000)

test('finish() completes only a dead owner’s steps, each as the owner would have', () => {
  const { parent, netns, records } = scratch()
  const root = etcNetnsRoot(fs, path, netns, records)
  const dead = deadProcess()
  const t = dead.start.toString(36)
  const mine = { pid: process.pid, tag: Number(fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[19]).toString(36) }
  // A creation cut short: the directory beside it, with the note, never renamed.
  mkdirSync(join(parent, `.netns.netspec-${dead.pid}-${t}-a1.new`))
  writeFileSync(join(parent, `.netns.netspec-${dead.pid}-${t}-a1.new`, NOTE), '1\n')
  recordAs(records, `.netns.netspec-${dead.pid}-${t}-a1.new`)
  // A removal cut short after the note was moved out, while another lab had made its directory: the note goes back.
  mkdirSync(join(netns, 'ns-1-x-1-a'), { recursive: true })
  writeFileSync(join(parent, `.netns.netspec-${dead.pid}-${t}-b2.gone`), '1\n')
  recordAs(records, `.netns.netspec-${dead.pid}-${t}-b2.gone`)
  // A planted one (no record in the state directory, whatever its name and content): never acted on (REVIEW3-1).
  writeFileSync(join(parent, `.netns.netspec-${dead.pid}-${t}-p0.gone`), '1\n')
  // The same entries of a live owner (this process) are its own business.
  mkdirSync(join(parent, `.netns.netspec-${mine.pid}-${mine.tag}-c3.new`))
  writeFileSync(join(parent, `.netns.netspec-${mine.pid}-${mine.tag}-c3.gone`), '1\n')
  // Look-alikes that are not netspec's names stay.
  writeFileSync(join(parent, `.netns.netspec-${dead.pid}-${t}-d4.gone.bak`), '')

  const dying = (pid: number, tag: string) => pid === dead.pid && tag === t
  expect(root.finish(dying).map((p) => path.basename(p)).sort()).toEqual([`.netns.netspec-${dead.pid}-${t}-a1.new`, `.netns.netspec-${dead.pid}-${t}-b2.gone`])
  expect(readdirSync(netns).sort()).toEqual([NOTE, 'ns-1-x-1-a'])
  expect(readdirSync(parent).sort()).toEqual([`.netns.netspec-${dead.pid}-${t}-d4.gone.bak`, `.netns.netspec-${dead.pid}-${t}-p0.gone`, `.netns.netspec-${mine.pid}-${mine.tag}-c3.gone`, `.netns.netspec-${mine.pid}-${mine.tag}-c3.new`, 'netns', 'records'].sort())
  expect(readdirSync(records)).toEqual([])

  // The lab's directory gone, the directory is netspec's again and goes with its note; a removal cut short with the
  // directory empty: it goes.
  rmSync(join(netns, 'ns-1-x-1-a'), { recursive: true })
  expect(root.removeIfOurs(mine.pid, mine.tag)).toBe(true)
  mkdirSync(netns)
  writeFileSync(join(parent, `.netns.netspec-${dead.pid}-${t}-e5.gone`), '1\n')
  recordAs(records, `.netns.netspec-${dead.pid}-${t}-e5.gone`)
  root.finish(dying)
  expect(existsSync(netns)).toBe(false)
})

test('an /etc/netns that is not netspec’s (no note) is never removed, and one that appeared meanwhile is never replaced', () => {
  const { parent, netns, records } = scratch()
  const root = etcNetnsRoot(fs, path, netns, records)
  mkdirSync(netns)
  expect(root.removeIfOurs(process.pid, 'abc')).toBe(false)
  expect(existsSync(netns)).toBe(true)
  // Created by someone else between our look and our rename: renameat2(RENAME_NOREPLACE) refuses, nothing is left over.
  expect(root.create(process.pid, 'abc', renameNoReplace)).toBe(libc() === undefined) // plain rename replaces an empty directory
  if (libc() !== undefined) expect(readdirSync(netns)).toEqual([])
  expect(readdirSync(parent).filter((n) => n !== 'records')).toEqual(['netns'])
  rmSync(netns, { recursive: true })
  writeFileSync(netns, 'not a directory')
  expect(root.create(process.pid, 'abc', renameNoReplace)).toBe(false)
  expect(readdirSync(parent).filter((n) => n !== 'records')).toEqual(['netns'])
})

test('the reaper completes its dead owner’s half-done steps on /etc/netns, and only those', async () => {
  const { parent, netns } = scratch()
  const labs = join(parent, 'state', 'labs')
  mkdirSync(labs, { recursive: true })
  const dead = deadProcess()
  const t = dead.start.toString(36)
  const other = deadProcess()
  mkdirSync(netns)
  writeFileSync(join(parent, `.netns.netspec-${dead.pid}-${t}-z9.gone`), '1\n') // killed between moving the note out and rmdir
  mkdirSync(join(parent, `.netns.netspec-${dead.pid}-${t}-y8.new`))
  for (const e of [`.netns.netspec-${dead.pid}-${t}-z9.gone`, `.netns.netspec-${dead.pid}-${t}-y8.new`]) recordAs(join(parent, 'state', 'etc-pending'), e)
  writeFileSync(join(parent, `.netns.netspec-${dead.pid}-${t}-w6.gone`), '1\n') // planted: no record
  writeFileSync(join(parent, `.netns.netspec-${other.pid}-${other.start.toString(36)}-x7.gone`), '1\n')
  const child = spawn(process.execPath, ['-e', REAPER_SOURCE, String(dead.pid), String(dead.start), labs, netns], { stdio: ['pipe', 'ignore', 'inherit'] })
  child.stdin.end()
  await new Promise((resolve) => child.once('exit', resolve))
  expect(readdirSync(parent).sort()).toEqual([`.netns.netspec-${dead.pid}-${t}-w6.gone`, `.netns.netspec-${other.pid}-${other.start.toString(36)}-x7.gone`, 'netns'].sort().filter((n) => n !== 'netns').concat(existsSync(netns) ? ['netns'] : []).concat(['state']).sort())
  expect(readdirSync(join(parent, 'state', 'etc-pending'))).toEqual([])
})
