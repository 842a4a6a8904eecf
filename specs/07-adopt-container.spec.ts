/*
 * A real service container joins a lab: a small HTTP server started from the runner image (Docker,
 * --network none) is adopted (`lab.adopt`), wired by a veth to bridge br0 in the router, reached from
 * a client on the same bridge (ping, TCP), and from outside through a DNAT port forward on the router.
 *
 *   ┌── outside ──────────┐       ┌──────────────── router ────────────────┐
 *   │ eth0 198.51.100.2/24├───────┤wan0 198.51.100.1/24                     │
 *   └─────────────────────┘       │  nft: tcp dport 80 → 10.0.0.10:8080     │
 *                                 │  br0 10.0.0.1/24                        │
 *                                 │   ├─────────────┐                       │
 *                                 └───┼─────────────┼───────────────────────┘
 *              ┌── web (container) ───┴─┐   ┌───────┴── client ────┐
 *              │ eth0 10.0.0.10/24      │   │ eth0 10.0.0.20/24     │
 *              │ HTTP :8080             │   └───────────────────────┘
 *              └────────────────────────┘
 * Needs Docker (started as `netspec engine start` does when installed but not running) and the runner image
 * (built here when missing, ~5 s, no registry). Skipped, saying why, when docker is not installed.
 */
import { test, expect, describe, beforeAll, afterAll } from 'netspec/vitest'
import { buildImage, leaseEngine, startRunner, type Namespace, type Runner } from 'netspec'

// lab.adopt() needs the lab on the host (a container's PID is a host PID): not with NETSPEC_EXECUTOR=container.
const viaContainer = process.env.NETSPEC_EXECUTOR === 'container'
const lease = viaContainer ? { ok: false as const, reason: 'NETSPEC_EXECUTOR=container: adopting needs the host executor' } : await leaseEngine()
const HTTP_SERVER = `node -e 'require("http").createServer((q, s) => s.end("hello from web; you are " + q.socket.remoteAddress)).listen(8080, "0.0.0.0", () => console.log("web listening"))'`
/** A TCP (HTTP) request made from inside a namespace, by this machine's Node. */
const httpGet = (from: Namespace, url: string) =>
  from.exec([process.execPath, '-e', `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(5000) }).then((r) => r.text()).then(console.log, (e) => { console.error(String(e.cause ?? e)); process.exit(1) })`])

describe.skipIf(!lease.ok)(`a service container adopted into a lab${lease.ok ? '' : ` (skipped: ${lease.reason})`}`, () => {
  let web: Runner
  beforeAll(async () => {
    await buildImage() // cached after the first build on this machine
    web = await startRunner({ service: HTTP_SERVER, ready: /web listening/ })
  }, 60_000)
  afterAll(async () => {
    await web?.stop()
    if (lease.ok) await lease.release()
  })

  test('the adopted container is reached from the bridge (ping, TCP) and through a DNAT port forward', async ({ lab }) => {
    const router = await lab.namespace('router', { forwarding: true })
    const client = await lab.namespace('client')
    const outside = await lab.namespace('outside')
    const webNs = await lab.adopt(web, 'web')

    const br0 = await lab.bridge(router, 'br0', { addresses: ['10.0.0.1/24'] })
    await br0.plug([webNs, 'eth0', '10.0.0.10/24'])
    await br0.plug([client, 'eth0', '10.0.0.20/24'])
    await lab.veth([router, 'wan0', '198.51.100.1/24'], [outside, 'eth0', '198.51.100.2/24'])
    await webNs.routeAdd('default', { via: '10.0.0.1' })
    await router.exec(['nft', '-f', '-'], {
      check: true,
      input: [
        'table ip nat {',
        '  chain prerouting {',
        '    type nat hook prerouting priority dstnat;',
        '    iifname "wan0" tcp dport 80 dnat to 10.0.0.10:8080',
        '  }',
        '}',
        '',
      ].join('\n'),
    })

    // The container's own namespace is the lab's 'web' now: its eth0 is the veth plugged into br0.
    expect((await webNs.link('eth0'))?.master).toBeUndefined()
    expect((await router.links()).find((l) => l.master === 'br0' && l.peer?.namespace === 'web')).toBeDefined()

    expect((await client.exec(['ping', '-c1', '-W2', '10.0.0.10'])).exitCode).toBe(0)
    const direct = await httpGet(client, 'http://10.0.0.10:8080/')
    expect(direct.stdout.trim()).toBe('hello from web; you are 10.0.0.20')

    // Through the port forward: the service sees the real outside address (DNAT, no masquerade).
    const forwarded = await httpGet(outside, 'http://198.51.100.1/')
    expect(forwarded.stderr).toBe('')
    expect(forwarded.stdout.trim()).toBe('hello from web; you are 198.51.100.2')
    // And the outside has no route into the LAN except through the forward.
    expect((await outside.exec(['ping', '-c1', '-W1', '10.0.0.10'])).exitCode).not.toBe(0)
  })
})
