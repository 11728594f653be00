#!/usr/bin/env bash
# Builds the offline benchmark image `tsnet-bench-iperf:latest`: Debian's busybox-static plus the
# host's /usr/bin/iperf3 with the libraries `ldd` lists and the dynamic loader (no registry needed).
# Idempotent: does nothing when the image exists and holds the host's iperf3.
set -euo pipefail
IMAGE=${1:-tsnet-bench-iperf:latest}
IPERF=$(command -v iperf3 || true)
if [ -z "$IPERF" ]; then echo "bench: iperf3 is missing; install it with: apt-get install -y iperf3" >&2; exit 1; fi
if [ ! -x /bin/busybox ]; then echo "bench: /bin/busybox is missing; install it with: apt-get install -y busybox-static" >&2; exit 1; fi
want=$(sha256sum "$(readlink -f "$IPERF")" | cut -c1-16)
if [ "$(docker image inspect -f '{{index .Config.Labels "tsnet.bench.iperf"}}' "$IMAGE" 2>/dev/null || true)" = "$want" ]; then exit 0; fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/bin" "$dir/usr/bin" "$dir/etc" "$dir/tmp" "$dir/proc" "$dir/sys" "$dir/dev"
chmod 1777 "$dir/tmp"
cp /bin/busybox "$dir/bin/busybox"
chroot "$dir" /bin/busybox --install -s /bin
cp "$(readlink -f "$IPERF")" "$dir/usr/bin/iperf3"
# Every library ldd resolves, plus the loader (the line without "=>"), at the same paths.
for lib in $(ldd "$IPERF" | awk '/=>/ {print $3} !/=>/ && $1 ~ /^\// {print $1}'); do
  [ -f "$lib" ] || continue
  mkdir -p "$dir$(dirname "$lib")"
  cp -L "$lib" "$dir$lib"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$dir/etc/passwd"
echo 'root:x:0:' > "$dir/etc/group"
tar -C "$dir" -c . | docker import -c 'ENV PATH=/usr/bin:/bin' -c 'CMD ["iperf3", "-s"]' \
  -c "LABEL tsnet.bench.iperf=$want" - "$IMAGE" >/dev/null
docker run --rm --network none "$IMAGE" iperf3 --version >/dev/null
