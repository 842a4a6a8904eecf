import vm from 'node:vm'
import { describe, expect, test } from 'vitest'
import { NetspecError, callSite, invalidInput, isNetspecError } from '../../src/errors.js'

describe('NetspecError', () => {
  test('the message names the lab, the namespace with its kernel name, the command, what the kernel said and a hint', () => {
    const e = new NetspecError('command-failed', 'ip route add failed', {
      lab: 'two hosts',
      namespace: 'ns2',
      netns: 'ns-4711-1-ns2',
      declaredAt: '/work/specs/x.spec.ts:12:5',
      command: 'ip -n ns-4711-1-ns2 route add default via 10.9.9.9',
      exitCode: 2,
      stderr: 'Error: Nexthop has invalid gateway.\n',
      hint: 'add an address in its subnet first',
    })
    expect(e.message).toBe(
      [
        'ip route add failed',
        '  lab:       two hosts',
        '  namespace: ns2 (kernel name ns-4711-1-ns2)',
        '  declared:  /work/specs/x.spec.ts:12:5',
        '  command:   ip -n ns-4711-1-ns2 route add default via 10.9.9.9',
        '  exit code: 2',
        '  kernel said: Error: Nexthop has invalid gateway.',
        '  hint:      add an address in its subnet first',
      ].join('\n'),
    )
    expect(e).toMatchObject({ name: 'NetspecError', kind: 'command-failed', namespace: 'ns2', netns: 'ns-4711-1-ns2', shortMessage: 'ip route add failed' })
  })

  test('only the context given is printed; blank stderr is left out; long stderr is cut to six lines', () => {
    expect(new NetspecError('invalid-input', 'bad', { stderr: '  \n' }).message).toBe('bad')
    expect(new NetspecError('invalid-input', 'bad', { netns: 'ns-1-1-x' }).message).toBe('bad\n  namespace: ? (kernel name ns-1-1-x)')
    const long = new NetspecError('command-failed', 'x', { stderr: 'l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8' }).message
    expect(long).toContain('kernel said: l1')
    expect(long).toContain('l6')
    expect(long).not.toContain('l7')
  })

  test('keeps its cause', () => {
    const cause = new Error('root cause')
    expect(new NetspecError('container', 'x', { cause }).cause).toBe(cause)
    expect('cause' in new NetspecError('container', 'x')).toBe(false)
  })

  test('invalidInput is the invalid-input kind', () => {
    expect(invalidInput('nope', { hint: 'h' })).toMatchObject({ kind: 'invalid-input', hint: 'h' })
  })
})

describe('isNetspecError', () => {
  test('recognises our errors, optionally of one kind, and nothing else', () => {
    const e = invalidInput('x')
    expect(isNetspecError(e)).toBe(true)
    expect(isNetspecError(e, 'invalid-input')).toBe(true)
    expect(isNetspecError(e, 'torn-down')).toBe(false)
    for (const other of [new Error('x'), { kind: 'invalid-input' }, null, undefined, 'NetspecError', 42])
      expect(isNetspecError(other)).toBe(false)
  })

  test('works across module copies, where instanceof fails (Vitest realms)', async () => {
    // A second instance of the module, as a setup file or another realm would load it.
    const copy = (await import(/* @vite-ignore */ `../../src/errors.ts?copy=${Date.now()}`)) as typeof import('../../src/errors.js')
    expect(copy.NetspecError).not.toBe(NetspecError)
    const foreign = copy.invalidInput('from the other copy')
    expect(foreign instanceof NetspecError).toBe(false)
    expect(isNetspecError(foreign, 'invalid-input')).toBe(true)
    expect(copy.isNetspecError(invalidInput('x'))).toBe(true)
  })

  test('works across vm contexts (another global object, same brand)', () => {
    const branded = vm.runInNewContext(`({ [Symbol.for('netspec.error')]: true, kind: 'timed-out' })`) as unknown
    expect(isNetspecError(branded, 'timed-out')).toBe(true)
  })
})

test("callSite names the caller's file and line, skipping netspec's own sources", () => {
  const site = callSite()
  expect(site).toMatch(/test\/unit\/errors\.test\.ts:\d+:\d+$/)
})
