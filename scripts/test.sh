#!/usr/bin/env bash
# The whole test suite: installs npm dependencies, builds, lints, then runs every mocha suite
# (unit, kernel, Docker against a real dockerd, managed plugin, VS Code extension) and ends with
# "N passed, N failed". Needs root, Docker Engine and Node.js; the Debian packages the suites need
# are installed by scripts/ensure-prereqs.sh (or, when not root, it prints the command).
set -uo pipefail
cd "$(dirname "$0")/.."
export TSNET_REPO=$PWD
mkdir -p test-artifacts

bash scripts/ensure-prereqs.sh test || { echo "missing prerequisites (see above)"; echo "0 passed, 1 failed"; exit 1; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  if [ "${CI:-}" = true ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi || { echo "npm install failed"; echo "0 passed, 1 failed"; exit 1; }
fi
npm run build || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
suites_failed=()

if npm run lint; then passed=$((passed + 1)); echo "lint: ok"; else failed=$((failed + 1)); suites_failed+=(lint); fi

bash scripts/ensure-docker.sh || { echo "0 passed, 1 failed"; exit 1; }
bash scripts/make-test-image.sh || { echo "0 passed, 1 failed"; exit 1; }

# run_suite NAME MOCHA-ARGS...: runs one mocha suite, adds its counts.
run_suite() {
  local name=$1; shift
  local log="test-artifacts/$name.log"
  echo "=== suite: $name"
  npx mocha --color=false "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local p f
  p=$(grep -Eo '^ *[0-9]+ passing' "$log" | grep -Eo '[0-9]+' | tail -1)
  f=$(grep -Eo '^ *[0-9]+ failing' "$log" | grep -Eo '[0-9]+' | tail -1)
  p=${p:-0}; f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi # crashed before its summary
  passed=$((passed + p)); failed=$((failed + f))
  [ "$f" -gt 0 ] && suites_failed+=("$name")
  return 0
}

only=${TSNET_SUITES:-unit kernel docker multihost plugin extension}
for suite in $only; do
  case $suite in
    unit) run_suite unit 'test/dist/unit/**/*.test.js' ;;
    kernel) run_suite kernel 'test/dist/kernel/**/*.test.js' ;;
    # three Docker engines in namespaces + etcd (scripts/multihost.sh), torn down at the end
    multihost) run_suite multihost --timeout 300000 --require test/dist/multihost/env.js 'test/dist/multihost/**/*.test.js' ;;
    docker) TSNET_TEST_DRIVER_LOG=test-artifacts/driver.log run_suite docker --require test/dist/docker/env.js 'test/dist/docker/**/*.test.js' ;;
    plugin)
      if [ -f scripts/test-plugin.sh ]; then
        echo "=== suite: plugin"
        bash scripts/test-plugin.sh 2>&1 | tee test-artifacts/plugin.log
        rc=${PIPESTATUS[0]}
        p=$(grep -Eo '^ *[0-9]+ passing' test-artifacts/plugin.log | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
        f=$(grep -Eo '^ *[0-9]+ failing' test-artifacts/plugin.log | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
        if [ "${rc:-0}" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
        passed=$((passed + p)); failed=$((failed + f)); [ "$f" -gt 0 ] && suites_failed+=(plugin)
      fi ;;
    extension)
      echo "=== suite: extension"
      npm run -w extension test 2>&1 | tee test-artifacts/extension.log
      rc=${PIPESTATUS[0]}
      p=$(grep -Eo '^ *[0-9]+ passing' test-artifacts/extension.log | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
      f=$(grep -Eo '^ *[0-9]+ failing' test-artifacts/extension.log | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
      if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
      passed=$((passed + p)); failed=$((failed + f)); [ "$f" -gt 0 ] && suites_failed+=(extension) ;;
    *) echo "unknown suite $suite"; failed=$((failed + 1)) ;;
  esac
done

# The drivers the suites started leave tsnet's (empty) nftables table behind on purpose: the
# kernel keeps serving running containers while a driver is down. With no tsnet network left,
# the tests remove it, and the check below looks for anything else.
# TSNET_CHECK_LEFTOVERS=0: a run nested in another test run (the newcomer transcript), whose
# outer run owns the kernel objects and checks them at its end.
if [ "${TSNET_CHECK_LEFTOVERS:-1}" != 0 ]; then
  links=$(ip -o link show)
  if ! grep -qE ': tsn-' <<<"$links"; then
    nft delete table inet tsnet 2>/dev/null || true
  fi
  bash scripts/check-leftovers.sh || { failed=$((failed + 1)); suites_failed+=(leftovers); }
fi

echo
[ ${#suites_failed[@]} -gt 0 ] && echo "failing: ${suites_failed[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
