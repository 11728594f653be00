#!/usr/bin/env bash
# Several Docker hosts on this one machine, for tsnet's multi-host tests (issue 16).
#   scripts/multihost.sh up N              N hosts mh-1..mh-N, each a network + mount namespace with its own
#                                          dockerd and tsnet driver, on the underlay bridge mh-ul, and etcd
#   scripts/multihost.sh down              removes everything `up` made (also after a crash)
#   scripts/multihost.sh env               prints what tests need (hosts, sockets, etcd URL)
#   scripts/multihost.sh stop-host I       kills host I's dockerd and driver and sets its underlay link down
#   scripts/multihost.sh start-host I      brings host I back (same namespace, data and state)
#   scripts/multihost.sh restart-driver I  restarts only host I's tsnet driver
#   scripts/multihost.sh stop-driver I     stops only host I's tsnet driver (host process), e.g. for the plugin
#   scripts/multihost.sh plugin-dir        builds the managed plugin (config.json + rootfs) with this machine's
#                                          dockerd, no registry (scripts/plugin.sh build); prints its directory
#   scripts/multihost.sh plugin-clean      removes every managed plugin of the hosts, their state and status
#                                          directories, and what plugin-dir made
#   scripts/multihost.sh stop-etcd / start-etcd
# Host I: namespace mh-I, underlay address 172.30.250.(10+I)/24, root dir $MH_ROOT/mh-I with docker.sock,
# status.sock, driver.log, dockerd.log. Needs root, docker.io, etcd-server, busybox-static.
# A managed plugin on host I keeps its state in /var/lib/tsnet-mh-I and its status socket in /run/tsnet-mh-I.
set -euo pipefail
MH_ROOT=${MH_ROOT:-/tmp/tsnet-mh}
UL=mh-ul
UL_NET=172.30.250
ETCD_URL="http://$UL_NET.1:2379"
REPO=$(cd "$(dirname "$0")/.." && pwd)
IMAGE=tsnet-test-busybox:latest
NODE=$(command -v node)

die() { echo "multihost: $*" >&2; exit 1; }

# The daemons started here must not inherit the descriptor of a lock the caller holds
# (flock /tmp/tsnet-test.lock ...): they would hold it for as long as they run.
for fd in /proc/$$/fd/*; do
  n=${fd##*/}
  if [ "$n" -gt 2 ] 2>/dev/null && [ "$(readlink "$fd" 2>/dev/null)" = /tmp/tsnet-test.lock ]; then eval "exec $n>&-"; fi
done
host_ip() { echo "$UL_NET.$((10 + $1))"; }

ensure_packages() {
  bash "$REPO/scripts/ensure-prereqs.sh" test
}

forward_chain() { if iptables -S DOCKER-USER >/dev/null 2>&1; then echo DOCKER-USER; else echo FORWARD; fi; }

start_etcd() {
  mkdir -p "$MH_ROOT/etcd"
  setsid etcd --name tsnet-mh --data-dir "$MH_ROOT/etcd/data" \
    --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
    --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
    --initial-cluster tsnet-mh=http://127.0.0.1:23800 >"$MH_ROOT/etcd/etcd.log" 2>&1 &
  echo $! >"$MH_ROOT/etcd/pid"
  for _ in $(seq 1 50); do
    ETCDCTL_API=3 etcdctl --endpoints "$ETCD_URL" endpoint health >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  die "etcd did not become healthy; see $MH_ROOT/etcd/etcd.log"
}

stop_etcd() {
  kill_pidfile "$MH_ROOT/etcd/pid"
}

# Runs inside the host's own network + mount namespace: private /sys and /run/docker/plugins,
# then the tsnet driver and dockerd. Stays alive as long as they do.
inner() {
  local i=$1 r="$MH_ROOT/mh-$1"
  mkdir -p "$r/cg" "$r/plugins" "$r/state" "$r/data" "$r/exec"
  mount --rbind /sys/fs/cgroup "$r/cg"
  mount -t sysfs sysfs /sys
  mount --rbind "$r/cg" /sys/fs/cgroup
  mkdir -p /run/docker/plugins
  mount --bind "$r/plugins" /run/docker/plugins
  start_driver_inner "$i"
  rm -f "$r/docker.pid"
  dockerd --data-root "$r/data" --exec-root "$r/exec" --pidfile "$r/docker.pid" -H "unix://$r/docker.sock" \
    --containerd-namespace "mh-$i" --containerd-plugins-namespace "mh-$i-p" >"$r/dockerd.log" 2>&1 &
  echo $! >"$r/dockerd.pid"
  wait
}

start_driver_inner() {
  local i=$1 r="$MH_ROOT/mh-$1"
  DOCKER_HOST="unix://$r/docker.sock" TSNET_ETCD=$ETCD_URL TSNET_HOST_ADDRESS=$(host_ip "$i") TSNET_LOG_LEVEL=${TSNET_LOG_LEVEL:-info} \
    "$NODE" --max-semi-space-size=1 --optimize-for-size "$REPO/driver/dist/main.js" --socket /run/docker/plugins/tsnet.sock --state-dir "$r/state" \
    --status-socket "$r/status.sock" >>"$r/driver.log" 2>&1 &
  echo $! >"$r/driver.pid"
}

wait_docker() {
  local r="$MH_ROOT/mh-$1"
  for _ in $(seq 1 150); do
    docker -H "unix://$r/docker.sock" version >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  die "dockerd of mh-$1 did not answer; see $r/dockerd.log"
}

wait_driver() {
  local r="$MH_ROOT/mh-$1"
  for _ in $(seq 1 100); do
    [ -S "$r/plugins/tsnet.sock" ] && [ -S "$r/status.sock" ] && return 0
    sleep 0.1
  done
  die "tsnet driver of mh-$1 did not start; see $r/driver.log"
}

launch_host() {
  local i=$1 r="$MH_ROOT/mh-$1"
  mkdir -p "$r"
  setsid nsenter --net="/run/netns/mh-$i" unshare -m --propagation private \
    env MH_ROOT="$MH_ROOT" bash "$0" __inner "$i" >"$r/inner.log" 2>&1 &
  echo $! >"$r/inner.pid"
}

make_image() {
  local i=$1 r="$MH_ROOT/mh-$1" dir="$MH_ROOT/image"
  docker -H "unix://$r/docker.sock" image inspect "$IMAGE" >/dev/null 2>&1 && return 0
  if [ ! -f "$MH_ROOT/image.tar" ]; then
    mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/www" "$dir/proc" "$dir/sys" "$dir/dev"
    cp /bin/busybox "$dir/bin/busybox"
    chroot "$dir" /bin/busybox --install -s /bin
    echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
    echo 'root:x:0:' >"$dir/etc/group"
    echo 'tsnet test page' >"$dir/www/index.html"
    tar -C "$dir" -cf "$MH_ROOT/image.tar" .
  fi
  docker -H "unix://$r/docker.sock" import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' "$MH_ROOT/image.tar" "$IMAGE" >/dev/null
}

up() {
  local n=${1:-3}
  [ "$(id -u)" = 0 ] || die "needs root"
  [ -x "$REPO/driver/dist/main.js" ] || [ -f "$REPO/driver/dist/main.js" ] || die "build first (npm run build)"
  [ -e "$MH_ROOT/hosts" ] && die "already up ($MH_ROOT/hosts exists); run down first"
  ensure_packages
  mkdir -p "$MH_ROOT"
  echo "$n" >"$MH_ROOT/hosts"
  # A MAC of its own: a bridge without one takes the lowest MAC of its ports, so a port added
  # later (the crafted-VXLAN test's rogue host) changed the MAC behind etcd's address; every
  # host's ARP entry for it went stale, etcd calls timed out and host 1's lease expired (CI).
  ip link add "$UL" address 02:00:00:74:75:01 type bridge
  ip addr add "$UL_NET.1/24" dev "$UL"
  ip link set "$UL" up
  # Nothing from the simulated hosts may leave through this machine's own links (eth0).
  iptables -I "$(forward_chain)" -i "$UL" ! -o "$UL" -j DROP -m comment --comment tsnet-multihost
  iptables -I "$(forward_chain)" -i "$UL" -o "$UL" -j ACCEPT -m comment --comment tsnet-multihost
  forward_chain >"$MH_ROOT/forward-chain"
  start_etcd
  for i in $(seq 1 "$n"); do
    ip netns add "mh-$i"
    ip link add "mh-$i-u" type veth peer name eth0 netns "mh-$i"
    ip link set "mh-$i-u" master "$UL" up
    ip -n "mh-$i" addr add "$(host_ip "$i")/24" dev eth0
    ip -n "mh-$i" link set lo up
    ip -n "mh-$i" link set eth0 up
    ip -n "mh-$i" route add default via "$UL_NET.1"
    launch_host "$i"
  done
  for i in $(seq 1 "$n"); do wait_docker "$i"; wait_driver "$i"; make_image "$i"; done
  env_out
}

env_out() {
  local n; n=$(cat "$MH_ROOT/hosts")
  echo "MH_ETCD=$ETCD_URL"
  echo "MH_HOSTS=$n"
  for i in $(seq 1 "$n"); do
    echo "MH_HOST_$i=$(host_ip "$i") unix://$MH_ROOT/mh-$i/docker.sock $MH_ROOT/mh-$i/status.sock /run/netns/mh-$i"
  done
}

kill_pidfile() {
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$f"
}

stop_host() {
  local i=$1 r="$MH_ROOT/mh-$1"
  ip link set "mh-$i-u" down 2>/dev/null || true
  kill_pidfile "$r/driver.pid"
  kill_pidfile "$r/docker.pid"
  kill_pidfile "$r/inner.pid"
  # containerd, shims and containers of that engine
  for pid in $(ip netns pids "mh-$i" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  rm -f "$r/dockerd.pid" "$r/plugins/tsnet.sock" "$r/status.sock"
  umount_all "$r"
}

umount_all() {
  # Mounts made in the private mount namespace die with it; these guard against a shared propagation.
  local r=$1
  { grep -o " $r/[^ ]*" /proc/self/mounts 2>/dev/null || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

start_host() {
  local i=$1
  ip link set "mh-$i-u" up
  launch_host "$i"
  wait_docker "$i"; wait_driver "$i"
}

restart_driver() {
  local i=$1 r="$MH_ROOT/mh-$1"
  kill_pidfile "$r/driver.pid"
  rm -f "$r/plugins/tsnet.sock"
  # inner.pid is the bash of __inner (setsid, nsenter and unshare exec): its mount namespace has this
  # engine's /run/docker/plugins
  nsenter -t "$(cat "$r/inner.pid")" -n -m env MH_ROOT="$MH_ROOT" bash "$0" __driver "$i"
  wait_driver "$i"
}

# The managed plugin is built once, with this machine's dockerd, under its own name so it never
# touches a plugin or image of the machine's own tsnet.
PLUGIN_BUILD_NAME=tsnet-mh
plugin_dir() {
  TSNET_PLUGIN_NAME=$PLUGIN_BUILD_NAME TSNET_PLUGIN_TAG=latest bash "$REPO/scripts/plugin.sh" build >&2
  echo "${TSNET_PLUGIN_WORKDIR:-/var/tmp/tsnet-plugin}/$PLUGIN_BUILD_NAME-latest"
}

plugin_clean() {
  local n=0 i r p
  [ -f "$MH_ROOT/hosts" ] && n=$(cat "$MH_ROOT/hosts")
  for i in $(seq 1 "$n"); do
    r="$MH_ROOT/mh-$i"
    [ -S "$r/docker.sock" ] || continue
    for p in $(docker -H "unix://$r/docker.sock" plugin ls -q 2>/dev/null || true); do
      timeout 60 docker -H "unix://$r/docker.sock" plugin disable -f "$p" >/dev/null 2>&1 || true
      timeout 60 docker -H "unix://$r/docker.sock" plugin rm -f "$p" >/dev/null 2>&1 || true
    done
  done
  for d in /var/lib/tsnet-mh-* /run/tsnet-mh-*; do
    [ -e "$d" ] || continue
    umount -l "$d" 2>/dev/null || true
    rm -rf "$d"
  done
  if [ -d "${TSNET_PLUGIN_WORKDIR:-/var/tmp/tsnet-plugin}/$PLUGIN_BUILD_NAME-latest" ] || docker image inspect "$PLUGIN_BUILD_NAME-plugin-rootfs:latest" >/dev/null 2>&1; then
    docker image rm "$PLUGIN_BUILD_NAME-plugin-rootfs:latest" >/dev/null 2>&1 || true
    rm -rf "${TSNET_PLUGIN_WORKDIR:-/var/tmp/tsnet-plugin}/$PLUGIN_BUILD_NAME-latest"
  fi
}

stop_driver() {
  local r="$MH_ROOT/mh-$1"
  kill_pidfile "$r/driver.pid"
  rm -f "$r/plugins/tsnet.sock" "$r/status.sock"
}

down() {
  plugin_clean
  local n=0
  [ -f "$MH_ROOT/hosts" ] && n=$(cat "$MH_ROOT/hosts")
  for i in $(seq 1 "$n"); do
    local r="$MH_ROOT/mh-$i"
    if [ -S "$r/docker.sock" ]; then
      local ids; ids=$(docker -H "unix://$r/docker.sock" ps -aq 2>/dev/null || true)
      [ -n "$ids" ] && timeout 60 docker -H "unix://$r/docker.sock" rm -f $ids >/dev/null 2>&1 || true
      docker -H "unix://$r/docker.sock" swarm leave -f >/dev/null 2>&1 || true
    fi
    stop_host "$i"
  done
  # namespaces named mh-N even when the hosts file is gone
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^mh-[0-9a-z]+$' || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  stop_etcd
  for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E '^mh-' || true); do
    ip link del "$l" 2>/dev/null || true
  done
  for c in DOCKER-USER FORWARD; do
    while iptables -D "$c" -i "$UL" -o "$UL" -j ACCEPT -m comment --comment tsnet-multihost 2>/dev/null; do :; done
    while iptables -D "$c" -i "$UL" ! -o "$UL" -j DROP -m comment --comment tsnet-multihost 2>/dev/null; do :; done
  done
  save_logs
  [ -d "$MH_ROOT" ] && umount_all "$MH_ROOT"
  rm -rf "$MH_ROOT"
}

# The logs of the last run (etcd, each engine and driver) outlive the harness in the test
# artifacts, so a failure on CI can be read afterwards.
save_logs() {
  [ -n "${TSNET_REPO:-}" ] && [ -d "$MH_ROOT" ] || return 0
  local out="$TSNET_REPO/test-artifacts/multihost"
  rm -rf "$out"; mkdir -p "$out"
  cp "$MH_ROOT/etcd/etcd.log" "$out/" 2>/dev/null || true
  for d in "$MH_ROOT"/mh-*; do
    [ -d "$d" ] || continue
    for f in driver.log dockerd.log; do cp "$d/$f" "$out/$(basename "$d")-$f" 2>/dev/null || true; done
  done
}

case "${1:-}" in
  up) up "${2:-3}" ;;
  down) down ;;
  env) env_out ;;
  stop-host) stop_host "$2" ;;
  start-host) start_host "$2" ;;
  restart-driver) restart_driver "$2" ;;
  stop-driver) stop_driver "$2" ;;
  plugin-dir) plugin_dir ;;
  plugin-clean) plugin_clean ;;
  stop-etcd) stop_etcd ;;
  start-etcd) start_etcd ;;
  __inner) inner "$2" ;;
  __driver) start_driver_inner "$2" ;;
  *) sed -n '2,18p' "$0"; exit 2 ;;
esac
