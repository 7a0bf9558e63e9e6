#!/usr/bin/env bash
# The whole test suite: lint and types, then every tier of tests against real
# PostgreSQL (and, where provisioned, real Docker and real JupyterLab in Chromium).
# Ends with one line "Total: N passed, N failed". Exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .orrery/test-results

passed=0
failed=0
status=0

stage() { printf '\n\033[1m== %s ==\033[0m\n' "$1"; }

# Add a stage's counts from a TAP file written by node's test runner.
count_tap() {
  local file=$1 p f
  p=$(grep -E '^# pass ' "$file" | tail -1 | awk '{print $3}')
  f=$(grep -E '^# fail ' "$file" | tail -1 | awk '{print $3}')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  if [ -z "$p" ]; then failed=$((failed + 1)); fi
}

# Run node:test files with a readable report on stdout and TAP for counting.
node_tests() {
  local name=$1 concurrency=$2
  shift 2
  local tap=.orrery/test-results/$name.tap
  node --import tsx --test --test-concurrency="$concurrency" \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" "$@" || status=1
  count_tap "$tap"
}

if [ ! -d node_modules ]; then npm ci --no-audit --no-fund || exit 1; fi

stage "lint and types"
if npm run --silent lint; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); status=1
fi

stage "hub: unit tests"
node_tests hub-unit 2 hub/test/unit/*.test.ts bench/test/*.test.ts

stage "hub: integration tests (real PostgreSQL)"
node_tests hub-integration 2 hub/test/*.test.ts

# One file at a time: these share the Docker daemon (one joins and leaves a swarm), the user
# network's firewall and the machine's two cores with real JupyterLabs.
stage "hub: compute and browser tests (real Docker, JupyterLab, Chromium)"
node_tests hub-compute 1 hub/test/compute/*.test.ts hub/test/browser/*.test.ts

stage "spawner: unit and integration tests (real Docker; CI=true fails without it)"
node_tests spawner 1 spawner/test/*.test.ts

stage "labextension: unit tests"
node_tests labextension 1 labextension/test/*.test.ts

# Run in labextension/ so pytest imports orrery_lab from this checkout, not the installed wheel.
stage "labextension: server extension (ruff, pytest with a real Jupyter server)"
py_log=.orrery/test-results/orrery-lab-pytest.log
if (cd labextension && ../.venv/bin/ruff check orrery_lab && ../.venv/bin/ruff format --check orrery_lab); then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); status=1
fi
(cd labextension && ../.venv/bin/python -m pytest -q -p no:cacheprovider) 2>&1 | tee "$py_log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
py_passed=$(grep -Eo '[0-9]+ passed' "$py_log" | tail -1 | grep -Eo '[0-9]+')
py_failed=$(grep -Eo '[0-9]+ (failed|error)' "$py_log" | tail -1 | grep -Eo '[0-9]+')
passed=$((passed + ${py_passed:-0}))
failed=$((failed + ${py_failed:-0}))
if [ -z "$py_passed" ] && [ -z "$py_failed" ]; then failed=$((failed + 1)); status=1; fi

stage "orrery Python client (ruff, pytest against a real hub)"
client_log=.orrery/test-results/client-pytest.log
if (cd client/python && ../../.venv/bin/ruff check . && ../../.venv/bin/ruff format --check .); then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); status=1
fi
(cd client/python && ../../.venv/bin/python -m pytest -q -p no:cacheprovider) 2>&1 | tee "$client_log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
client_passed=$(grep -Eo '[0-9]+ passed' "$client_log" | tail -1 | grep -Eo '[0-9]+')
client_failed=$(grep -Eo '[0-9]+ (failed|error)' "$client_log" | tail -1 | grep -Eo '[0-9]+')
passed=$((passed + ${client_passed:-0}))
failed=$((failed + ${client_failed:-0}))
if [ -z "$client_passed" ] && [ -z "$client_failed" ]; then failed=$((failed + 1)); status=1; fi

stage "labextension: browser tests (Galata, real JupyterLab and hub, Chromium)"
ui_log=.orrery/test-results/labextension-ui.log
npm run test:ui -w labextension 2>&1 | tee "$ui_log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
# Playwright's own summary lines: "N passed", "N failed".
ui_passed=$(grep -Eo '^ +[0-9]+ passed' "$ui_log" | tail -1 | grep -Eo '[0-9]+')
ui_failed=$(grep -Eo '^ +[0-9]+ failed' "$ui_log" | tail -1 | grep -Eo '[0-9]+')
passed=$((passed + ${ui_passed:-0}))
failed=$((failed + ${ui_failed:-0}))
if [ -z "$ui_passed" ] && [ -z "$ui_failed" ]; then failed=$((failed + 1)); status=1; fi

echo
echo "Total: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ] || status=1
exit $status
