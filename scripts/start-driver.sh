#!/usr/bin/env bash
# The main job: install npm dependencies, build, and start the tsnet driver in the background,
# registered with the local Docker Engine as the network driver "tsnet"
# (socket /run/docker/plugins/tsnet.sock). Log: /var/log/tsnet.log. Stop: kill $(cat /run/tsnet/tsnet.pid)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then echo "tsnet: run as root (bridges, veths and firewall rules need CAP_NET_ADMIN)" >&2; exit 1; fi
bash scripts/ensure-prereqs.sh run
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm install --no-audit --no-fund; fi
npm run build
bash scripts/ensure-docker.sh
mkdir -p /run/tsnet
if [ -f /run/tsnet/tsnet.pid ] && kill -0 "$(cat /run/tsnet/tsnet.pid)" 2>/dev/null; then
  echo "tsnet: restarting the running driver (pid $(cat /run/tsnet/tsnet.pid))"
  kill "$(cat /run/tsnet/tsnet.pid)"; sleep 0.5
fi
: > /var/log/tsnet.log
setsid node driver/dist/main.js "$@" >>/var/log/tsnet.log 2>&1 < /dev/null &
echo $! > /run/tsnet/tsnet.pid
for _ in $(seq 1 100); do
  grep -q 'tsnet driver ready' /var/log/tsnet.log && break
  kill -0 "$(cat /run/tsnet/tsnet.pid)" 2>/dev/null || { echo "tsnet: the driver stopped; see /var/log/tsnet.log:" >&2; tail -20 /var/log/tsnet.log >&2; exit 1; }
  sleep 0.1
done
grep -q 'tsnet driver ready' /var/log/tsnet.log || { echo "tsnet: the driver did not become ready; see /var/log/tsnet.log" >&2; exit 1; }
cat <<MSG
tsnet is running (pid $(cat /run/tsnet/tsnet.pid), log /var/log/tsnet.log, state /var/lib/tsnet).
Try it:
  docker network create -d tsnet --subnet 10.30.0.0/24 demo
  docker run -d --name web --network demo -p 8080:80 IMAGE
  npx tsnet status            # what tsnet programmed: bridges, veths, addresses, port maps
Stop it with: kill \$(cat /run/tsnet/tsnet.pid)   (containers keep their networking; restart with npm start)
MSG
