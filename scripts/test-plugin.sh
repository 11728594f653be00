#!/usr/bin/env bash
# Runs the Docker-level test suite and the plugin tests against tsnet installed as a MANAGED
# PLUGIN (named tsnetp by default, so it does not clash with a host-process driver named tsnet),
# then removes the plugin, always (also on failure or interrupt).
#   bash scripts/test-plugin.sh [extra mocha args]
# Env: TSNET_PLUGIN_NAME (tsnetp), TSNET_PLUGIN_TAG (latest),
# TSNET_PLUGIN_SUITES to replace the test file globs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export TSNET_PLUGIN_NAME=${TSNET_PLUGIN_NAME:-tsnetp}
export TSNET_PLUGIN_TAG=${TSNET_PLUGIN_TAG:-latest}
REF=$TSNET_PLUGIN_NAME:$TSNET_PLUGIN_TAG

bash scripts/ensure-docker.sh
bash scripts/make-test-image.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npx tsc -b test

cleanup() {
  local rc=$?
  bash scripts/plugin.sh remove || true
  # plugin.sh keeps a removed plugin's state (users upgrade through it); the test plugin's is the
  # test's own, and a later install would bring back whatever networks a failed run left in it.
  if [ "$TSNET_PLUGIN_NAME" = tsnetp ] && [ -z "${TSNET_PLUGIN_STATE_DIR:-}" ]; then rm -rf /var/lib/tsnetp /run/tsnetp; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bash scripts/plugin.sh install

# The Docker suite uses the already running managed plugin instead of starting a host driver.
export TSNET_EXTERNAL_DRIVER=1
export TSNET_DRIVER_NAME=$REF
export TSNET_STATUS_SOCKET=${TSNET_PLUGIN_STATUS_DIR:-/run/$TSNET_PLUGIN_NAME}/status.sock
read -r -a suites <<<"${TSNET_PLUGIN_SUITES:-test/dist/docker/**/*.test.js test/dist/plugin/*.test.js}"
shopt -s nullglob globstar
files=()
# Files that stop, kill or restart the driver process (or start drivers of their own) belong to
# the host-process run; everything else runs again against the plugin.
for g in "${suites[@]}"; do for f in $g; do
  case $f in */durability.test.js|*/docker-sync.test.js|*/fuzz.test.js|*/newcomer.test.js) continue ;; esac
  files+=("$f")
done; done
mapfile -t files < <(printf '%s\n' "${files[@]}" | awk '!seen[$0]++')
npx mocha --timeout 600000 "$@" "${files[@]}"
