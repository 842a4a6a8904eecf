#!/bin/sh
# Makes sure the kernel tools netspec drives are installed (Debian/Ubuntu package names).
# As root with apt-get, installs what is missing; otherwise prints the exact command and fails.
# NETSPEC_NO_INSTALL=1 only checks.
set -eu

need=""
check() { command -v "$1" >/dev/null 2>&1 || need="$need $2"; }
check ip iproute2
check tc iproute2
check bridge iproute2
check nft nftables
check iptables iptables
check ping iputils-ping
check tcpdump tcpdump
check conntrack conntrack
check ps procps
need=$(echo "$need" | tr ' ' '\n' | sort -u | tr '\n' ' ' | sed 's/^ *//; s/ *$//')

# package.json's engines (what Vitest 4 needs): ^20.19.0 || >=22.12.0
node_ok=$(node -p 'const [a, b] = process.versions.node.split(".").map(Number); (a === 20 && b >= 19) || (a === 22 && b >= 12) || a > 22 ? 1 : 0' 2>/dev/null || echo 0)
if [ "$node_ok" != 1 ]; then
  echo "netspec: Node.js 22 or 24 (or 20.19+) is needed (found: $(node --version 2>/dev/null || echo none))." >&2
  echo "         Install it from https://nodejs.org or your distribution's backports." >&2
  exit 1
fi

if [ -z "$need" ]; then exit 0; fi

if [ "${NETSPEC_NO_INSTALL:-}" = "" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "netspec: installing missing packages: $need"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $need >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends $need >/dev/null; }
  exit 0
fi

echo "netspec: missing tools. Install them with:" >&2
echo "  sudo apt-get install -y $need" >&2
exit 1
