import { readFileSync } from 'node:fs'
import { expect, test } from 'vitest'
import { isNetspecError } from '../../src/errors.js'
import { effectiveCaps, missingPrivileges, notPermitted } from '../../src/lab/preflight.js'

const status = (name: string) => readFileSync(new URL(`../fixtures/proc/${name}`, import.meta.url), 'utf8')

test('root has every capability netspec needs', () => {
  const caps = effectiveCaps(status('status-root.txt'))
  expect(caps).toBe(0x1fffeffffffn)
  expect(missingPrivileges(caps)).toEqual([])
})

test('an unprivileged user lacks CAP_NET_ADMIN and CAP_SYS_ADMIN', () => {
  expect(effectiveCaps(status('status-nobody.txt'))).toBe(0n)
  expect(missingPrivileges(effectiveCaps(status('status-nobody.txt')))).toEqual(['CAP_NET_ADMIN', 'CAP_SYS_ADMIN'])
})

test('root without CAP_NET_ADMIN (a restricted container) is caught', () => {
  expect(missingPrivileges(effectiveCaps(status('status-no-net-admin.txt')))).toEqual(['CAP_NET_ADMIN'])
})

test('a status without CapEff counts as no capabilities', () => {
  expect(effectiveCaps('Name:\tx\n')).toBe(0n)
})

test('the not-permitted error says what is missing and how to run', () => {
  const e = notPermitted(['CAP_NET_ADMIN'])
  expect(isNetspecError(e, 'not-permitted')).toBe(true)
  expect(e.message).toContain('netspec needs root: this process lacks CAP_NET_ADMIN')
  expect(e.hint).toContain('sudo -E env "PATH=$PATH" npx vitest run')
  expect(e.hint).toContain('--cap-add NET_ADMIN')
})

test("this machine's own status parses", () => {
  expect(typeof effectiveCaps()).toBe('bigint')
})

test("onPath finds 'ip' as spawn would, without starting a process", async () => {
  const { onPath } = await import('../../src/exec/local.js')
  expect(onPath('ip')).toBe(true)
  expect(onPath('ip', '/nonexistent:')).toBe(false)
  expect(onPath('sh', '/nonexistent:/bin')).toBe(true)
  expect(onPath('passwd-is-not-a-dir', '/etc')).toBe(false)
})
