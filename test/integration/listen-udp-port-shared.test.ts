// A UDP listen on a port another socket holds fails as TCP's does (EADDRINUSE), although netspec's UDP listener
// shares its port among its own sockets with SO_REUSEADDR (REVIEW2-4 of the second adversarial review): the port is
// taken without it first. The kernel's view: `ss -uanp` shows one process on :5353.
import { expect, test } from 'vitest'
import { reachable } from 'netspec'
import { labOnPath } from '../fixtures/lab-path.js'

test('a second UDP listener on a port already listened on is refused, as TCP is', async () => {
  await using lab = await labOnPath('netlink', 'rv2-udp-twice')
  const a = await lab.namespace('a')
  const b = await lab.namespace('b')
  await lab.veth([a, 'eth0', '10.0.0.1/24'], [b, 'eth0', '10.0.0.2/24'])
  const first = await b.listen(5353, { proto: 'udp' })
  await expect(b.listen(8080)).resolves.toBeDefined()
  await expect(b.listen(8080)).rejects.toThrow() // TCP: the kernel's EADDRINUSE
  let second: unknown
  try {
    second = await b.listen(5353, { proto: 'udp' })
  } catch (e) {
    second = e
  }
  const holders = new Set([...(await b.exec(['ss', '-H', '-uanp', 'sport', '= :5353'], { check: true })).stdout.matchAll(/pid=(\d+)/g)].map((m) => m[1]))
  const r = await reachable(a, 'udp://10.0.0.2:5353', { timeoutMs: 2000 })
  expect(r.verdict).toBe('replied')
  // netspec: the second listen resolves; two processes hold the port; the first listener never hears the datagram.
  expect(holders.size, `processes on udp :5353: ${[...holders].join(' ')}`).toBe(1)
  expect(second).toBeInstanceOf(Error)
  expect((await first.peers()).length).toBeGreaterThan(0)
})
