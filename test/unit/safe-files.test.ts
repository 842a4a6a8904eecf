// src/lab/safe-files.ts: writing into a directory that someone less trusted can change. Each writer meets a link
// planted at its name (to a victim file or directory outside): the victim stays as it was, the write lands in place.
import { chmodSync, chownSync, closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { copyFileAt, copyTreeAt, openWritableDir, removeAt, untrustedDir, writeFileAt } from '../../src/lab/safe-files.js'

let root: string
let victim: string
let victimFile: string
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'netspec-safe-files-'))
  victim = join(root, 'victim')
  mkdirSync(victim)
  victimFile = join(victim, 'shadow')
  writeFileSync(victimFile, 'ORIGINAL\n')
})
afterEach(() => rmSync(root, { recursive: true, force: true }))
const untouched = () => {
  expect(readFileSync(victimFile, 'utf8')).toBe('ORIGINAL\n')
  expect(readdirSync(victim)).toEqual(['shadow'])
}

describe('safe files', () => {
  test('writeFileAt and copyFileAt replace a link at their name, never write through it', () => {
    const dir = join(root, 'diag')
    mkdirSync(dir)
    symlinkSync(victimFile, join(dir, 'a.txt'))
    symlinkSync(victimFile, join(dir, 'b.pcap'))
    writeFileSync(join(root, 'src.pcap'), 'PCAP')
    const fd = openWritableDir(dir)
    try {
      writeFileAt(fd, 'a.txt', 'TEXT\n', 'a.txt')
      copyFileAt(fd, 'b.pcap', join(root, 'src.pcap'), 'b.pcap')
    } finally {
      closeSync(fd)
    }
    untouched()
    expect(lstatSync(join(dir, 'a.txt')).isFile()).toBe(true)
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('TEXT\n')
    expect(readFileSync(join(dir, 'b.pcap'), 'utf8')).toBe('PCAP')
    expect(readdirSync(dir).sort()).toEqual(['a.txt', 'b.pcap']) // no temp file left
  })

  test('writes go to the directory that was opened, even when its path is swapped for a link afterwards', () => {
    const dir = join(root, 'diag')
    mkdirSync(dir)
    const fd = openWritableDir(dir)
    try {
      renameSync(dir, join(root, 'moved'))
      symlinkSync(victim, dir)
      writeFileAt(fd, 'x.txt', 'X', 'x.txt')
    } finally {
      closeSync(fd)
    }
    untouched()
    expect(readFileSync(join(root, 'moved', 'x.txt'), 'utf8')).toBe('X')
  })

  test('a relative path with a symlinked component is refused; missing components are made', () => {
    const cwd = process.cwd()
    process.chdir(root)
    try {
      symlinkSync(victim, join(root, 'linked'))
      expect(() => openWritableDir('linked/diagnostics')).toThrow(/netspec refused to write linked: it is a symbolic link/)
      expect(() => openWritableDir('../x')).toThrow(/leads out of the working directory/)
      expect(() => openWritableDir('.netspec/diagnostics', { create: false })).toThrow(/ENOENT/)
      expect(existsSync(join(root, '.netspec'))).toBe(false) // create: false makes nothing
      closeSync(openWritableDir('.netspec/diagnostics'))
      expect(lstatSync(join(root, '.netspec', 'diagnostics')).isDirectory()).toBe(true)
      mkdirSync(join(root, 'real'))
      symlinkSync(victim, join(root, 'real', 'last'))
      // An absolute path is the user's setting, but its last component is still never a link.
      expect(() => openWritableDir(join(root, 'real', 'last'))).toThrow(/it is a symbolic link/)
    } finally {
      process.chdir(cwd)
    }
    untouched()
  })

  test('copyTreeAt replaces an earlier copy or a link at its name, copies files and directories only, skips what it is told', () => {
    const src = join(root, 'src')
    mkdirSync(join(src, 'ns-a'), { recursive: true })
    mkdirSync(join(src, 'captures'))
    writeFileSync(join(src, 'ns-a', 'bird.conf'), 'conf')
    writeFileSync(join(src, 'captures', 'x.pcap'), 'pcap')
    symlinkSync(victimFile, join(src, 'ns-a', 'link')) // not a regular file: not copied
    const dir = join(root, 'diag')
    mkdirSync(dir)
    symlinkSync(victim, join(dir, 't.files'))
    const fd = openWritableDir(dir)
    try {
      copyTreeAt(fd, 't.files', src, 't.files', ['captures'])
      untouched()
      expect(lstatSync(join(dir, 't.files')).isDirectory()).toBe(true)
      expect(readdirSync(join(dir, 't.files'))).toEqual(['ns-a'])
      expect(readdirSync(join(dir, 't.files', 'ns-a'))).toEqual(['bird.conf'])
      // Again, over the earlier copy (which someone filled with a link into the victim).
      symlinkSync(victim, join(dir, 't.files', 'ns-a', 'evil'))
      copyTreeAt(fd, 't.files', src, 't.files', ['captures'])
      expect(readdirSync(join(dir, 't.files', 'ns-a'))).toEqual(['bird.conf'])
    } finally {
      closeSync(fd)
    }
    untouched()
    expect(readdirSync(dir)).toEqual(['t.files'])
  })

  test('removeAt removes a tree without following the links in it', () => {
    const dir = join(root, 'diag')
    mkdirSync(join(dir, 'old', 'sub'), { recursive: true })
    symlinkSync(victim, join(dir, 'old', 'sub', 'into-victim'))
    symlinkSync(victimFile, join(dir, 'old', 'file-link'))
    symlinkSync(victim, join(dir, 'top-link'))
    const fd = openWritableDir(dir)
    try {
      removeAt(fd, 'old')
      removeAt(fd, 'top-link')
      removeAt(fd, 'missing')
    } finally {
      closeSync(fd)
    }
    untouched()
    expect(existsSync(join(dir, 'old'))).toBe(false)
    expect(readdirSync(dir)).toEqual([])
  })

  test('a directory in the place of a file is refused, and the refusal says so', () => {
    const dir = join(root, 'diag')
    mkdirSync(join(dir, 'a.txt', 'inner'), { recursive: true })
    const fd = openWritableDir(dir)
    try {
      expect(() => writeFileAt(fd, 'a.txt', 'x', 'diag/a.txt')).toThrow(/netspec refused to write diag\/a\.txt: a directory is in its place/)
    } finally {
      closeSync(fd)
    }
    expect(readdirSync(dir)).toEqual(['a.txt']) // no temp file left
  })
})

describe("the sealed check's leak evidence (scripts/sealed-check.mjs)", () => {
  test('is never copied through a link at its name or in its directory', async () => {
    // @ts-expect-error: a plain .mjs script without types
    const { keepEvidence } = (await import('../../scripts/sealed-check.mjs')) as { keepEvidence: (pcap: string, dest: string) => void }
    writeFileSync(join(root, 'leak.pcap'), 'PCAP')
    const cwd = process.cwd()
    process.chdir(root)
    try {
      mkdirSync('.netspec')
      symlinkSync(victimFile, '.netspec/sealed-leak.pcap')
      keepEvidence(join(root, 'leak.pcap'), '.netspec/sealed-leak.pcap')
      expect(lstatSync('.netspec/sealed-leak.pcap').isFile()).toBe(true)
      expect(readFileSync('.netspec/sealed-leak.pcap', 'utf8')).toBe('PCAP')
      symlinkSync(victim, 'evidence')
      expect(() => keepEvidence(join(root, 'leak.pcap'), 'evidence/sealed-leak.pcap')).toThrow(/evidence is a symbolic link/)
    } finally {
      process.chdir(cwd)
    }
    untouched()
  })
})

describe('untrustedDir: where root may make private directories', () => {
  test('/tmp (root, sticky) is fine; a directory another user owns, or others may write without the sticky bit, is not', () => {
    expect(untrustedDir('/tmp')).toBeUndefined()
    expect(untrustedDir(root)).toBeUndefined()
    if (process.geteuid?.() === 0) {
      // (chown needs root; as another user, that user's own directories are theirs to trust)
      const theirs = join(root, 'theirs')
      mkdirSync(theirs)
      chownSync(theirs, 65534, 65534)
      expect(untrustedDir(theirs)).toBe(`${theirs} belongs to uid 65534, who could move what netspec makes there`)
      expect(untrustedDir(join(theirs, 'below'))).toMatch(/belongs to uid 65534/) // an ancestor counts too
    }
    const open = join(root, 'open')
    mkdirSync(open)
    chmodSync(open, 0o777)
    expect(untrustedDir(open)).toBe(`${open} is writable by others (mode 777) and not sticky`)
    chmodSync(open, 0o1777)
    expect(untrustedDir(open)).toBeUndefined()
    symlinkSync(open, join(root, 'link'))
    expect(untrustedDir(join(root, 'link'))).toBe(`${join(root, 'link')} is a symbolic link`)
  })
})
