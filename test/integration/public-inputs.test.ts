// User strings that reached argv without src/values/ (found by grepping the public API after the ports work):
// routeGet()'s iif/oif went to `ip route get` as given, its mark unbounded; expose()'s host took an IPv6 zone.
// Each is now refused with 'invalid-input' before any process, and the valid forms still get the kernel's answer.
import { describe, expect, test } from 'vitest'
import { isNetspecError, routeGet } from 'netspec'
import { labIsGone } from '../fixtures/kernel.js'
import { labOnPath } from '../fixtures/lab-path.js'

const refused = async (p: Promise<unknown>): Promise<string> => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(isNetspecError(e, 'invalid-input'), String(e)).toBe(true)
  return (e as Error).message
}

describe.each(['netlink', 'ip'] as const)('public inputs on the %s path', (path) => {
  test('routeGet selectors and expose host are checked before anything runs', async () => {
    const lab = await labOnPath(path, `public inputs (${path})`)
    try {
      const a = await lab.namespace('a')
      const b = await lab.namespace('b')
      await lab.veth([a, 'veth1', '10.0.12.1/24'], [b, 'veth2', '10.0.12.2/24'])
      for (const iif of ['-h', 'veth1\n', 'x y', 'a'.repeat(16), '']) expect(await refused(routeGet(a, '10.0.12.2', { iif }))).toMatch(/interface name|IFNAMSIZ|empty|not/i)
      expect(await refused(routeGet(a, '10.0.12.2', { oif: 'veth1#' }))).toMatch(/veth1#/)
      expect(await refused(routeGet(a, '10.0.12.2', { mark: 2 ** 32 }))).toMatch(/32 bits/)
      expect(await refused(lab.expose(a, 80, { host: 'fe80::1%veth1' }))).toMatch(/host must be an IP address/)
      // The valid forms: the kernel's own answer.
      expect(await routeGet(a, '10.0.12.2', { oif: 'veth1', mark: 0xffffffff })).toMatchObject({ ok: true, decision: { dev: 'veth1' } })
    } finally {
      await lab.destroy()
      expect(labIsGone(lab)).toEqual([])
    }
  })
})
