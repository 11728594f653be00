#!/usr/bin/env bash
# The main job: install npm dependencies, build, and start the tsnet driver in the background,
# registered with the local Docker Engine as the network driver "tsnet"
# (socket /run/docker/plugins/tsnet.sock). Log: /var/log/tsnet.log (appended). Stop: npm stop
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then echo "tsnet: run as root (bridges, veths and firewall rules need CAP_NET_ADMIN)" >&2; exit 1; fi
bash scripts/ensure-prereqs.sh run
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm install --no-audit --no-fund; fi
npm run build
bash scripts/ensure-docker.sh
# TSNET_LOG_FILE / TSNET_PIDFILE move the log and the pid file (tests run a second driver so).
LOG=${TSNET_LOG_FILE:-/var/log/tsnet.log}
PIDFILE=${TSNET_PIDFILE:-/run/tsnet/tsnet.pid}
mkdir -p /run/tsnet "$(dirname "$PIDFILE")"
if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  echo "tsnet: restarting the running driver (pid $(cat $PIDFILE))"
  kill "$(cat "$PIDFILE")"; sleep 0.5
fi
if [ -d /run/systemd/system ] && systemctl is-active --quiet tsnet.service 2>/dev/null; then
  echo "tsnet: the tsnet service runs the driver already (systemctl status tsnet); npm start would compete for its socket" >&2; exit 1
fi
# The log is appended to; only what this start writes counts for readiness.
touch "$LOG"
from=$(( $(stat -c %s "$LOG") + 1 ))
this_start() { tail -c +"$from" "$LOG"; }
# The driver outlives this script: it inherits none of our other open files (a test's lock).
(
  for fd in $(ls "/proc/$BASHPID/fd"); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
  exec setsid node --max-semi-space-size=1 --optimize-for-size driver/dist/main.js "$@" >>"$LOG" 2>&1 < /dev/null
) &
echo $! > "$PIDFILE"
for _ in $(seq 1 100); do
  this_start | grep -q 'tsnet driver ready' && break
  kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { echo "tsnet: the driver stopped; see $LOG:" >&2; this_start | tail -20 >&2; exit 1; }
  sleep 0.1
done
this_start | grep -q 'tsnet driver ready' || { echo "tsnet: the driver did not become ready; see $LOG" >&2; exit 1; }
cat <<MSG
tsnet is running (pid $(cat "$PIDFILE"), log $LOG, state ${TSNET_STATE_DIR:-/var/lib/tsnet}).
Try it:
  docker network create -d tsnet --subnet 10.30.0.0/24 demo
  docker run -d --name web --network demo -p 8080:80 IMAGE
  npx tsnet status            # what tsnet programmed: bridges, veths, addresses, port maps
Stop it with: npm stop   (containers keep their networking; start again with npm start)
Run it supervised, at boot: npm run service:install
MSG
