#!/bin/sh
# `netspec engine` (src/container/engine-command.ts) runs this script, shipped in the package.
# Starts (or stops) a Docker daemon for netspec's container mode, touching the machine as little as possible:
# --bridge=none --iptables=false --ip-forward=false leaves the root namespace alone (no docker0, no iptables
# chains, ip_forward unchanged); runner containers use --network none, so nothing more is needed.
#   sh scripts/dockerd.sh start   starts dockerd only if `docker info` fails; waits until it answers
#   sh scripts/dockerd.sh stop    stops only a dockerd this script started (by the PID in its pidfile)
#   sh scripts/dockerd.sh status  prints whether an engine answers and whether this script started it
# Exit codes: 0 ok, 1 failed, 2 usage, 127 dockerd/docker not installed (apt-get install -y docker.io).
set -eu

STATE_DIR=${NETSPEC_STATE_DIR:-/run/netspec}
PIDFILE=$STATE_DIR/dockerd.pid
LOG=${NETSPEC_DOCKERD_LOG:-$STATE_DIR/dockerd.log}
WAIT_S=${NETSPEC_DOCKERD_WAIT_S:-30}

answers() { docker info >/dev/null 2>&1; }

# The PID in our pidfile is alive (and not a zombie).
alive() { [ -f "$PIDFILE" ] && pid=$(cat "$PIDFILE") && [ -n "$pid" ] && [ -d "/proc/$pid" ] &&
  ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; }
# ... and it is a dockerd (right after the start it may still be setsid, before its exec).
ours() { alive && grep -q dockerd "/proc/$pid/comm" 2>/dev/null; }

start() {
  command -v docker >/dev/null 2>&1 && command -v dockerd >/dev/null 2>&1 || {
    echo "netspec engine: docker is not installed; install it: apt-get install -y docker.io" >&2
    exit 127
  }
  if answers; then
    echo "netspec engine: a Docker engine already answers; not starting another"
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then echo "netspec engine: starting dockerd needs root" >&2; exit 1; fi
  mkdir -p "$STATE_DIR"
  # setsid: the daemon outlives this shell and is not hit by the caller's terminal signals.
  setsid dockerd --bridge=none --iptables=false --ip-forward=false --ip-masq=false >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  i=0
  while ! answers; do
    i=$((i + 1))
    if ! alive; then
      echo "netspec engine: dockerd exited; last lines of $LOG:" >&2
      tail -n 20 "$LOG" >&2
      rm -f "$PIDFILE"
      exit 1
    fi
    if [ "$i" -ge $((WAIT_S * 10)) ]; then
      echo "netspec engine: dockerd did not answer within ${WAIT_S}s; see $LOG (left running: netspec engine stop)" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "netspec engine: started dockerd (pid $(cat "$PIDFILE"), log $LOG)"
}

stop() {
  if ! ours; then
    rm -f "$PIDFILE"
    echo "netspec engine: no dockerd started by this script is running; nothing to stop"
    return 0
  fi
  pid=$(cat "$PIDFILE")
  kill -TERM "$pid"
  i=0
  while [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -ge 150 ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    if [ "$i" -ge 200 ]; then echo "netspec engine: dockerd (pid $pid) would not stop" >&2; exit 1; fi
    sleep 0.1
  done
  rm -f "$PIDFILE"
  echo "netspec engine: stopped dockerd (pid $pid)"
}

status() {
  if answers; then echo "engine: answers"; else echo "engine: not answering"; fi
  if ours; then echo "started by netspec engine: pid $(cat "$PIDFILE")"; else echo "started by netspec engine: no"; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: netspec engine start|stop|status" >&2; exit 2 ;;
esac
