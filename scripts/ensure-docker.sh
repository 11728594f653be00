#!/usr/bin/env bash
# Starts dockerd when it is installed but not answering. Prints nothing on success.
set -euo pipefail
if docker version >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "tsnet: Docker Engine (dockerd) is not installed; install it with: apt-get install -y docker.io" >&2
  exit 1
fi
# The engine on /var/run/docker.sock is the one with /var/run/docker.pid; other dockerds (the
# multi-host tests' engines, each with its own pidfile) must not count. One still shutting down
# (a test restarting dockerd) is waited for, then a new one is started.
main_running() { [ -f /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid 2>/dev/null)" 2>/dev/null; }
for _ in $(seq 1 20); do
  main_running || break
  docker version >/dev/null 2>&1 && exit 0
  sleep 0.5
done
if ! main_running; then
  rm -f /var/run/docker.pid
  # Run under `flock /tmp/tsnet-test.lock`, this script inherits the lock's descriptor: dockerd
  # must not keep it (a daemon holding it would hold the test lock for ever). Close every
  # descriptor above 2 in the daemon's subshell.
  (
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid dockerd --host unix:///var/run/docker.sock >/var/log/dockerd.log 2>&1 < /dev/null
  ) &
fi
for _ in $(seq 1 60); do
  docker version >/dev/null 2>&1 && exit 0
  sleep 0.5
done
echo "tsnet: dockerd did not answer within 30 s; see /var/log/dockerd.log" >&2
tail -20 /var/log/dockerd.log >&2 || true
exit 1
