export { capture, capturesOf, type Capture, type CaptureOptions } from './capture.js'
export { parsePcap, decodeEthernet, VXLAN_PORTS, type DecodeOptions, type VxlanInfo, type Packet, type ArpInfo, type IpInfo, type FragmentInfo, type IcmpInfo, type TcpInfo, type UdpInfo } from './pcap.js'
