#!/usr/bin/env bash
# Attribution of the cross-host RTT / throughput gap between a tsnet multi-host network and
# Docker's overlay (issue 16; results in docs/multi-host.md, "Performance"). Run as root, under the
# test lock, on a machine with no harness up (it brings up `scripts/multihost.sh up 2` and takes it
# down again, also on failure; setup 10 s, then about 25 s per variant, 70 s with PINGS=20
# INTERVAL=0.2, 15 s more with TPUT=1):
#   flock /tmp/tsnet-test.lock timeout 590 bash bench/mh-attribution.sh baseline all-bypass baseline brnf-off ...
# Variants (each applied on hosts 1 and 2 only for its own measurement, then undone):
#   baseline           nothing changed
#   brnf-off           net.bridge.bridge-nf-call-iptables=0
#   docker-forward     `iptables -I FORWARD 1 -j ACCEPT` (Docker's FORWARD chain ends at its first rule)
#   tsnet-forward      an accept at the top of tsnet's `inet tsnet forward` base chain
#   all-bypass         the three above together
#   vx-fwd             receive side: nft netdev ingress on tsnet-vx, `fwd ip to ip daddr device BR`
#   vx-direct          receive side straight to the container's veth instead of the bridge (the
#                      driver's fast path does `fwd ... device BR`): a netdev chain on tsnet-vx at
#                      priority -10 rewrites the MACs and `fwd to` the destination container's veth
#                      (one rule per host for the measured container; a real one would need a map)
#   veth-vx-fwd        vx-fwd plus send side: nft netdev ingress on the client's host-side veth,
#                      `ip daddr REMOTE_BLOCK fwd ip to REMOTE_VTEP device "tsnet-vx"` (bypasses
#                      br_netfilter, IP forwarding and every forward hook on both hosts)
# Per variant: RTT = 8 alternating blocks (tsnet / overlay, rotating) of 300 busybox pings at 2 ms
# from the client container's namespace, pinned to CPU 1 (median, p10, p90 of all 2400 replies;
# PINGS=20 INTERVAL=0.2 measures like the bench, with idle CPUs between pings);
# with TPUT=1 also 4 alternating `iperf3 -t 3` runs (received Gbit/s). Temporary changes only;
# nothing here is what the driver programs. Since the driver has its fast path (docs/multi-host.md),
# `baseline` includes it; TSNET_FAST_PATH=0 in the environment measures the routed path as before.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
S="$REPO/scripts/multihost.sh"
IMG=tsnet-test-busybox:latest
SUB=10.232.0.0/16
W=$(mktemp -d)
d() { local i=$1; shift; docker -H "unix:///tmp/tsnet-mh/mh-$i/docker.sock" "$@"; }
both() { for i in 1 2; do ip netns exec "mh-$i" "$@"; done; }

setup() {
  bash "$S" down >/dev/null 2>&1 || true
  bash "$S" up 2 >/dev/null
  d 1 swarm init --advertise-addr 172.30.250.11 --listen-addr 172.30.250.11:2377 >/dev/null
  d 2 swarm join --advertise-addr 172.30.250.12 --listen-addr 172.30.250.12:2377 --token "$(d 1 swarm join-token -q worker)" 172.30.250.11:2377 >/dev/null
  for i in 1 2; do d "$i" network create -d tsnet --ipam-driver tsnet --subnet "$SUB" -o tsnet.cluster=mha mha >/dev/null; done
  d 1 network create -d overlay --attachable --subnet 10.233.0.0/24 mho >/dev/null
  for i in 1 2; do
    d "$i" run -d --name "t$i" --network mha "$IMG" sleep 3600 >/dev/null
    d "$i" run -d --name "o$i" --network mho "$IMG" sleep 3600 >/dev/null
  done
  PID_t=$(d 1 inspect -f '{{.State.Pid}}' t1); PID_o=$(d 1 inspect -f '{{.State.Pid}}' o1)
  PID_t2=$(d 2 inspect -f '{{.State.Pid}}' t2); PID_o2=$(d 2 inspect -f '{{.State.Pid}}' o2)
  IP_t=$(d 2 inspect -f '{{(index .NetworkSettings.Networks "mha").IPAddress}}' t2)
  IP_o=$(d 2 inspect -f '{{(index .NetworkSettings.Networks "mho").IPAddress}}' o2)
  for k in t o; do pings "$k" 5 0.2 >/dev/null; done
}
cleanup() {
  for f in "$W"/iperf-*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  bash "$S" down >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

pings() { # KIND COUNT INTERVAL -> one RTT per line, ms
  local pid=PID_$1 ip=IP_$1
  taskset -c 1 nsenter --net="/proc/${!pid}/ns/net" busybox ping -c "$2" -i "$3" -W 2 "${!ip}" | sed -n 's/.*time=\([0-9.]*\) ms/\1/p'
}
stat() { sort -n | awk '{a[NR]=$1*1000} END{printf "median %d us (p10 %d, p90 %d, n %d)", a[int((NR+1)/2)], a[int(NR/10)+1], a[int(NR*0.9)], NR}'; }
iperf_one() {
  local pid=PID_$1 ip=IP_$1
  nsenter --net="/proc/${!pid}/ns/net" iperf3 -c "${!ip}" -t 3 -J | python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))'
}
measure() {
  local lab=$1 r first second ts="" os=""
  : >"$W/t"; : >"$W/o"
  for r in 1 2 3 4 5 6 7 8; do
    if [ $((r % 2)) = 1 ]; then first=t second=o; else first=o second=t; fi
    pings $first "${PINGS:-300}" "${INTERVAL:-0.002}" >>"$W/$first"; pings $second "${PINGS:-300}" "${INTERVAL:-0.002}" >>"$W/$second"
  done
  echo "$lab | RTT tsnet $(stat <"$W/t") | overlay $(stat <"$W/o") | load $(cut -d' ' -f1 /proc/loadavg)"
  if [ "${TPUT:-0}" = 1 ]; then
    for r in 1 2 3 4; do
      if [ $((r % 2)) = 1 ]; then ts="$ts $(iperf_one t)"; os="$os $(iperf_one o)"; else os="$os $(iperf_one o)"; ts="$ts $(iperf_one t)"; fi
    done
    echo "$lab | throughput Gbit/s tsnet$ts | overlay$os"
  fi
}

bridge_of() { ip -n "mh-$1" -br link | awk '$1 ~ /^tsn-/ {print $1}' | head -1; }
remote_rules() { # host: one fwd rule per remote block (the driver's proto 116 routes)
  ip -n "mh-$1" route show proto 116 | while read -r blk _ gw _; do
    echo "ip saddr $SUB ip daddr $blk fwd ip to $gw device \"tsnet-vx\""
  done
}
vx_fwd() {
  local i br gw
  for i in 1 2; do
    br=$(bridge_of "$i"); gw=$(ip -n "mh-$i" -4 -br addr show dev "$br" | awk '{print $3}' | cut -d/ -f1)
    ip netns exec "mh-$i" nft -f - <<NFT
table netdev mha-vx {
  chain vx { type filter hook ingress device "tsnet-vx" priority 0; policy accept;
    ip saddr $SUB ip daddr $SUB ip daddr != $gw fwd ip to ip daddr device "$br"
  }
}
NFT
  done
}
veth_fwd() {
  local i v
  for i in 1 2; do
    v=$(ip -n "mh-$i" -br link show master "$(bridge_of "$i")" | awk '{print $1}' | cut -d@ -f1 | head -1)
    ip netns exec "mh-$i" nft -f - <<NFT
table netdev mha-veth {
  chain v { type filter hook ingress device "$v" priority 0; policy accept;
$(remote_rules "$i")
  }
}
NFT
  done
}
vx_direct() {
  local i br brmac pid ip mac veth
  for i in 1 2; do
    br=$(bridge_of "$i"); brmac=$(ip -n "mh-$i" -br link show "$br" | awk '{print $3}')
    pid=PID_t; [ "$i" = 2 ] && pid=PID_t2
    ip=$(nsenter --net="/proc/${!pid}/ns/net" ip -4 -br addr show dev eth0 | awk '{print $3}' | cut -d/ -f1)
    mac=$(nsenter --net="/proc/${!pid}/ns/net" ip -br link show dev eth0 | awk '{print $3}')
    veth=$(ip -n "mh-$i" -br link show master "$br" | awk '{print $1}' | cut -d@ -f1 | head -1)
    ip netns exec "mh-$i" nft -f - <<NFT
table netdev mha-direct {
  chain d { type filter hook ingress device "tsnet-vx" priority -10; policy accept;
    ip daddr $ip counter ether saddr set $brmac ether daddr set $mac fwd to "$veth"
  }
}
NFT
  done
}
tsnet_forward_on() { both nft insert rule inet tsnet forward accept comment mha; }
tsnet_forward_off() {
  local i h
  for i in 1 2; do
    h=$(ip netns exec "mh-$i" nft -a list chain inet tsnet forward | sed -n 's/.*"mha".*# handle \([0-9]*\).*/\1/p; s/.*comment mha.*# handle \([0-9]*\).*/\1/p' | head -1)
    ip netns exec "mh-$i" nft delete rule inet tsnet forward handle "$h"
  done
}

variant() {
  case $1 in
    baseline) measure baseline ;;
    brnf-off) both sysctl -qw net.bridge.bridge-nf-call-iptables=0; measure "$1"; both sysctl -qw net.bridge.bridge-nf-call-iptables=1 ;;
    docker-forward) both iptables -I FORWARD 1 -j ACCEPT; measure "$1"; both iptables -D FORWARD -j ACCEPT ;;
    tsnet-forward) tsnet_forward_on; measure "$1"; tsnet_forward_off ;;
    all-bypass)
      both iptables -I FORWARD 1 -j ACCEPT; tsnet_forward_on; both sysctl -qw net.bridge.bridge-nf-call-iptables=0
      measure "$1"
      both iptables -D FORWARD -j ACCEPT; tsnet_forward_off; both sysctl -qw net.bridge.bridge-nf-call-iptables=1 ;;
    vx-fwd) vx_fwd; measure "$1"; both nft delete table netdev mha-vx ;;
    vx-direct) vx_direct; measure "$1"; both nft list table netdev mha-direct | grep -o 'counter packets [0-9]*' | tr '\n' ' '; echo; both nft delete table netdev mha-direct ;;
    veth-vx-fwd) vx_fwd; veth_fwd; measure "$1"; both nft delete table netdev mha-vx; both nft delete table netdev mha-veth ;;
    *) echo "unknown variant $1" >&2; exit 2 ;;
  esac
}

[ $# -gt 0 ] || set -- baseline all-bypass baseline veth-vx-fwd
setup
if [ "${TPUT:-0}" = 1 ]; then for k in t2 o2; do pid=PID_$k; nsenter --net="/proc/${!pid}/ns/net" iperf3 -s -D -I "$W/iperf-$k.pid"; done; sleep 0.5; fi
echo "# $(date -u +%FT%TZ) mh-attribution: $*"
for v in "$@"; do variant "$v"; done
