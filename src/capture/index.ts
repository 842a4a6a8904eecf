export { capture, capturesOf, type Capture, type CaptureOptions } from './capture.js'
export { parsePcap, decodeEthernet, type Packet, type ArpInfo, type IpInfo, type IcmpInfo, type TcpInfo, type UdpInfo } from './pcap.js'
