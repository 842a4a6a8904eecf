// routeGet()/toRouteVia selectors `iif`/`oif` name a device of the namespace (REVIEW-10 of the adversarial review):
// the kernel refuses a query naming no device ("Cannot find device"), so netspec reports a wrong question, never a
// routing verdict that a negative check would pass on; a hostile name (NUL, '/', 300 bytes) is refused before any
// query, as a NetspecError.
import { describe, expect, test } from 'netspec/vitest'
import { isNetspecError, routeGet } from 'netspec'
import { labOnPath } from '../fixtures/lab-path.js'

describe.each(['netlink', 'ip'] as const)('%s path', (path) => {
  test('a selector naming no interface is an error, never a routing verdict', async () => {
    await using lab = await labOnPath(path, `review10 ${path}`)
    const a = await lab.namespace('a', { forwarding: true })
    const b = await lab.namespace('b')
    await lab.veth([a, 'eth0', '10.0.0.1/24'], [b, 'eth0', '10.0.0.2/24'])
    const kernel = await a.exec(['ip', 'route', 'get', '10.0.0.2', 'from', '10.0.0.9', 'iif', 'eht0'])
    expect(kernel.stderr).toContain('Cannot find device') // the kernel: the question is wrong, not the route
    const typo = await routeGet(a, '10.0.0.2', { from: '10.0.0.9', iif: 'eht0' }).then((r) => r, (e: unknown) => e)
    expect(isNetspecError(typo), `a verdict: ${JSON.stringify((typo as { detail?: string }).detail)}`).toBe(true)
    expect((typo as Error).message).toMatch(/a has no interface 'eht0' \(iif\)/)
    // The negative matcher passes vacuously on main:
    const negative = await expect(a).not.toRouteVia('10.0.0.2', { dev: 'eth0' }, { from: '10.0.0.9', iif: 'eht0' }).then(() => 'passed', () => 'failed')
    expect(negative, 'not.toRouteVia with a misspelt iif').toBe('failed')
    const nul = await routeGet(a, '10.0.0.2', { iif: 'et\0h0' }).then((r) => r, (e: unknown) => e)
    expect(isNetspecError(nul), `NUL in iif: ${String(nul)}`).toBe(true)
    expect((nul as { kind?: string }).kind).toBe('invalid-input')
    for (const bad of ['-x', 'a/b', 'x'.repeat(300), 'e th0']) await expect(routeGet(a, '10.0.0.2', { oif: bad })).rejects.toMatchObject({ kind: 'invalid-input' })
    // A real device answers as the kernel does
    const real = await routeGet(a, '10.0.0.2', { from: '10.0.0.9', iif: 'eth0' })
    const k = JSON.parse((await a.exec(['ip', '-j', 'route', 'get', '10.0.0.2', 'from', '10.0.0.9', 'iif', 'eth0'], { check: true })).stdout) as { dev: string }[]
    expect(real.decision?.dev).toBe(k[0]!.dev)
  })
})
