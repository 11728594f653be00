#!/usr/bin/env bash
# `npm stop`: stops the tsnet driver, whichever way it runs on this host: the systemd service, or
# the background process of `npm start` (/run/tsnet/tsnet.pid). Containers keep their networking.
set -euo pipefail
quiet=${1:-}
say() { [ "$quiet" = --quiet ] || echo "tsnet: $*"; }
if [ -d /run/systemd/system ] && systemctl is-active --quiet tsnet.service 2>/dev/null; then
  systemctl stop tsnet.service
  say "stopped the tsnet service (the socket stays; dockerd's next call starts it again; systemctl stop tsnet.socket to stop that too)"
  exit 0
fi
pidfile=${TSNET_PIDFILE:-/run/tsnet/tsnet.pid}
# Running, not a zombie waiting for its parent to reap it (it has exited).
alive() { kill -0 "$1" 2>/dev/null && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]; }
if [ -f "$pidfile" ] && alive "$(cat "$pidfile")"; then
  pid=$(cat "$pidfile")
  kill "$pid"
  for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then echo "tsnet: driver $pid did not stop within 5 s" >&2; exit 1; fi
  rm -f "$pidfile"
  say "stopped the driver (pid $pid); containers keep their networking; start it again with npm start"
  exit 0
fi
say "the tsnet driver is not running"
