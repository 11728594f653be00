#!/usr/bin/env bash
# npm run bench: builds tsnet and the benchmark, makes the offline images, then runs every figure
# for tsnet and Docker's built-in bridge driver alternately and writes bench/results.md.
# Needs root, a running Docker Engine (started if installed), iperf3 and busybox-static.
# BENCH_QUICK=1 npm run bench: a short smoke run written to bench/raw/results-quick.md instead.
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_STARTED_AT=$(date +%s.%N)
if [ "$(id -u)" -ne 0 ]; then echo "bench: run as root (the driver makes bridges, veths and firewall rules)" >&2; exit 1; fi
command -v iperf3 >/dev/null || { echo "bench: iperf3 is missing; install it with: apt-get install -y iperf3" >&2; exit 1; }
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm install --no-audit --no-fund; fi
npx tsc -b shared driver
npx tsc -b bench/tsconfig.json
bash scripts/ensure-docker.sh
bash scripts/make-test-image.sh
bash bench/make-iperf-image.sh
mkdir -p bench/raw
exec node bench/dist/main.js "$@"
