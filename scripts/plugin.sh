#!/usr/bin/env bash
# Builds, installs, upgrades and removes tsnet as a Docker managed plugin (docs/plugin.md).
#
#   bash scripts/plugin.sh build     # image + plugin dir (config.json + rootfs), no docker plugin change
#   bash scripts/plugin.sh install   # build, docker plugin create, set, enable (upgrades when installed)
#   bash scripts/plugin.sh upgrade   # build a new rootfs and swap it in; networks and state stay
#   bash scripts/plugin.sh remove    # docker plugin disable -f + rm -f (state directory is kept)
#   bash scripts/plugin.sh push      # docker plugin push to TSNET_PLUGIN_REMOTE (needs a registry)
#   bash scripts/plugin.sh status    # docker plugin inspect summary
#
# Env:
#   TSNET_PLUGIN_NAME (tsnet), TSNET_PLUGIN_TAG (latest): the plugin reference NAME:TAG, which is
#     also the driver name users type: docker network create -d NAME:TAG ...
#   TSNET_PLUGIN_STATE_DIR (/var/lib/NAME, below /var/lib), TSNET_PLUGIN_STATUS_DIR (/run/NAME,
#     below /run): the plugin's state and status-socket directories (same path on the host and
#     inside; the plugin creates them when missing).
#   TSNET_LOG_LEVEL: when set, becomes the plugin's log level (docker plugin set).
#   TSNET_NODE_IMAGE / TSNET_BASE_IMAGE: base images for the Dockerfile; by default the official
#     node:24-bookworm-slim / debian:bookworm-slim when present or pullable, otherwise the offline
#     image of scripts/make-base-image.sh (tsnet-base:bookworm-node24).
#   TSNET_BUILD_CA_FILE: extra CA certificates (PEM) for npm inside the build; default: the
#     host's /usr/local/share/ca-certificates/*.crt, if any.
#   TSNET_PLUGIN_WORKDIR (/var/tmp/tsnet-plugin): where plugin dirs (config.json + rootfs) are made.
#   TSNET_PLUGIN_REMOTE: registry reference for push, and for upgrade from a registry.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

NAME=${TSNET_PLUGIN_NAME:-tsnet}
TAG=${TSNET_PLUGIN_TAG:-latest}
REF=$NAME:$TAG
IMAGE=${TSNET_PLUGIN_IMAGE:-$NAME-plugin-rootfs:$TAG}
WORKDIR=${TSNET_PLUGIN_WORKDIR:-/var/tmp/tsnet-plugin}
PLUGIN_DIR=$WORKDIR/$NAME-$TAG
STATE_DIR=${TSNET_PLUGIN_STATE_DIR:-/var/lib/$NAME}
STATUS_DIR=${TSNET_PLUGIN_STATUS_DIR:-/run/$NAME}
OFFLINE_BASE=${TSNET_BASE_IMAGE_OFFLINE:-tsnet-base:bookworm-node24}

log() { echo "tsnet plugin: $*" >&2; }
die() { log "$*"; exit 1; }

plugin_exists() { docker plugin inspect "$REF" >/dev/null 2>&1; }
plugin_enabled() { [ "$(docker plugin inspect -f '{{.Enabled}}' "$REF" 2>/dev/null)" = "true" ]; }

ensure_docker() {
  bash scripts/ensure-docker.sh
}

# npm dependencies and a fast host-side type check of what goes into the plugin (the image
# compiles again from a clean npm ci, so the rootfs never depends on the host's node_modules).
ensure_build() {
  if [ ! -d node_modules ] || [ ! -e node_modules/.package-lock.json ]; then
    log "npm ci"
    npm ci --no-audit --no-fund >&2
  fi
  log "tsc -b driver"
  npx tsc -b driver >&2
}

# Picks NODE_IMAGE / BASE_IMAGE: explicit env > official images (local or pullable) > offline base.
choose_bases() {
  if [ -n "${TSNET_NODE_IMAGE:-}" ] || [ -n "${TSNET_BASE_IMAGE:-}" ]; then
    NODE_IMAGE=${TSNET_NODE_IMAGE:-node:24-bookworm-slim}
    BASE_IMAGE=${TSNET_BASE_IMAGE:-debian:bookworm-slim}
    return
  fi
  local official=1 img
  for img in node:24-bookworm-slim debian:bookworm-slim; do
    if ! docker image inspect "$img" >/dev/null 2>&1 && ! timeout 120 docker pull -q "$img" >/dev/null 2>&1; then
      official=0
      break
    fi
  done
  if [ $official = 1 ]; then
    NODE_IMAGE=node:24-bookworm-slim
    BASE_IMAGE=debian:bookworm-slim
  else
    log "no container registry reachable: using the offline base image $OFFLINE_BASE"
    TSNET_BASE_IMAGE=$OFFLINE_BASE bash scripts/make-base-image.sh
    NODE_IMAGE=$OFFLINE_BASE
    BASE_IMAGE=$OFFLINE_BASE
  fi
}

build_image() {
  choose_bases
  local ca=""
  if [ -n "${TSNET_BUILD_CA_FILE:-}" ]; then
    ca=$(cat "$TSNET_BUILD_CA_FILE")
  elif compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    ca=$(cat /usr/local/share/ca-certificates/*.crt)
  fi
  log "docker build $IMAGE (NODE_IMAGE=$NODE_IMAGE BASE_IMAGE=$BASE_IMAGE)"
  BUILD_CA_CERTS=$ca docker build -q \
    --build-arg NODE_IMAGE="$NODE_IMAGE" --build-arg BASE_IMAGE="$BASE_IMAGE" \
    --build-arg BUILD_CA_CERTS \
    --label org.tsnet.commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    -t "$IMAGE" . >/dev/null
  log "image $IMAGE: $(docker image inspect -f '{{.Size}}' "$IMAGE") bytes"
}

# The plugin dir `docker plugin create` takes: config.json + rootfs/ (exported from the image).
make_plugin_dir() {
  local dir=$1 cid
  rm -rf "$dir"
  mkdir -p "$dir/rootfs"
  cid=$(docker create "$IMAGE")
  docker export "$cid" | tar -C "$dir/rootfs" -x
  docker rm "$cid" >/dev/null
  # The plugin's own defaults; the directories of this NAME are its settings (configure).
  cp plugin-config/config.json "$dir/config.json"
  log "plugin dir $dir: rootfs $(du -sb "$dir/rootfs" | cut -f1) bytes"
}

build() {
  ensure_docker
  ensure_build
  build_image
  make_plugin_dir "$PLUGIN_DIR"
}

configure() {
  # Same path on the host and inside the plugin, so paths the driver reports are true in both
  # mount namespaces; the plugin creates them (below the host's /var/lib and /run) when missing.
  local args=("TSNET_STATE_DIR=$STATE_DIR" "TSNET_STATUS_SOCKET=$STATUS_DIR/status.sock")
  # The plugin cannot see the host's groups: give it the docker group's ID for the status socket.
  local gid
  gid=$(getent group docker | cut -d: -f3 || true)
  if [ -n "$gid" ]; then args+=("TSNET_STATUS_GID=$gid"); fi
  if [ -n "${TSNET_LOG_LEVEL:-}" ]; then args+=("TSNET_LOG_LEVEL=$TSNET_LOG_LEVEL"); fi
  docker plugin set "$REF" "${args[@]}"
}

create_and_enable() {
  local dir=$1
  docker plugin create "$REF" "$dir" >/dev/null
  configure
  docker plugin enable "$REF" >/dev/null
}

install() {
  if plugin_exists; then
    log "$REF is installed already: upgrading it"
    upgrade
    return
  fi
  build
  create_and_enable "$PLUGIN_DIR"
  log "$REF enabled; use it with: docker network create -d $REF NETWORK"
}

# Upgrade in place. `docker plugin upgrade` only takes a registry reference (it pulls), so a
# plugin built locally is upgraded the documented local way: disable, remove, create from the
# new plugin dir under the SAME NAME:TAG, re-apply settings, enable. Docker keeps networks by
# driver name (NAME:TAG), not by plugin ID; the driver's state lives in the host's state
# directory, outside the plugin; kernel objects (bridges, veths, nft rules) of running
# containers stay while the driver is down. If the new version does not enable, the previous
# plugin dir is re-created and enabled again.
# With TSNET_PLUGIN_REMOTE set, the registry path is used instead:
#   docker plugin disable -f REF; docker plugin upgrade --skip-remote-check --grant-all-permissions REF REMOTE; enable.
upgrade() {
  plugin_exists || die "$REF is not installed (run: npm run plugin:install)"
  if [ -n "${TSNET_PLUGIN_REMOTE:-}" ]; then
    ensure_docker
    docker plugin disable -f "$REF" >/dev/null 2>&1 || true
    docker plugin upgrade --skip-remote-check --grant-all-permissions "$REF" "$TSNET_PLUGIN_REMOTE"
    docker plugin enable "$REF" >/dev/null
    log "$REF upgraded from $TSNET_PLUGIN_REMOTE"
    return
  fi
  local prev=$PLUGIN_DIR.prev
  # Keep the running version's plugin dir for a rollback.
  if [ -d "$PLUGIN_DIR" ]; then rm -rf "$prev"; mv "$PLUGIN_DIR" "$prev"; fi
  build
  local old_id
  old_id=$(docker plugin inspect -f '{{.Id}}' "$REF")
  docker plugin disable -f "$REF" >/dev/null 2>&1 || true
  docker plugin rm -f "$REF" >/dev/null
  if ! create_and_enable "$PLUGIN_DIR"; then
    log "the new version did not enable; restoring the previous one"
    docker plugin rm -f "$REF" >/dev/null 2>&1 || true
    if [ -d "$prev" ]; then
      create_and_enable "$prev"
      rm -rf "$PLUGIN_DIR"; mv "$prev" "$PLUGIN_DIR"
    fi
    die "upgrade failed; see dockerd's log (plugin=$REF)"
  fi
  rm -rf "$prev"
  log "$REF upgraded (plugin id ${old_id:0:12} -> $(docker plugin inspect -f '{{.Id}}' "$REF" | cut -c1-12))"
}

remove() {
  ensure_docker
  if plugin_exists; then
    docker plugin disable -f "$REF" >/dev/null 2>&1 || true
    docker plugin rm -f "$REF" >/dev/null
    log "$REF removed (state kept in $STATE_DIR; networks made with it stay defined in Docker)"
  else
    log "$REF is not installed"
  fi
  docker image rm "$IMAGE" >/dev/null 2>&1 || true
  rm -rf "$PLUGIN_DIR" "$PLUGIN_DIR.prev"
  rm -f "/etc/tmpfiles.d/tsnet-plugin-$NAME.conf" # made by earlier versions
}

# Publishing needs a registry: the plugin is created under the registry's reference and pushed.
push() {
  [ -n "${TSNET_PLUGIN_REMOTE:-}" ] || die "set TSNET_PLUGIN_REMOTE=registry.example.com/team/tsnet:1.0 (see docs/plugin.md)"
  build
  docker plugin rm -f "$TSNET_PLUGIN_REMOTE" >/dev/null 2>&1 || true
  docker plugin create "$TSNET_PLUGIN_REMOTE" "$PLUGIN_DIR"
  docker plugin push "$TSNET_PLUGIN_REMOTE"
  docker plugin rm -f "$TSNET_PLUGIN_REMOTE" >/dev/null
}

status() {
  docker plugin inspect -f '{{.Name}} id={{.Id}} enabled={{.Enabled}} env={{.Settings.Env}} mounts={{range .Settings.Mounts}}{{.Source}}:{{.Destination}} {{end}}' "$REF"
}

case "${1:-}" in
  build) build ;;
  install) install ;;
  upgrade) upgrade ;;
  remove) remove ;;
  push) push ;;
  status) status ;;
  *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
