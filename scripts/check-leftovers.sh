#!/usr/bin/env bash
# Fails when the tests left tsnet kernel objects, test namespaces, containers or networks behind.
set -uo pipefail
left=$(
  ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^(tsn-|tsv|tsc|tsx|tst)' | sed 's/^/link /'
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^(tst|mh-)' | sed 's/^/netns /'
  ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^mh-' | sed 's/^/multi-host link /'
  [ -e /tmp/tsnet-mh ] && echo 'multi-host harness directory /tmp/tsnet-mh (etcd data, engines)'
  docker ps -aq --filter label=tsnet.test=1 2>/dev/null | sed 's/^/container /'
  docker network ls -q --filter label=tsnet.test=1 2>/dev/null | sed 's/^/network /'
  nft list tables 2>/dev/null | grep -E 'tsnet|tst' | sed 's/^/nft /'
  iptables -S DOCKER-USER 2>/dev/null | grep -E 'tsnet|tsn-' | sed 's/^/DOCKER-USER rule: /'
)
if [ -n "$left" ]; then
  echo "leftovers after the tests:"; echo "$left" | sed 's/^/  /'
  exit 1
fi
echo "leftovers: none"
