// Doc tests for the blocks that are neither TypeScript nor shell (issue 16): outputs, samples, config files. Each is
// listed here, as data, by its first line: checked here against what netspec really prints, covered by another test
// (which asserts a line of the block verbatim: both the block and that test must contain the quoted text, so
// neither can drift alone), or not checked, with the reason. A new block that is not listed fails.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Lab } from 'netspec'
import { expect, test } from 'netspec/vitest'
import { docBlocks, docFiles, type DocBlock } from '../fixtures/doc-tests.js'
import { ROOT } from '../fixtures/dist.js'

type Entry =
  | { here: string }
  /** `quote` is in the block and in the test; or, with `reads`, the test reads the block from the Markdown itself. */
  | { by: string; quote: string; reads?: true }
  | { notChecked: string }

export const OTHER_BLOCKS: Record<string, Entry> = {
  // README
  '{': { by: 'test/integration/package-install.test.ts', quote: "sectionBlocks('Your own project')", reads: true },
  'expected ns1 to reach 10.0.1.26: no-route': { here: "the failed matcher's message, from a namespace with no route" },
  "ForgottenAwaitError: expect(a).toReach('10.99.0.1') was still running when the test ended: did you forget await? (its check passed, unseen by the test)": {
    by: 'test/integration/forgotten-await.test.ts',
    quote: "expect(a).toReach('10.99.0.1') was still running when the test ended: did you forget await? (its check passed, unseen by the test)",
  },
  'name: network specs': { by: 'test/unit/workflows.test.ts', quote: 'readmeWorkflow()', reads: true },
  "netspec kept the lab of this failed test for debugging (NETSPEC_KEEP): lab 'nat.spec.ts > port forward' (id 14189-8mk2-2)": {
    by: 'test/integration/keep-on-failure.test.ts',
    quote: 'netspec kept the lab of this failed test for debugging',
  },
  // docs/
  'lab example': { here: "lab.diagram()'s text for the lab the block draws" },
  '//   path: 1. h1: out eth0 via 10.0.1.254': { notChecked: "an excerpt of a failure message for a firewall rule shown in the prose; explain()'s path format is checked by test/integration/explain.test.ts" },
  'netspec <command> [options]        netspec help <command>   ·   netspec <command> --help': {
    by: 'test/unit/cli-args.test.ts',
    quote: "no command: help on stderr, exit 2; help: stdout, exit 0",
    reads: true,
  },
  '$ sudo -E env "PATH=$PATH" npx netspec doctor': { notChecked: "a sample of another machine's doctor report; its sections are checked on this machine's by test/integration/doc-shell.test.ts" },
  "would remove lab 'crashed run' (id 4711-k3x9q-2, owner pid 4711 gone):": { by: 'test/integration/cli-commands.test.ts', quote: "would remove lab 'crashed run'" },
  '$ sudo -E env "PATH=$PATH" npx netspec graph --match ns-4711-3': { notChecked: "a sample with another run's kernel names; test/integration/cli-commands.test.ts checks graph's drawing of a lab" },
  'dhclient in client did not become ready: process exited with code 2 before printing /bound to/': {
    by: 'test/integration/daemons.test.ts',
    quote: 'dhclient in client did not become ready: process exited with code 2 before printing /bound to/',
  },
  'expected a route: r1 has no route to 10.2.0.0/24 at all; its routes: 10.0.12.0/24 dev eth0 proto kernel scope link src 10.0.12.1': {
    by: 'test/integration/daemons-failure.test.ts',
    quote: 'expected a route: r1 has no route to 10.2.0.0/24 at all',
  },
  'no DHCP lease for eth0 in client: process exited with code 2 before its ready check passed': { by: 'test/integration/dhcp.test.ts', quote: 'no DHCP lease for eth0 in client: ' },
  'setpriv --pdeathsig KILL -- unshare --mount --propagation private -- sh -c WRAPPER netspec-drops <owner pid> <program>': {
    notChecked: 'the shape of a command line, with placeholders',
  },
  '  overlays': { here: "lab.diagram()'s overlay lines, for a matching pair and for a VNI with no far end" },
  '1. hv1: out vx42 (directly connected), through vx42: vxlan VNI 42 to 10.0.0.2 udp 4789 over eth0': {
    by: 'test/integration/vxlan.test.ts',
    quote: 'out vx42 (directly connected), through vx42: vxlan VNI 42 to 10.0.0.2 udp 4789 over eth0',
  },
  'ARP left hv1 vx42 (VNI 42) for 192.168.50.2; hv2 has no VNI 42 (it has 43)': {
    by: 'test/integration/vxlan.test.ts',
    quote: 'ARP left vm1 eth0 through hv1 vx42 (VNI 42) for 192.168.50.2; hv2 has no VNI 42 (it has 43)',
  },
  '// eslint.config.mjs': { notChecked: 'an ESLint config for your project: ESLint is not a dependency of netspec' },
}

const blocks: DocBlock[] = docFiles().flatMap((f) => docBlocks(f).filter((b) => !['ts', 'sh', 'bash'].includes(b.lang)))
const block = (first: string): DocBlock => {
  const found = blocks.filter((b) => b.lines[0] === first)
  expect(found.length, first).toBeGreaterThan(0)
  return found[0]!
}

test('every block that is neither TypeScript nor shell is listed: checked here, covered by a test that quotes it, or not checked with the reason', () => {
  expect(blocks.filter((b) => !(b.lines[0]! in OTHER_BLOCKS)).map((b) => `${b.file}:${b.line}: ${b.lines[0]}`)).toEqual([])
  expect(Object.keys(OTHER_BLOCKS).filter((k) => !blocks.some((b) => b.lines[0] === k))).toEqual([])
  for (const [first, e] of Object.entries(OTHER_BLOCKS)) {
    if (!('by' in e)) continue
    for (const b of blocks.filter((b) => b.lines[0] === first)) {
      const where = `${b.file}:${b.line} → ${e.by}`
      if (e.reads !== true) expect(b.lines.join('\n'), where).toContain(e.quote)
      expect(readFileSync(join(ROOT, e.by), 'utf8'), where).toContain(e.quote)
    }
  }
})

test("README's failed matcher: the message starts with the block's two lines", async ({ lab }) => {
  const b = block('expected ns1 to reach 10.0.1.26: no-route')
  const ns1 = await lab.namespace('ns1')
  const err = await expect(ns1).toReach('10.0.1.26').then(() => undefined, (e: Error) => e)
  expect(err?.message.split('\n').slice(0, b.lines.length)).toEqual(b.lines)
})

test("docs/advanced.md's diagram text is what lab.diagram() draws for that lab (kernel names aside)", async () => {
  const b = block('lab example')
  await using lab = await Lab.create({ label: 'example' })
  const sw = await lab.namespace('sw')
  const h1 = await lab.namespace('h1')
  const br0 = await lab.bridge(sw, 'br0', { addresses: ['10.0.0.254/24'] })
  await br0.plug([h1, 'eth0', '10.0.0.1/24'], { port: 'p1' })
  const text = (await lab.diagram()).text.replace(/ns-\d+-[a-z0-9]+-\d+-/g, 'ns-4711-k3x9q-1-')
  expect(text.trimEnd().split('\n')).toEqual(b.lines)
})

test("docs/overlays.md's overlay lines: a matching pair, and a VNI whose far end has another", async ({ lab }) => {
  const b = block('  overlays')
  const [hv1, hv2] = [await lab.namespace('hv1'), await lab.namespace('hv2')]
  await lab.veth([hv1, 'eth0', '10.0.0.1/24'], [hv2, 'eth0', '10.0.0.2/24'])
  await lab.vxlan(hv1, 'vx42', { id: 42, remote: '10.0.0.2', local: '10.0.0.1', dstport: 4789, dev: 'eth0' })
  await lab.vxlan(hv2, 'vx42', { id: 42, remote: '10.0.0.1', local: '10.0.0.2', dstport: 4789, dev: 'eth0' })
  const pair = (await lab.diagram()).text.split('\n')
  expect(pair).toContain(b.lines[0])
  expect(pair).toContain(b.lines[1])
  // The second line: hv2's end carries VNI 43 instead.
  await hv2.linkDel('vx42')
  await lab.vxlan(hv2, 'vx43', { id: 43, remote: '10.0.0.1', local: '10.0.0.2', dstport: 4789, dev: 'eth0' })
  expect((await lab.diagram()).text.split('\n')).toContain(b.lines[2])
})
