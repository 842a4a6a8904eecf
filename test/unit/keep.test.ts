import { describe, expect, test } from 'vitest'
import { isNetspecError } from '../../src/errors.js'
import { containerIdFromCgroup, formatEnterCommands, keepPolicy } from '../../src/vitest/keep.js'

describe('NETSPEC_KEEP', () => {
  test.each([
    [{}, 'off'],
    [{ NETSPEC_KEEP: '' }, 'off'],
    [{ NETSPEC_KEEP: 'off' }, 'off'],
    [{ NETSPEC_KEEP: 'on-failure' }, 'on-failure'],
    [{ NETSPEC_KEEP: 'ON-FAILURE' }, 'on-failure'],
    [{ NETSPEC_KEEP: '1' }, 'on-failure'],
    [{ NETSPEC_KEEP: 'pause' }, 'pause'],
  ])('%j → %s', (env, mode) => {
    expect(keepPolicy(env)).toEqual({ mode })
  })

  test('an unknown value is rejected with the accepted ones', () => {
    let caught: unknown
    try {
      keepPolicy({ NETSPEC_KEEP: 'always' })
    } catch (e) {
      caught = e
    }
    expect(isNetspecError(caught, 'invalid-input')).toBe(true)
    expect((caught as Error).message).toContain("NETSPEC_KEEP='always' is not understood")
    expect((caught as Error).message).toContain('NETSPEC_KEEP=on-failure')
  })

  test('on CI keeping is refused with a reason, unless NETSPEC_KEEP_FORCE=1', () => {
    const refused = keepPolicy({ NETSPEC_KEEP: 'pause', CI: 'true' })
    expect(refused.mode).toBe('off')
    expect(refused.refused).toContain('NETSPEC_KEEP=pause is refused because CI=true')
    expect(refused.refused).toContain('NETSPEC_KEEP_FORCE=1')
    expect(keepPolicy({ NETSPEC_KEEP: 'on-failure', CI: 'true', NETSPEC_KEEP_FORCE: '1' })).toEqual({ mode: 'on-failure' })
    expect(keepPolicy({ NETSPEC_KEEP: 'on-failure', CI: 'false' })).toEqual({ mode: 'on-failure' })
    expect(keepPolicy({ CI: 'true' })).toEqual({ mode: 'off' })
  })
})

describe('enter commands', () => {
  const lab = { label: 'nat > port forward', id: '4711-3' }
  const namespaces = [
    { label: 'gw', name: 'ns-4711-3-gw', enter: 'ip netns exec ns-4711-3-gw bash' },
    { label: 'web', name: 'ns-4711-3-web', enter: 'ip netns exec ns-4711-3-web bash', container: 'docker exec -it 0123456789ab sh' },
  ]

  test('kept: label, kernel name and command per namespace, then how to remove it', () => {
    expect(formatEnterCommands(lab, namespaces, 'kept')).toBe(
      [
        "netspec kept the lab of this failed test for debugging (NETSPEC_KEEP): lab 'nat > port forward' (id 4711-3)",
        '  label  kernel name    enter it (as root)',
        '  gw     ns-4711-3-gw   ip netns exec ns-4711-3-gw bash',
        '  web    ns-4711-3-web  ip netns exec ns-4711-3-web bash',
        '                        docker exec -it 0123456789ab sh',
        '  processes the test spawned were stopped; everything else is as the test left it.',
        '  remove it with: npx netspec sweep --kept --force',
      ].join('\n'),
    )
  })

  test('paused: the same commands, and Enter to continue', () => {
    const text = formatEnterCommands(lab, namespaces.slice(0, 1), 'paused')
    expect(text).toContain('netspec paused at this failure (NETSPEC_KEEP=pause)')
    expect(text).toContain('ip netns exec ns-4711-3-gw bash')
    expect(text).toContain('press Enter here to tear it down and continue the run')
  })

  test.each([
    ['0::/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope', '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'],
    ['12:pids:/docker/fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210', 'fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210'],
    ['0::/user.slice/user-0.slice/session-3.scope', undefined],
  ])('the container of a process from its cgroup: %s', (cgroup, id) => {
    expect(containerIdFromCgroup(cgroup)).toBe(id)
  })
})
