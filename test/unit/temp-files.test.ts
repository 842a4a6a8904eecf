import { describe, expect, test } from 'vitest'
import { checkFileName } from '../../src/lab/tempdir.js'
import { isNetspecError } from '../../src/errors.js'

describe('checkFileName', () => {
  test.each(['bird.conf', 'dnsmasq.conf', '.hidden', 'a-b_c.1', 'é.conf', 'x'.repeat(255), '日本'.repeat(42)])('accepts %j', (name) => {
    expect(checkFileName(name)).toBe(name)
  })

  test.each([
    ['', /non-empty/],
    ['../etc/passwd', /contains '\/'/],
    ['a/b', /contains '\/'/],
    ['/etc/resolv.conf', /contains '\/'/],
    ['.', /names a directory/],
    ['..', /names a directory/],
    ['a\0b', /NUL/],
    ['-rf', /starts with '-'/],
    ['a\nb', /line break/],
    ['x'.repeat(256), /256 bytes/],
    ['日本'.repeat(43), /258 bytes/],
  ])('rejects %j before anything is written', (name, why) => {
    let err: unknown
    try {
      checkFileName(name, { namespace: 'r1' })
    } catch (e) {
      err = e
    }
    expect(isNetspecError(err, 'invalid-input')).toBe(true)
    expect((err as Error).message).toMatch(why)
    expect((err as Error).message).toContain('namespace: r1')
  })

  test('rejects what is not a string', () => {
    expect(() => checkFileName(42)).toThrow(/non-empty string/)
  })
})

describe('isLabTempDir: what a dead lab marker may make a sweep remove', () => {
  test('only an absolute, normalised path named as mkdtemp names it for that lab', async () => {
    const { isLabTempDir } = await import('../../src/lab/owner.js')
    expect(isLabTempDir('4711-3', '/tmp/netspec-lab-4711-3-a1B2c3')).toBe(true)
    for (const bad of [
      '/tmp/netspec-lab-4711-3-a1B2c3/..',
      '/tmp/../etc/netspec-lab-4711-3-a1B2c3x',
      '/tmp/netspec-lab-4711-33-a1B2c3',
      '/tmp/netspec-lab-4711-3-',
      'tmp/netspec-lab-4711-3-a1B2c3',
      '/tmp/./netspec-lab-4711-3-a1B2c3',
      '/',
      '/etc',
      42,
      undefined,
    ])
      expect(isLabTempDir('4711-3', bad), String(bad)).toBe(false)
    expect(isLabTempDir('.*', '/tmp/netspec-lab--a1B2c3')).toBe(false)
  })
})
