#!/usr/bin/env bash
# Builds the offline test image `tsnet-test-busybox:latest` from Debian's busybox-static
# (no registry needed). Idempotent: does nothing when the image exists.
set -euo pipefail
IMAGE=${1:-tsnet-test-busybox:latest}
if docker image inspect "$IMAGE" >/dev/null 2>&1; then exit 0; fi
if [ ! -x /bin/busybox ]; then
  echo "tsnet: /bin/busybox is missing; install it with: apt-get install -y busybox-static" >&2
  exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/www" "$dir/proc" "$dir/sys" "$dir/dev"
cp /bin/busybox "$dir/bin/busybox"
chroot "$dir" /bin/busybox --install -s /bin
echo 'root:x:0:0:root:/root:/bin/sh' > "$dir/etc/passwd"
echo 'root:x:0:' > "$dir/etc/group"
echo 'tsnet test page' > "$dir/www/index.html"
tar -C "$dir" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - "$IMAGE" >/dev/null
