#!/bin/sh
# The `tsnet` command for users of the managed plugin who have no clone of tsnet: it ships inside
# the plugin's rootfs (/opt/tsnet/bin/tsnet) and is run on the HOST, as root, with the plugin's own
# Node and libraries (through the rootfs's dynamic loader), so it needs nothing installed:
#   sh "$(docker info -f '{{.DockerRootDir}}')/plugins/$(docker plugin inspect -f '{{.Id}}' tsnet:latest)/rootfs/opt/tsnet/bin/tsnet" status
# It reads the status socket the plugin serves on the host (/run/tsnet/status.sock for tsnet:latest;
# --status-socket or TSNET_STATUS_SOCKET for other plugin names).
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd -P)
ld=
for f in "$root"/usr/lib64/ld-linux-x86-64.so.2 "$root"/usr/lib/ld-linux-aarch64.so.1; do
  if [ -f "$f" ]; then ld=$f; break; fi
done
[ -n "$ld" ] || { echo "tsnet: no dynamic loader in $root (is this the tsnet plugin's rootfs?)" >&2; exit 1; }
libs=
for d in "$root"/usr/lib/*-linux-gnu "$root"/usr/lib64 "$root"/usr/lib; do
  [ -d "$d" ] && libs=${libs:+$libs:}$d
done
exec "$ld" --library-path "$libs" "$root/usr/local/bin/node" "$root/opt/tsnet/driver/dist/tsnet.js" "$@"
