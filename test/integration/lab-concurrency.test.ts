// Labs with the same labels and the same addresses, built at the same time — in one process or in
// several (as Vitest workers are) — never collide: kernel names carry the owner PID and a lab number.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, test } from 'vitest'
import { Lab, type Namespace } from 'netspec'
import { buildDist, ROOT } from '../fixtures/dist.js'
import { labIsGone, leftovers } from '../fixtures/kernel.js'

const run = promisify(execFile)

async function tutorial(lab: Lab): Promise<[Namespace, Namespace]> {
  const ns1 = await lab.namespace('ns1')
  const ns2 = await lab.namespace('ns2')
  await lab.veth([ns1, 'veth1', '10.0.12.1/24'], [ns2, 'veth2', '10.0.12.2/24'])
  return [ns1, ns2]
}

test('two labs with identical labels and addresses, built at once in one process', async () => {
  const labs = await Promise.all([Lab.create({ label: 'twin A' }), Lab.create({ label: 'twin B' })])
  try {
    const built = await Promise.all(labs.map(tutorial))

    const names = built.flat().map((ns) => ns.name)
    expect(new Set(names).size).toBe(4)
    for (const [ns1, ns2] of built) {
      expect(ns1.name).toMatch(new RegExp(`^ns-${process.pid}-[0-9a-z]+-\\d+-ns1$`))
      expect((await ns1.exec(['ping', '-c1', '-W1', '10.0.12.2'])).exitCode).toBe(0)
      // Each veth reaches its own twin's namespace, not the other lab's.
      expect((await ns1.link('veth1'))?.peer).toMatchObject({ netns: ns2.name, name: 'veth2' })
    }
  } finally {
    await Promise.all(labs.map((l) => l.destroy()))
  }
  for (const lab of labs) expect(labIsGone(lab)).toEqual([])
})

test('many labs built concurrently in one process', async () => {
  const labs = await Promise.all(Array.from({ length: 6 }, (_, i) => Lab.create({ label: `crowd ${i}` })))
  try {
    const built = await Promise.all(labs.map(tutorial))
    const pings = await Promise.all(built.map(([ns1]) => ns1.exec(['ping', '-c1', '-W1', '10.0.12.2'])))
    expect(pings.map((p) => p.exitCode)).toEqual([0, 0, 0, 0, 0, 0])
  } finally {
    await Promise.all(labs.map((l) => l.destroy()))
  }
  for (const lab of labs) expect(labIsGone(lab)).toEqual([])
})

describe('in separate processes', () => {
  beforeAll(buildDist, 180_000)

  test('two plain Node processes build the same lab at once with the built package (dist/)', async () => {
    const children = await Promise.all([0, 1].map(() => run('node', ['test/fixtures/build-lab.mjs', 'once'], { cwd: ROOT, timeout: 30_000 })))
    const reports = children.map((c) => JSON.parse(c.stdout.trim().split('\n').pop()!) as { pid: number; labId: string; namespaces: string[]; ping: number })

    expect(reports.map((r) => r.ping)).toEqual([0, 0]) // each pinged 'ns2' by the name in its own /etc/netns hosts file
    expect(reports[0]!.pid).not.toBe(reports[1]!.pid)
    expect(reports[0]!.labId).toMatch(new RegExp(`^${reports[0]!.pid}-[0-9a-z]+-1$`))
    expect(reports[0]!.namespaces).toEqual([`ns-${reports[0]!.labId}-ns1`, `ns-${reports[0]!.labId}-ns2`])
    expect(reports[1]!.namespaces).toEqual([`ns-${reports[1]!.labId}-ns1`, `ns-${reports[1]!.labId}-ns2`])
    expect(leftovers(reports.flatMap((r) => r.namespaces))).toEqual([])
  })
})
