#!/bin/sh
# Used by the Dockerfile: copies STAGE (node binary + /opt/tsnet) into DEST and adds exactly the
# shared libraries they load: node's, libnftables.so.1's (dlopen'ed by the driver through koffi)
# and those of every native addon (*.node). Keeps the usr-merge symlinks and writes an
# ld.so.cache so dlopen("libnftables.so.1") resolves by name. Fails when a library is missing.
set -eu
STAGE=$1
DEST=$2
mkdir -p "$DEST"
cp -a "$STAGE"/. "$DEST"/

# usr-merge symlinks (/lib -> usr/lib, ...) as in the base image.
for d in bin sbin lib lib32 lib64 libx32; do
  if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$DEST/$d"; fi
done

copy_file() { # copy $1 (dereferenced) to the same path under DEST, in its canonical directory
  dir=$(cd "$(dirname "$1")" && pwd -P)
  mkdir -p "$DEST$dir"
  [ -e "$DEST$dir/$(basename "$1")" ] || cp -L "$1" "$DEST$dir/$(basename "$1")"
}

copy_deps() { # the libraries ldd lists for $1, plus the dynamic loader
  out=$(ldd "$1") || { echo "collect-rootfs: ldd failed for $1" >&2; exit 1; }
  if echo "$out" | grep -q 'not found'; then
    echo "collect-rootfs: missing libraries for $1:" >&2; echo "$out" >&2; exit 1
  fi
  echo "$out" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
    copy_file "$lib"
  done
}

nft=$(ldconfig -p | awk '$1 == "libnftables.so.1" { print $NF; exit }')
[ -n "$nft" ] || { echo "collect-rootfs: libnftables.so.1 not found (install libnftables1)" >&2; exit 1; }
copy_file "$nft"
copy_deps "$nft"
copy_deps "$STAGE/usr/local/bin/node"
# libip4tc: DOCKER-USER accepts on iptables-legacy hosts (loaded only there); optional.
ipt=$(ldconfig -p | awk '$1 == "libip4tc.so.2" { print $NF; exit }')
if [ -n "$ipt" ]; then copy_file "$ipt"; copy_deps "$ipt"; fi
find "$STAGE" -name '*.node' -type f | while read -r addon; do
  # Only addons for this machine's libc/arch; ldd refuses foreign ones.
  if ldd "$addon" >/dev/null 2>&1; then copy_deps "$addon"; fi
done

# ld.so.cache for the copied libraries (dlopen by soname).
mkdir -p "$DEST/etc"
cp /etc/ld.so.conf "$DEST/etc/" 2>/dev/null || true
[ -d /etc/ld.so.conf.d ] && cp -a /etc/ld.so.conf.d "$DEST/etc/"
ldconfig -r "$DEST"

# The bare minimum of a root filesystem.
printf 'root:x:0:0:root:/root:/sbin/nologin\n' > "$DEST/etc/passwd"
printf 'root:x:0:\n' > "$DEST/etc/group"
mkdir -p "$DEST/tmp" "$DEST/root" "$DEST/run/docker/plugins" "$DEST/run/tsnet" \
  "$DEST/var/lib/tsnet" "$DEST/var/run" "$DEST/proc" "$DEST/sys" "$DEST/dev"
chmod 1777 "$DEST/tmp"
echo "collect-rootfs: $(du -sh "$DEST" | cut -f1) in $DEST"
