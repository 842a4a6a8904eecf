// REVIEW-6: an owner SIGKILLed with a live capture and an exposed port (relay) left files outside its lab: the
// capture's /tmp/netspec-capture-*/ directory and the relay socket $NETSPEC_STATE_DIR/expose/<pid>-<n>.sock, named
// by no marker, so neither the reaper nor a sweep removed them. Now both live inside the lab's temp directory,
// which the marker names before it is made: the reaper removes it with the namespaces. Proven on both kernel paths
// (in-process netlink and `ip -batch`) from what is on disk and in /run/netns before and after the kill.
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { childProject, type ChildProject } from '../fixtures/child-project.js'

const SPEC = `
import { test } from 'netspec/vitest'
import { readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
test('killed', async ({ lab }) => {
  const a = await lab.namespace('crashcap')
  const b = await lab.namespace('b')
  await lab.veth([a, 'eth0', '10.0.12.1/24'], [b, 'eth0', '10.0.12.2/24'])
  const cap = await a.capture('eth0')
  await lab.expose(b, 8080, { via: 'relay' })
  const temp = lab.marker.tempDir
  const sockets = readdirSync(temp).filter((n) => statSync(join(temp, n)).isSocket())
  writeFileSync(process.env.REPORT_FILE, JSON.stringify({ names: [a.name, b.name], temp, capFile: cap.file, sockets, capExists: statSync(cap.file).isFile() }))
  process.kill(process.pid, 'SIGKILL')
})
`

const projects: ChildProject[] = []
afterAll(() => {
  for (const p of projects) p.remove()
})
const captureDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith('netspec-capture-crashcap-'))

async function until(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
}

describe.each([['netlink', '0'], ['ip', '1']])('an owner SIGKILLed with a capture and a relay (%s path)', (_path, noNetlink) => {
  test('leaves no capture directory, no relay socket and no temp directory behind', async () => {
    const project = childProject({ 'k.spec.ts': SPEC })
    projects.push(project)
    const before = new Set(captureDirs())
    const reportFile = join(project.dir, 'report-k.json')
    await project.run(['k.spec.ts'], { REPORT_FILE: reportFile, NETSPEC_NO_NETLINK: noNetlink }).catch(() => undefined)
    expect(existsSync(reportFile)).toBe(true)
    const r = JSON.parse(readFileSync(reportFile, 'utf8')) as { names: string[]; temp: string; capFile: string; sockets: string[]; capExists: boolean }
    // While the owner lived: the pcap and the relay socket were inside the lab's temp directory, which its marker named.
    expect(r.capExists).toBe(true)
    expect(r.capFile.startsWith(`${r.temp}/`)).toBe(true)
    expect(r.sockets).toEqual(['expose-1.sock'])
    // The reaper (no sweep): namespaces, then the temp directory with everything in it.
    const markers = () => readdirSync(join(project.dir, 'state', 'labs')).filter((n) => n.endsWith('.json'))
    await until(() => r.names.every((n) => !existsSync(`/run/netns/${n}`)) && !existsSync(r.temp) && markers().length === 0, 10_000)
    for (const n of r.names) expect(existsSync(`/run/netns/${n}`), n).toBe(false)
    expect(existsSync(r.temp), r.temp).toBe(false)
    expect(existsSync(r.capFile)).toBe(false)
    const left = captureDirs().filter((n) => !before.has(n))
    for (const n of left) rmSync(join(tmpdir(), n), { recursive: true, force: true })
    expect(left, 'capture directories left in /tmp').toEqual([])
    const exposeDir = join(project.dir, 'state', 'expose')
    expect(existsSync(exposeDir) ? readdirSync(exposeDir) : [], 'relay sockets left in the state dir').toEqual([])
    expect(markers(), 'markers left').toEqual([])
  }, 120_000)
})
