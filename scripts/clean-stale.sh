#!/usr/bin/env bash
# Removes what an earlier, interrupted run may have left: test containers and networks, tsnet
# links, test namespaces, the tsnet nftables tables and tsnet's DOCKER-USER rules, and the test
# suite's managed plugin (scripts/test-plugin.sh) with its state: a plugin that finds networks in
# a state directory left by a killed run re-creates their bridges and rules when it is enabled.
set -uo pipefail
if docker version >/dev/null 2>&1; then
  ids=$(docker ps -aq --filter label=tsnet.test=1); [ -n "$ids" ] && docker rm -f $ids >/dev/null
  for n in $(docker network ls -q --filter label=tsnet.test=1); do docker network rm "$n" >/dev/null 2>&1; done
  for n in $(docker network ls --format '{{.ID}} {{.Driver}}' | awk '$2 ~ /^tsnet/ {print $1}'); do docker network rm "$n" >/dev/null 2>&1; done
  test_plugin=${TSNET_TEST_PLUGIN_NAME:-tsnetp}
  for p in $(docker plugin ls --format '{{.Name}}' | grep -E "^${test_plugin}(:|$)"); do docker plugin rm -f "$p" >/dev/null 2>&1; done
fi
# Only the test plugin's directories (never a production plugin's /var/lib/tsnet).
if ! docker plugin ls --format '{{.Name}}' 2>/dev/null | grep -qE "^${TSNET_TEST_PLUGIN_NAME:-tsnetp}(:|$)"; then
  rm -rf "/var/lib/${TSNET_TEST_PLUGIN_NAME:-tsnetp}" "/run/${TSNET_TEST_PLUGIN_NAME:-tsnetp}"
fi
for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^(tsn-|tsv|tsc|tsx|tst)'); do ip link del "$l" 2>/dev/null; done
for n in $(ip netns list | awk '{print $1}' | grep -E '^tst'); do ip netns del "$n"; done
nft delete table inet tsnet 2>/dev/null
nft delete table inet tsnet-underlay 2>/dev/null
nft delete table netdev tsnet-fast 2>/dev/null
nft delete table bridge tsnet 2>/dev/null
for fam in ip ip6; do
  for h in $(nft -a list chain $fam filter DOCKER-USER 2>/dev/null | grep 'comment "tsnet' | grep -Eo 'handle [0-9]+' | awk '{print $2}'); do
    nft delete rule $fam filter DOCKER-USER handle "$h"
  done
done
rm -rf /tmp/tsnet-test-state-*
exit 0
