// NETSPEC_EXECUTOR must agree with the executor installed in the process: a run that asked for the
// container back end never silently builds its labs on the host (src/exec/index.ts).
import { afterEach, describe, expect, test } from 'vitest'
import { isNetspecError, Lab } from 'netspec'
import { checkRequestedExecutor } from '../../src/exec/index.js'

describe('NETSPEC_EXECUTOR', () => {
  const saved = process.env.NETSPEC_EXECUTOR
  afterEach(() => {
    if (saved === undefined) delete process.env.NETSPEC_EXECUTOR
    else process.env.NETSPEC_EXECUTOR = saved
  })

  test('unset, empty or local: the host executor', () => {
    for (const v of [undefined, '', 'local']) expect(() => checkRequestedExecutor(v, undefined)).not.toThrow()
  })

  test('container with the container back end installed: fine', () => {
    expect(() => checkRequestedExecutor('container', 'container')).not.toThrow()
  })

  test('container without the setup file: a loud error naming netspec/container-setup', () => {
    for (const installed of [undefined, 'local']) {
      let err: unknown
      try {
        checkRequestedExecutor('container', installed)
      } catch (e) {
        err = e
      }
      expect(isNetspecError(err, 'invalid-input')).toBe(true)
      expect((err as Error).message).toMatch(/NETSPEC_EXECUTOR=container is set, but the container back end is not installed/)
      expect((err as { hint?: string }).hint).toContain("setupFiles: ['netspec/container-setup']")
    }
  })

  test('an unknown value is named', () => {
    expect(() => checkRequestedExecutor('docker', undefined)).toThrow(/NETSPEC_EXECUTOR="docker" is not a known executor/)
  })

  test('Lab.create refuses before touching anything', async () => {
    process.env.NETSPEC_EXECUTOR = 'container'
    await expect(Lab.create({ label: 'no setup file' })).rejects.toThrow(/netspec\/container-setup|container back end is not installed/)
  })
})
