#!/usr/bin/env bash
# The tsnet driver as a systemd service (host-process mode), supervised and started at boot.
#   bash scripts/service.sh install   # = npm run service:install: build, write the units, enable, start
#   bash scripts/service.sh remove    # = npm run service:remove: stop, disable, delete the units
#   bash scripts/service.sh render DIR  # write tsnet.socket and tsnet.service into DIR only
# tsnet.socket holds the plugin socket (/run/docker/plugins/tsnet.sock) from early boot, so dockerd
# never races the driver (Docker's plugin docs recommend socket activation); tsnet.service runs
# the driver with that socket, restarts it on failure, and logs to the journal
# (journalctl -u tsnet). Kernel objects stay while the service is stopped or restarted.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)
UNIT_DIR=${TSNET_UNIT_DIR:-/etc/systemd/system}
NODE=${TSNET_NODE:-$(command -v node)}

render() {
  local dir=$1
  mkdir -p "$dir"
  cat > "$dir/tsnet.socket" <<UNIT
[Unit]
Description=tsnet Docker network driver: plugin socket
Documentation=file://$REPO/README.md
Before=docker.service

[Socket]
ListenStream=/run/docker/plugins/tsnet.sock
SocketMode=0600
DirectoryMode=0755

[Install]
WantedBy=sockets.target
UNIT
  cat > "$dir/tsnet.service" <<UNIT
[Unit]
Description=tsnet Docker network driver
Documentation=file://$REPO/README.md
Requires=tsnet.socket
After=tsnet.socket network-online.target
Before=docker.service

[Service]
Type=simple
Environment=TSNET_SOCKET=/run/docker/plugins/tsnet.sock TSNET_STATE_DIR=/var/lib/tsnet TSNET_STATUS_SOCKET=/run/tsnet/status.sock
ExecStart=$NODE --max-semi-space-size=1 --optimize-for-size $REPO/driver/dist/main.js
Restart=on-failure
RestartSec=1
# SIGTERM stops the driver only: bridges, veths and rules stay for running containers.
KillMode=mixed
TimeoutStopSec=10

[Install]
WantedBy=multi-user.target
Also=tsnet.socket
UNIT
}

running_under_systemd() { [ -d /run/systemd/system ]; }

install() {
  [ "$(id -u)" -eq 0 ] || { echo "tsnet: run as root (sudo npm run service:install)" >&2; exit 1; }
  bash scripts/ensure-prereqs.sh run
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm install --no-audit --no-fund; fi
  npm run build >/dev/null
  render "$UNIT_DIR"
  echo "tsnet: wrote $UNIT_DIR/tsnet.socket and $UNIT_DIR/tsnet.service"
  if ! running_under_systemd; then
    echo "tsnet: systemd is not running here (PID 1 is $(cat /proc/1/comm)); the units are in place and start at the next boot under systemd" >&2
    return 0
  fi
  # A driver started with npm start holds the socket: stop it first.
  bash scripts/stop-driver.sh --quiet || true
  systemctl daemon-reload
  systemctl enable --now tsnet.socket tsnet.service
  echo "tsnet: enabled and started (systemctl status tsnet; journalctl -u tsnet)"
}

remove() {
  [ "$(id -u)" -eq 0 ] || { echo "tsnet: run as root (sudo npm run service:remove)" >&2; exit 1; }
  if running_under_systemd; then systemctl disable --now tsnet.service tsnet.socket 2>/dev/null || true; fi
  rm -f "$UNIT_DIR/tsnet.service" "$UNIT_DIR/tsnet.socket"
  if running_under_systemd; then systemctl daemon-reload; fi
  echo "tsnet: service removed (state kept in /var/lib/tsnet)"
}

case "${1:-}" in
  install) install ;;
  remove) remove ;;
  render) render "${2:?usage: service.sh render DIR}" ;;
  *) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
