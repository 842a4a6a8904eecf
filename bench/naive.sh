#!/bin/bash
# Baseline: the tutorials' way, one `ip` process per operation. Usage: naive.sh T1 | naive.sh T2 N
# Sealed like a lab: every link is created in place inside bench namespaces (never in the root namespace).
# Prints the elapsed microseconds (measured inside the script, so shell start-up is not counted).
set -eu
p="nsbench-n$$"
t0=$(date +%s%N)
case "$1" in
T1)
  ip netns add "$p-a"
  ip netns add "$p-b"
  ip -n "$p-a" link set lo up
  ip -n "$p-b" link set lo up
  ip -n "$p-a" link add veth1 type veth peer name veth2 netns "$p-b"
  ip -n "$p-a" addr add 10.0.12.1/24 dev veth1
  ip -n "$p-b" addr add 10.0.12.2/24 dev veth2
  ip -n "$p-a" link set veth1 up
  ip -n "$p-b" link set veth2 up
  ip netns exec "$p-a" ping -c1 -W2 -q 10.0.12.2 >/dev/null
  ip netns del "$p-a"
  ip netns del "$p-b"
  ;;
T2)
  n=$2
  ip netns add "$p-hub"
  ip -n "$p-hub" link add br0 type bridge
  ip -n "$p-hub" link set br0 up
  for i in $(seq 1 "$n"); do
    ip netns add "$p-h$i"
    ip -n "$p-h$i" link set lo up
    ip -n "$p-hub" link add "p$i" type veth peer name eth0 netns "$p-h$i"
    ip -n "$p-hub" link set "p$i" master br0
    ip -n "$p-hub" link set "p$i" up
    ip -n "$p-h$i" addr add "10.200.$((i / 256)).$((i % 256))/16" dev eth0
    ip -n "$p-h$i" link set eth0 up
  done
  fails=0
  for i in $(seq 2 "$n"); do
    ip netns exec "$p-h1" ping -c1 -W2 -q "10.200.$((i / 256)).$((i % 256))" >/dev/null || fails=$((fails + 1))
  done
  for i in $(seq 1 "$n"); do ip netns del "$p-h$i"; done
  ip netns del "$p-hub"
  [ "$fails" = 0 ] || { echo "naive: $fails pings failed" >&2; exit 1; }
  ;;
esac
t1=$(date +%s%N)
echo $(((t1 - t0) / 1000))
