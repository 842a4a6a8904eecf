// Which Debian/Ubuntu package provides each tool netspec runs.
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  ip: 'iproute2',
  bridge: 'iproute2',
  tc: 'iproute2',
  ss: 'iproute2',
  nft: 'nftables',
  iptables: 'iptables',
  'iptables-save': 'iptables',
  ping: 'iputils-ping',
  tcpdump: 'tcpdump',
  conntrack: 'conntrack',
  sysctl: 'procps',
  docker: 'docker.io',
  // Daemons the example specs and ns.dhcp() run (docs/daemons.md).
  bird: 'bird2',
  birdc: 'bird2',
  dnsmasq: 'dnsmasq',
  dhclient: 'isc-dhcp-client',
}

export function toolHint(tool: string): string {
  const pkg = TOOL_PACKAGES[tool]
  return pkg === undefined
    ? `install '${tool}' and make sure it is on PATH`
    : `install it: apt-get install -y ${pkg} (or run: npx netspec doctor)`
}
