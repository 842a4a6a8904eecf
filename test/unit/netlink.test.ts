// The in-process kernel path without the kernel: message layouts byte by byte, replies decoded from
// hand-built datagrams, which `ip` lines it takes over and which it leaves to `ip`, and ICMP framing.
import { describe, expect, test } from 'vitest'
import * as nl from '../../src/kernel/netlink/codec.js'
import { parseLine } from '../../src/kernel/netlink/engine.js'
import { checksum, echoRequest, icmpFilter } from '../../src/kernel/icmp.js'
import { linkSetLines, routeLine } from '../../src/lab/namespace.js'

describe('addresses', () => {
  test.each([
    ['10.0.12.1', '0a000c01'],
    ['fd00::1', 'fd000000000000000000000000000001'],
    ['fe80::1:2:3:4', 'fe800000000000000001000200030004'],
    ['2001:db8::', '20010db8000000000000000000000000'],
    ['::ffff:10.0.0.1', '00000000000000000000ffff0a000001'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
  ])('%s ↔ %s', (text, hex) => {
    expect(nl.addressBytes(text).toString('hex')).toBe(hex)
  })

  test.each(['10.0.12.1', 'fd00::1', 'fe80::1:2:3:4', '2001:db8::', '::', '1:0:0:2::3', 'fd00:0:0:1::'])('%s survives the round trip as ip prints it', (text) => {
    expect(nl.addressText(nl.addressBytes(text))).toBe(text)
  })

  test('the longest run of zero groups is the one compressed', () => {
    expect(nl.addressText(nl.addressBytes('1:0:0:2:0:0:0:3'))).toBe('1:0:0:2::3')
  })
})

describe('requests', () => {
  test('attributes are padded to 4 bytes and nest', () => {
    const b = nl.encodeAttrs([
      [3, nl.str('eth0')],
      [18, [[1, nl.str('veth')]]],
    ])
    expect(b.readUInt16LE(0)).toBe(4 + 5) // "eth0\0"
    expect(b.readUInt16LE(12)).toBe(4 + 12) // nested: its own header + the inner one, padded
    expect(b.length).toBe(12 + 16)
  })

  test('a veth pair carries its peer, with the peer namespace fd, inside LINKINFO/INFO_DATA/VETH_INFO_PEER', () => {
    const m = nl.newVeth(7, { name: 'p1', up: true, master: 5, mtu: 1400 }, { name: 'eth0', netnsFd: 42, mac: '02:00:00:00:00:01' })
    expect(m.readUInt32LE(0)).toBe(m.length)
    expect(m.readUInt16LE(4)).toBe(nl.RTM_NEWLINK)
    expect(m.readUInt16LE(6)).toBe(nl.NLM_F_REQUEST | nl.NLM_F_ACK | nl.NLM_F_CREATE | nl.NLM_F_EXCL)
    expect(m.readUInt32LE(8)).toBe(7)
    const body = m.subarray(16)
    expect(body.readUInt32LE(8) & nl.IFF_UP).toBe(nl.IFF_UP) // ifi_flags
    const attrs = nl.decodeAttrs(body, 16)
    expect(attrs.get(nl.IFLA.IFNAME)?.toString()).toBe('p1\0')
    expect(attrs.get(nl.IFLA.MASTER)?.readUInt32LE(0)).toBe(5)
    expect(attrs.get(nl.IFLA.MTU)?.readUInt32LE(0)).toBe(1400)
    const info = nl.decodeAttrs(attrs.get(nl.IFLA.LINKINFO)!)
    expect(info.get(1)?.toString()).toBe('veth\0')
    const peer = nl.decodeAttrs(info.get(2)!).get(1)! // VETH_INFO_PEER: ifinfomsg + attributes
    const peerAttrs = nl.decodeAttrs(peer, 16)
    expect(peerAttrs.get(nl.IFLA.IFNAME)?.toString()).toBe('eth0\0')
    expect(peerAttrs.get(nl.IFLA.NET_NS_FD)?.readUInt32LE(0)).toBe(42)
    expect(peerAttrs.get(nl.IFLA.ADDRESS)?.toString('hex')).toBe('020000000001')
  })

  test('an IPv6 address with nodad sets IFA_F_NODAD, and both IFA_LOCAL and IFA_ADDRESS', () => {
    const m = nl.addr(1, true, { family: 6, address: 'fd00::1', prefixLength: 64, index: 3, nodad: true })
    const body = m.subarray(16)
    expect([body[0], body[1], body[2], body.readUInt32LE(4)]).toEqual([10, 64, nl.IFA_F_NODAD, 3])
    const attrs = nl.decodeAttrs(body, 8)
    expect(nl.addressText(attrs.get(1)!)).toBe('fd00::1')
    expect(nl.addressText(attrs.get(2)!)).toBe('fd00::1')
  })

  test('a route without a gateway has link scope; with one, universe; tables above 255 ride in RTA_TABLE', () => {
    const onLink = nl.route(1, true, { family: 4, dst: { address: '10.0.2.0', prefixLength: 24 }, oif: 4, table: 254, onlink: false })
    expect(onLink.subarray(16)[6]).toBe(nl.RT_SCOPE_LINK)
    const viaGw = nl.route(1, true, { family: 4, gateway: '10.0.0.1', table: 1000, onlink: true, metric: 5 })
    const body = viaGw.subarray(16)
    expect([body[1], body[4], body[6], body[7], body.readUInt32LE(8)]).toEqual([0, 255, nl.RT_SCOPE_UNIVERSE, nl.RTN_UNICAST, nl.RTNH_F_ONLINK])
    const attrs = nl.decodeAttrs(body, 12)
    expect(attrs.get(nl.RTA.TABLE)?.readUInt32LE(0)).toBe(1000)
    expect(attrs.get(nl.RTA.PRIORITY)?.readUInt32LE(0)).toBe(5)
    expect(nl.addressText(attrs.get(nl.RTA.GATEWAY)!)).toBe('10.0.0.1')
  })
})

describe('replies', () => {
  // An NLMSG_ERROR as the kernel sends it with extended acks: errno, the echoed request header
  // (NLM_F_CAPPED: payload left out) and an NLMSGERR_ATTR_MSG attribute.
  function errorReply(errno: number, seq: number, text?: string): Buffer {
    const echoed = nl.message(nl.RTM_NEWLINK, 5, seq, Buffer.alloc(0)).subarray(0, 16)
    const body = Buffer.concat([Buffer.from(new Int32Array([-errno]).buffer), echoed, text === undefined ? Buffer.alloc(0) : nl.encodeAttrs([[1, nl.str(text)]])])
    const flags = text === undefined ? 0x100 : 0x100 | 0x200
    return nl.message(nl.NLMSG_ERROR, flags, seq, body)
  }

  test('an acknowledgement is errno 0; an error carries errno and the kernel\'s own message', () => {
    const datagram = Buffer.concat([errorReply(0, 3), errorReply(17, 4, 'Address already assigned'), errorReply(19, 5)])
    const [ack, err, bare] = nl.splitMessages(datagram)
    expect(nl.decodeError(ack!)).toEqual({ errno: 0 })
    expect(err!.seq).toBe(4)
    expect(nl.decodeError(err!)).toEqual({ errno: 17, message: 'Address already assigned' })
    expect(nl.decodeError(bare!)).toEqual({ errno: 19 })
  })

  test('a route decision: type, table, output interface, gateway and preferred source', () => {
    const body = Buffer.concat([
      nl.rtmsg({ family: 4, dstLen: 32, table: 254, scope: 0, type: 1 }),
      nl.encodeAttrs([
        [nl.RTA.DST, nl.addressBytes('10.0.2.5')],
        [nl.RTA.OIF, nl.u32(4)],
        [nl.RTA.GATEWAY, nl.addressBytes('10.0.1.1')],
        [nl.RTA.PREFSRC, nl.addressBytes('10.0.1.7')],
      ]),
    ])
    expect(nl.decodeRoute(body)).toEqual({ family: 4, type: 1, table: 254, oif: 4, gateway: '10.0.1.1', prefsrc: '10.0.1.7', dst: '10.0.2.5' })
    expect(nl.ROUTE_TYPES[7]).toBe('unreachable')
  })

  // As the kernel dumps `ip route add 10.8.0.0/16 nexthop via 10.0.0.2 dev eth0 nexthop via 10.0.0.3 dev eth1 weight 3 onlink`
  // (fib_add_multipath: struct rtnexthop { len, flags, hops = weight - 1, ifindex } then RTA_GATEWAY), and an IPv4
  // route via an IPv6 gateway (RTA_VIA: struct rtvia { family, address }).
  test('a multipath route: each nexthop with its device, gateway, weight and flags; RTA_VIA is a gateway', () => {
    const rtnh = (flags: number, hops: number, ifindex: number, attrs: Buffer) => {
      const head = Buffer.alloc(8)
      head.writeUInt16LE(8 + attrs.length, 0)
      head.writeUInt8(flags, 2)
      head.writeUInt8(hops, 3)
      head.writeInt32LE(ifindex, 4)
      return Buffer.concat([head, attrs])
    }
    const multipath = Buffer.concat([
      rtnh(0, 0, 2, nl.encodeAttrs([[nl.RTA.GATEWAY, nl.addressBytes('10.0.0.2')]])),
      rtnh(nl.RTNH_F_ONLINK, 2, 3, nl.encodeAttrs([[nl.RTA.GATEWAY, nl.addressBytes('10.0.0.3')]])),
    ])
    const body = Buffer.concat([nl.rtmsg({ family: 4, dstLen: 16, table: 254, scope: 0, type: 1 }), nl.encodeAttrs([[nl.RTA.DST, nl.addressBytes('10.8.0.0')], [nl.RTA.MULTIPATH, multipath]])])
    expect(nl.decodeRoute(body)).toEqual({
      family: 4, type: 1, table: 254, oif: undefined, gateway: undefined, prefsrc: undefined, dst: '10.8.0.0',
      nexthops: [{ oif: 2, gateway: '10.0.0.2', weight: 1, flags: 0 }, { oif: 3, gateway: '10.0.0.3', weight: 3, flags: 4 }],
    })
    // A torn rtnexthop (length past the attribute) ends the list; it never throws.
    expect(nl.decodeMultipath(Buffer.concat([multipath, Buffer.from([40, 0, 0, 0])]))).toHaveLength(2)
    expect(nl.decodeMultipath(Buffer.from([3, 0, 0, 0, 0, 0, 0, 0]))).toEqual([])
    const via = Buffer.concat([Buffer.from([10, 0]), nl.addressBytes('fe80::1')]) // AF_INET6 = 10
    const v = Buffer.concat([nl.rtmsg({ family: 4, dstLen: 16, table: 254, scope: 0, type: 1 }), nl.encodeAttrs([[nl.RTA.VIA, via], [nl.RTA.OIF, nl.u32(2)]])])
    expect(nl.decodeRoute(v).gateway).toBe('fe80::1')
  })
})

describe('which ip lines run in-process', () => {
  test.each([
    ['netns add ns-1-2-a', { op: 'netns-add', name: 'ns-1-2-a' }],
    ['link set lo up', { op: 'set', dev: 'lo', up: true }],
    [
      'link add name veth1 address 02:00:00:00:12:01 mtu 1400 type veth peer name veth2 mtu 1400 netns ns-1-2-b',
      { op: 'veth', a: { name: 'veth1', mac: '02:00:00:00:12:01', mtu: 1400 }, b: { name: 'veth2', mtu: 1400, netns: 'ns-1-2-b' } },
    ],
    ['link add p1 up master br0 type veth peer name eth0 netns h1', { op: 'veth', a: { name: 'p1', up: true, master: 'br0' }, b: { name: 'eth0', netns: 'h1' } }],
    ['link add name mtu type veth peer name up', { op: 'veth', a: { name: 'mtu' }, b: { name: 'up' } }],
    ['link add name br0 type bridge stp_state 0', { op: 'bridge', name: 'br0', stp: false }],
    ['link set dev eth0 master br0', { op: 'set', dev: 'eth0', master: 'br0' }],
    ['addr add 10.0.12.1/24 dev veth1', { op: 'addr', add: true, cidr: { address: '10.0.12.1', prefixLength: 24, family: 4 }, dev: 'veth1', nodad: false }],
    ['addr add fd00::1/64 dev veth1 nodad', { op: 'addr', add: true, cidr: { address: 'fd00::1', prefixLength: 64, family: 6 }, dev: 'veth1', nodad: true }],
    ['link show dev eth0', { op: 'show', dev: 'eth0' }],
    ['link del dev eth0', { op: 'del', dev: 'eth0' }],
    ['route add default via 172.16.0.100', { op: 'route', add: true, family: 4, via: '172.16.0.100', table: 254, onlink: false }],
    ['route add ::/0 via fd00::1', { op: 'route', add: true, family: 6, via: 'fd00::1', table: 254, onlink: false }],
  ])('%s', (line, op) => {
    expect(parseLine(line)).toEqual(op)
  })

  test('every route and link line the namespace verbs write is taken', () => {
    const ctx = {}
    for (const [dst, o] of [
      ['default', { via: '172.16.0.100' }],
      ['10.0.2.9', { dev: 'eth0', src: '10.0.2.1' }],
      ['10.9.0.0/16', { via: '172.16.0.100', table: 100, metric: 7 }],
      ['default', { via: '192.0.2.1', dev: 'eth0', onlink: true }],
      ['fd00:99::/64', { via: 'fd00:12::1' }],
    ] as const) {
      expect(parseLine(`route add ${routeLine(dst, o, ctx)}`)).toBeDefined()
      expect(parseLine(`route del ${routeLine(dst, o, ctx)}`)).toBeDefined()
    }
    for (const line of linkSetLines('eth0', { up: true, mtu: 1300, mac: '02:00:00:00:00:09' }, ctx)) expect(parseLine(line), line).toBeDefined()
  })

  test.each([
    "link set dev veth1 alias ns1's end to ns2", // quoting: ip's own tokenizer decides
    'link set dev veth1 alias renamed',
    'route add 10.0.0.0/8 via 10.0.0.1 table custom', // a table name: /etc/iproute2/rt_tables
    'link add name br0 type bridge vlan_filtering 1',
    'link add link eth0 name eth0.10 type vlan id 10',
    'netns exec ns-1 sh -c "echo 1 > /proc/sys/net/ipv4/ip_forward"',
    'netns attach ns-1-2-c 1234',
    'addr add 10.0.0.1 dev eth0', // no prefix length: ip's default, not guessed here
    'route add default via fd00::1 dev eth0 proto static',
    'link set dev eth0',
    'route add 10.0.0.0/24 dev eth0 table constructor', // not a table: only main, local, default by name
    'route add 10.0.0.0/24 dev eth0 metric 4294967296', // over u32: ip refuses it, it must not wrap to 0
    'route add 10.0.0.0/24 dev eth0 table 4294967550',
    'route add 10.0.0.0/24 dev eth0 src fd00::1', // a source of the other family
  ])('left to ip: %s', (line) => {
    expect(parseLine(line)).toBeUndefined()
  })
})

describe('ICMP echo', () => {
  test('the raw sockets let through only echo replies and the errors that quote a probe', () => {
    const v4 = icmpFilter(4).readUInt32LE(0) // a set bit blocks that type
    expect([0, 3, 11, 12].map((t) => (v4 >>> t) & 1)).toEqual([0, 0, 0, 0])
    expect([5, 8, 13].map((t) => (v4 >>> t) & 1)).toEqual([1, 1, 1]) // redirects, other probes' requests, timestamps
    const v6 = icmpFilter(6)
    const blocked = (t: number) => (v6.readUInt32LE((t >>> 5) * 4) >>> (t & 31)) & 1
    expect([1, 2, 3, 4, 129].map(blocked)).toEqual([0, 0, 0, 0, 0])
    expect([128, 133, 134, 135, 136, 143].map(blocked)).toEqual([1, 1, 1, 1, 1, 1]) // requests, NDP, MLD
  })

  test('the RFC 1071 checksum of a request with its checksum filled in is 0', () => {
    const b = echoRequest(4, 0x1234, 0x0001)
    expect(b[0]).toBe(8)
    expect(b.readUInt16BE(4)).toBe(0x1234)
    expect(checksum(b)).toBe(0)
  })

  test('an ICMPv6 request leaves the checksum to the kernel', () => {
    const b = echoRequest(6, 1, 2)
    expect([b[0], b.readUInt16BE(2)]).toEqual([128, 0])
  })
})
