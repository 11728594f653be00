#!/usr/bin/env bash
# The one list of Debian packages tsnet needs, and the one place that installs them. Shared by
# `npm start` (scripts/start-driver.sh), `npm test` (scripts/test.sh) and CI (.ci/run).
#   bash scripts/ensure-prereqs.sh run     # what the driver needs to run
#   bash scripts/ensure-prereqs.sh test    # that plus what the test suites need
# As root on Debian/Ubuntu it installs what is missing with apt-get; otherwise it prints the exact
# command to run and fails. Prints nothing when everything is present.
set -euo pipefail

# Packages per profile. Add new needs here, nowhere else.
RUN_PACKAGES=(libnftables1 nftables iproute2 iptables procps)
TEST_PACKAGES=(
  busybox-static # the offline test image (scripts/make-test-image.sh)
  conntrack      # tests that read conntrack entries
  iperf3         # throughput tests and benchmarks
  chromium       # the extension's UI tests (headless)
  libkrb5-dev    # code-server's native modules (extension UI tests)
  debootstrap    # the offline base image of the managed plugin
  systemd        # systemd-analyze verify of the service unit
  util-linux     # nsenter, unshare
  etcd-server    # the multi-host suite's control plane (scripts/multihost.sh)
  etcd-client    # etcdctl: the harness's health checks
)

profile=${1:-test}
case $profile in
  run) wanted=("${RUN_PACKAGES[@]}") ;;
  test) wanted=("${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}") ;;
  list) printf '%s\n' "${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}"; exit 0 ;;
  *) echo "usage: bash scripts/ensure-prereqs.sh run|test|list" >&2; exit 2 ;;
esac
# Docker Engine itself: only when no dockerd is installed (a machine may have Docker's own packages).
command -v dockerd >/dev/null 2>&1 || wanted=(docker.io "${wanted[@]}")

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "tsnet: not a Debian-based system; install the equivalents of: ${wanted[*]}" >&2
  exit 1
fi
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get update && apt-get install -y ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "tsnet: missing Debian packages: ${missing[*]}" >&2
  echo "tsnet: install them as root with: sudo sh -c '$cmd'" >&2
  exit 1
fi
echo "tsnet: installing missing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; } >&2; then
  echo "tsnet: apt-get failed; run it yourself: $cmd" >&2
  exit 1
fi
