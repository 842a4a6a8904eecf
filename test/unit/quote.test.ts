import { expect, test } from 'vitest'
import { displayCommand, shellQuote } from '../../src/exec/quote.js'
import { hintFor } from '../../src/exec/index.js'
import { toolHint } from '../../src/exec/tools.js'

test('shellQuote leaves plain words alone and quotes the rest so a shell reads them back', () => {
  expect(shellQuote(['ip', '-n', 'ns-1-1-a', 'addr', 'add', '10.0.0.1/24', 'dev', 'veth1'])).toBe('ip -n ns-1-1-a addr add 10.0.0.1/24 dev veth1')
  expect(shellQuote(['sh', '-c', 'echo hi > /tmp/x'])).toBe(`sh -c 'echo hi > /tmp/x'`)
  expect(shellQuote(["it's"])).toBe(`'it'\\''s'`)
  expect(shellQuote(['', 'a b', '$HOME', 'fe80::1%eth0'])).toBe(`'' 'a b' '$HOME' fe80::1%eth0`)
})

test('displayCommand prefixes ip netns exec with the kernel name', () => {
  expect(displayCommand(['ping', '-c1', '10.0.0.2'], 'ns-4711-1-ns1')).toBe('ip netns exec ns-4711-1-ns1 ping -c1 10.0.0.2')
  expect(displayCommand(['ip', 'netns', 'list'])).toBe('ip netns list')
})

test("hintFor explains the kernel's usual complaints", () => {
  expect(hintFor('RTNETLINK answers: Operation not permitted')).toMatch(/needs root/)
  expect(hintFor('RTNETLINK answers: File exists')).toMatch(/already exists/)
  expect(hintFor('Cannot find device "veth9"')).toMatch(/does not exist in that namespace/)
  expect(hintFor('Error: Nexthop has invalid gateway.')).toMatch(/gateway is not on a directly connected subnet/)
  expect(hintFor('RTNETLINK answers: Network is unreachable')).toMatch(/gateway/)
  expect(hintFor('Error: Unknown device type.')).toMatch(/kernel lacks the feature/)
  expect(hintFor('sh: 1: cannot create /proc/sys/net/ipv4/no_such: Directory nonexistent')).toMatch(/this sysctl does not exist/)
  expect(hintFor('Error: ipv4: Address already assigned.')).toMatch(/has this address already/)
  expect(hintFor('cat: /proc/sys/net/ipv4/conf/eth9/forwarding: No such file or directory')).toMatch(/this sysctl does not exist/)
  expect(hintFor('something else')).toBeUndefined()
})

test('toolHint names the Debian package', () => {
  expect(toolHint('ip')).toBe('install it: apt-get install -y iproute2 (or run: npx netspec doctor)')
  expect(toolHint('ping')).toContain('iputils-ping')
  expect(toolHint('frobnicate')).toBe("install 'frobnicate' and make sure it is on PATH")
})
