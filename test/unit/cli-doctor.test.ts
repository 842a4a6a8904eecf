import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { packageOf, renderDoctor, which, type DoctorReport } from '../../src/cli/doctor.js'
import { renderSweep } from '../../src/cli/sweep.js'

describe('doctor', () => {
  test('every tool maps to its Debian package', () => {
    expect(packageOf('ip')).toBe('iproute2')
    expect(packageOf('ping')).toBe('iputils-ping')
    expect(packageOf('unshare')).toBe('util-linux')
    expect(packageOf('docker')).toBe('docker.io')
  })

  test('which() finds executables on the given PATH only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netspec-which-'))
    try {
      writeFileSync(join(dir, 'tool'), '#!/bin/sh\n')
      writeFileSync(join(dir, 'plain'), '')
      chmodSync(join(dir, 'tool'), 0o755)
      expect(which('tool', `/nonexistent:${dir}`)).toBe(join(dir, 'tool'))
      expect(which('plain', dir)).toBeUndefined()
      expect(which('tool', '/nonexistent')).toBeUndefined()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  const report: DoctorReport = {
    ready: false,
    install: 'apt-get install -y iputils-ping tcpdump',
    checks: [
      { group: 'system', name: 'privileges', status: 'ok', required: true, detail: 'uid 0, CAP_NET_ADMIN and CAP_SYS_ADMIN' },
      { group: 'tools', name: 'ping', status: 'missing', required: true, package: 'iputils-ping', detail: 'not found on PATH: needed for ICMP reachability', fix: 'apt-get install -y iputils-ping' },
      { group: 'tools', name: 'tcpdump', status: 'warn', required: false, package: 'tcpdump', detail: 'not found on PATH: needed for packet capture', fix: 'apt-get install -y tcpdump' },
      { group: 'kernel', name: 'netem', status: 'warn', required: false, detail: 'netem qdisc: CONFIG_NET_SCH_NETEM is not set', fix: 'use a kernel that has it' },
    ],
  }

  test('renders sections, marks, fixes under their check, the install line and the verdict', () => {
    expect(renderDoctor(report)).toBe(
      [
        'netspec doctor — can this machine run network specs?',
        '',
        'System',
        '  ✔ privileges  uid 0, CAP_NET_ADMIN and CAP_SYS_ADMIN',
        '',
        'Tools',
        '  ✘ ping        not found on PATH: needed for ICMP reachability  [required]',
        '                → apt-get install -y iputils-ping',
        '  ! tcpdump     not found on PATH: needed for packet capture',
        '                → apt-get install -y tcpdump',
        '',
        'Kernel features',
        '  ! netem       netem qdisc: CONFIG_NET_SCH_NETEM is not set',
        '                → use a kernel that has it',
        '',
        'Install every missing tool at once:',
        '  apt-get install -y iputils-ping tcpdump',
        '',
        'NOT READY: ping missing (see ✘ above).',
      ].join('\n'),
    )
  })

  test('ready with optional items missing says how many', () => {
    const ok: DoctorReport = { ready: true, checks: report.checks.filter((c) => c.name !== 'ping') }
    expect(renderDoctor(ok)).toMatch(/Ready: netspec can run here \(2 optional item\(s\) missing; specs needing them are skipped\)\.$/)
  })
})

describe('sweep rendering', () => {
  const kept = { version: 1 as const, labId: '77-1-2', label: 'nat > fails', ownerPid: 77, ownerStart: 1, createdAt: '', namespaces: ['ns-77-1-2-gw', 'ns-77-1-2-web'], kept: true }

  test('kept labs come with their enter commands and the removal command', () => {
    const text = renderSweep({ removed: [], kept: [kept], live: [], bad: [], lookalikes: [], failed: [], dryRun: true }, { force: false, kept: false })
    expect(text).toBe(
      [
        "kept lab 'nat > fails' (id 77-1-2), kept for debugging:",
        '    gw   ip netns exec ns-77-1-2-gw bash',
        '    web  ip netns exec ns-77-1-2-web bash',
        '',
        '1 kept lab(s) left alone; remove them with: npx netspec sweep --kept --force',
      ].join('\n'),
    )
  })

  test('dry run vs --force wording: every step listed; a bad marker; nothing to do', () => {
    const removed = [
      {
        labId: '5-1-1',
        label: 'crashed\u001b[2J',
        ownerPid: 5,
        namespaces: ['ns-5-1-1-a'],
        adopted: [],
        processes: [42],
        etc: ['/etc/netns/ns-5-1-1-a/hosts', '/etc/netns/ns-5-1-1-a'],
        marker: '/run/netspec/labs/5-1-1.json',
      },
    ]
    const steps = [
      '    kill process 42',
      '    delete namespace ns-5-1-1-a',
      '    remove /etc/netns/ns-5-1-1-a/hosts',
      '    remove /etc/netns/ns-5-1-1-a',
      '    remove marker /run/netspec/labs/5-1-1.json',
    ].join('\n')
    expect(renderSweep({ removed, kept: [], live: [], bad: [], lookalikes: [], failed: [], dryRun: true }, { force: false, kept: false })).toBe(
      `would remove lab 'crashed?[2J' (id 5-1-1, owner pid 5 gone):\n${steps}\n\ndry run: nothing was removed; add --force to remove the labs above`,
    )
    expect(renderSweep({ removed, kept: [], live: [], bad: [], lookalikes: [], failed: [], dryRun: false }, { force: true, kept: false })).toBe(
      `removed lab 'crashed?[2J' (id 5-1-1, owner pid 5 gone):\n${steps}`,
    )
    expect(renderSweep({ removed: [], kept: [], live: [], bad: [{ file: '9-1-1.json', reason: 'namespaces is not a list' }], lookalikes: [], failed: [], dryRun: false }, { force: true, kept: false })).toBe(
      'bad marker 9-1-1.json in /run/netspec/labs: namespaces is not a list; nothing in it was acted on (look at it, then remove it by hand)',
    )
    expect(renderSweep({ removed: [], kept: [], live: [], bad: [], lookalikes: [], failed: [], dryRun: false }, { force: true, kept: true })).toBe('nothing to sweep')
  })
})

describe('the Node.js version doctor accepts (package.json engines)', () => {
  test('^20.19.0 || >=22.12.0, as Vitest 4 needs', async () => {
    const { nodeSupported, NODE_RANGE } = await import('../../src/cli/doctor.js')
    const { readFileSync } = await import('node:fs')
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }
    expect(pkg.engines.node).toBe(NODE_RANGE)
    for (const v of ['20.19.0', '20.20.2', '22.12.0', '22.21.1', '24.11.0', '25.0.0']) expect(nodeSupported(v), v).toBe(true)
    for (const v of ['18.20.0', '20.5.0', '20.18.9', '21.7.3', '22.11.0']) expect(nodeSupported(v), v).toBe(false)
  })
})
