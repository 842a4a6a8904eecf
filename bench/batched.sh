#!/bin/bash
# Baseline: the best batched shell from PERF-NOTES. One `ip -batch` for all namespaces, veths created in
# place from the bridge's namespace already up and enslaved, one `ip -n H -batch` per host run concurrently,
# checks fanned out, one batch of `netns del` at the end. Usage: batched.sh T1 | batched.sh T2 N
# Prints elapsed microseconds.
set -eu
p="nsbench-b$$"
t0=$(date +%s%N)
case "$1" in
T1)
  printf 'netns add %s\nnetns add %s\n' "$p-a" "$p-b" | ip -batch -
  printf 'link set lo up\nlink add veth1 type veth peer name veth2 netns %s\naddr add 10.0.12.1/24 dev veth1\nlink set veth1 up\n' "$p-b" | ip -n "$p-a" -batch -
  printf 'link set lo up\naddr add 10.0.12.2/24 dev veth2\nlink set veth2 up\nlink show dev veth2\n' | ip -n "$p-b" -batch - >/dev/null
  ip -n "$p-a" link show dev veth1 >/dev/null # read back once: the kernel's deferred carrier step (PERF-NOTES)
  ip netns exec "$p-a" ping -c1 -W2 -q 10.0.12.2 >/dev/null
  printf 'netns del %s\nnetns del %s\n' "$p-a" "$p-b" | ip -batch -
  ;;
T2)
  n=$2
  { echo "netns add $p-hub"; for i in $(seq 1 "$n"); do echo "netns add $p-h$i"; done; } | ip -batch -
  { echo "link add br0 type bridge"; echo "link set br0 up"
    for i in $(seq 1 "$n"); do echo "link add p$i up master br0 type veth peer name eth0 netns $p-h$i"; done; } | ip -n "$p-hub" -batch -
  for i in $(seq 1 "$n"); do
    printf 'link set lo up\naddr add 10.200.%d.%d/16 dev eth0\nlink set eth0 up\nlink show dev eth0\n' $((i / 256)) $((i % 256)) |
      ip -n "$p-h$i" -batch - >/dev/null &
  done
  wait
  { for i in $(seq 1 "$n"); do echo "link show dev p$i"; done; } | ip -n "$p-hub" -batch - >/dev/null
  pids=""
  for i in $(seq 2 "$n"); do
    ip netns exec "$p-h1" ping -c1 -W2 -q "10.200.$((i / 256)).$((i % 256))" >/dev/null &
    pids="$pids $!"
  done
  fails=0
  for pid in $pids; do wait "$pid" || fails=$((fails + 1)); done
  { for i in $(seq 1 "$n"); do echo "netns del $p-h$i"; done; echo "netns del $p-hub"; } | ip -batch -
  [ "$fails" = 0 ] || { echo "batched: $fails pings failed" >&2; exit 1; }
  ;;
esac
t1=$(date +%s%N)
echo $(((t1 - t0) / 1000))
