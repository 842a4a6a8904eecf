import { describe, expect, test } from 'vitest'
import { dhclientScript, maskToPrefix, parseLeaseRecord } from '../../src/services/dhcp.js'

describe('DHCP lease record', () => {
  test('the record the script writes becomes the lease', () => {
    const text = 'reason=BOUND\nip_address=10.90.0.123\nsubnet_mask=255.255.255.0\nrouters=10.90.0.1 10.90.0.2\ndomain_name_servers=10.90.0.1 10.90.0.9\ndomain_name=lab\nserver=10.90.0.1\nlease_time=3600\n'
    expect(parseLeaseRecord(text)).toEqual({ address: '10.90.0.123', prefixLength: 24, router: '10.90.0.1', dns: ['10.90.0.1', '10.90.0.9'], domain: 'lab', server: '10.90.0.1', leaseTime: 3600 })
    expect(parseLeaseRecord('reason=BOUND\nip_address=\nsubnet_mask=\n')).toBeUndefined()
    expect(parseLeaseRecord('ip_address=10.0.0.2\nsubnet_mask=255.255.0.0\nrouters=\ndomain_name_servers=\n')).toMatchObject({ prefixLength: 16, router: undefined, dns: [], domain: undefined })
  })

  test('netmasks', () => {
    expect(maskToPrefix('255.255.255.255')).toBe(32)
    expect(maskToPrefix('255.255.254.0')).toBe(23)
    expect(maskToPrefix('0.0.0.0')).toBe(0)
    expect(maskToPrefix('255.0.255.0')).toBeNaN()
  })

  test('the script never names /etc and quotes the record path', () => {
    const s = dhclientScript("/tmp/netspec-lab-1-1-x/ns-1-1-a/dhclient-eth0.lease.env")
    const code = s.split('\n').filter((l) => !l.startsWith('#'))
    expect(code.filter((l) => l.includes('/etc'))).toEqual([])
    expect(code.filter((l) => l.includes('resolv'))).toEqual([])
    expect(s).toContain('> /tmp/netspec-lab-1-1-x/ns-1-1-a/dhclient-eth0.lease.env.new && mv -f')
    expect(dhclientScript("/tmp/it's here/x")).toContain(`'/tmp/it'\\''s here/x'`)
  })
})
