// Pure parts of the runner image build: ldd parsing, the merged-/usr layout, the input hash.
import { describe, expect, test } from 'vitest'
import { inImage, inputsHash, parseLdd, type ImageInputs } from '../../src/container/image.js'

const LDD = `/usr/sbin/nft:
\tlinux-vdso.so.1 (0x00007ffd4b1f2000)
\tlibnftables.so.1 => /lib/x86_64-linux-gnu/libnftables.so.1 (0x00007f0c1c4a0000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0c1c2bf000)
\tlibmissing.so.9 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007f0c1c5a1000)
/bin/busybox:
\tnot a dynamic executable
`

describe('parseLdd', () => {
  test('lists resolved libraries and the loader, skips the vDSO, unresolved names and static files', () => {
    expect(parseLdd(LDD)).toEqual(['/lib/x86_64-linux-gnu/libnftables.so.1', '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2'])
  })
})

describe('inImage', () => {
  test('maps /bin, /sbin, /lib and /lib64 into /usr (the image is merged-/usr), leaves the rest', () => {
    expect(inImage('/lib/x86_64-linux-gnu/libc.so.6')).toBe('/usr/lib/x86_64-linux-gnu/libc.so.6')
    expect(inImage('/lib64/ld-linux-x86-64.so.2')).toBe('/usr/lib64/ld-linux-x86-64.so.2')
    expect(inImage('/sbin/ip')).toBe('/usr/sbin/ip')
    expect(inImage('/usr/bin/ping')).toBe('/usr/bin/ping')
    expect(inImage('/library/x')).toBe('/library/x')
  })
})

describe('inputsHash', () => {
  const inputs = (libs: string[]): ImageInputs => ({ tools: new Map([['node', process.execPath]]), objects: [process.execPath], libs, busybox: undefined, missing: [] })
  test('is stable for the same inputs and changes when an input file changes', () => {
    const a = inputsHash(inputs([process.execPath]))
    expect(a).toMatch(/^[0-9a-f]{12}$/)
    expect(inputsHash(inputs([process.execPath]))).toBe(a)
    expect(inputsHash(inputs([process.execPath, '/etc/hostname']))).not.toBe(a)
  })
})
