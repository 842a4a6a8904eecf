/*
 * A routing daemon converging and withdrawing: two BIRD routers speak eBGP over a veth; r1 learns the prefix
 * behind r2 and installs it (proto bird), traffic flows; `birdc disable r2` on r1 withdraws it again.
 * Each BIRD has its config, control socket and pid file in the lab's temp directory; `ready` is a check
 * (`birdc show status` answers), convergence is a matcher with a deadline ({ within }).
 *
 *     ┌── r1 (AS 65001) ───┐       ┌── r2 (AS 65002, forwarding) ─┐       ┌── web ───────────────┐
 *     │ eth0 10.0.12.1/24  ├─ BGP ─┤ eth0 10.0.12.2/24            │       │                      │
 *     │ learns 10.2.0.0/24 │       │ lan  10.2.0.1/24             ├───────┤ eth0 10.2.0.2/24     │
 *     │   via 10.0.12.2    │       │ announces 10.2.0.0/24        │       │ default via 10.2.0.1 │
 *     └────────────────────┘       └──────────────────────────────┘       └──────────────────────┘
 */
import { existsSync } from 'node:fs'
import { describe, expect, test } from 'netspec/vitest'
import type { Namespace } from 'netspec'

const BIRD = '/usr/sbin/bird'
const BIRDC = '/usr/sbin/birdc'
const missing = [BIRD, BIRDC].filter((p) => !existsSync(p))
const skip = missing.length === 0 ? false : `${missing.join(', ')} not installed (apt-get install bird2)`

/** A BIRD 2 config: one eBGP session, fast timers for a test, the routes it learns exported to the kernel. */
const birdConf = (o: { id: string; as: number; peer: string; peerAs: number; name: string; announce: string[] }) => `
router id ${o.id};
log stderr all;
protocol device {}
protocol direct { ipv4; }
protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; }
protocol bgp ${o.name} {
  local ${o.id} as ${o.as};
  neighbor ${o.peer} as ${o.peerAs};
  connect delay time 1; connect retry time 1; error wait time 1, 2; hold time 3;
  ipv4 { import all; export where net ~ [ ${o.announce.join(', ') || '0.0.0.0/32'} ]; };
}
`

/** Starts BIRD in `ns` with its config, control socket and pid file beside each other in the lab's temp dir. */
async function startBird(ns: Namespace, conf: string): Promise<string> {
  const config = await ns.writeFile('bird.conf', conf) // <lab temp dir>/<namespace>/bird.conf
  const sock = config.replace(/bird\.conf$/, 'bird.ctl')
  await ns.spawn([BIRD, '-f', '-c', config, '-s', sock, '-P', config.replace(/bird\.conf$/, 'bird.pid')], {
    name: 'bird',
    // Ready once its control socket answers: a check rather than a log line.
    ready: async () => (await ns.exec([BIRDC, '-s', sock, 'show', 'status'])).exitCode === 0,
  })
  return sock
}

describe.skipIf(skip !== false)(`BGP between two BIRD routers${skip === false ? '' : ` (skipped: ${skip})`}`, () => {
  test('r1 learns 10.2.0.0/24 from r2, reaches web behind it, and loses the route when the session is disabled', async ({ lab }) => {
    const r1 = await lab.namespace('r1')
    const r2 = await lab.namespace('r2', { forwarding: true })
    const web = await lab.namespace('web')
    await lab.veth([r1, 'eth0', '10.0.12.1/24'], [r2, 'eth0', '10.0.12.2/24'])
    await lab.veth([r2, 'lan', '10.2.0.1/24'], [web, 'eth0', '10.2.0.2/24'])
    await web.routeAdd('default', { via: '10.2.0.1' })

    const sock1 = await startBird(r1, birdConf({ id: '10.0.12.1', as: 65001, peer: '10.0.12.2', peerAs: 65002, name: 'r2', announce: [] }))
    await startBird(r2, birdConf({ id: '10.0.12.2', as: 65002, peer: '10.0.12.1', peerAs: 65001, name: 'r1', announce: ['10.2.0.0/24'] }))

    // Converged: the route BIRD learnt is in r1's kernel table, and packets follow it.
    await expect(r1).toHaveRoute('10.2.0.0/24', { proto: 'bird', via: '10.0.12.2' }, { within: 20_000 })
    await expect(r1).toReach('10.2.0.2')

    // Withdrawn: r1 shuts its session down; BIRD removes what it learnt from the kernel.
    const disable = await r1.exec([BIRDC, '-s', sock1, 'disable', 'r2'])
    expect(disable.stdout).toContain('r2: disabled')
    await expect(r1).not.toHaveRoute('10.2.0.0/24', { proto: 'bird' }, { within: 10_000 })
    await expect(r1).not.toReach('10.2.0.2')
  })
})
