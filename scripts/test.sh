#!/usr/bin/env bash
# The whole test suite: lint and types, then every tier of tests against real
# PostgreSQL (and, where provisioned, real Docker and real JupyterLab in Chromium).
# Ends with one line "Total: N passed, N failed". Exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .orrery/test-results

results=.orrery/test-results
rm -f "$results"/*.count

stage() { printf '\n\033[1m== %s ==\033[0m\n' "$1"; }

# Record a stage's counts (one file per stage, so stages may run in parallel lanes).
record() {
  local name=$1 p=$2 f=$3
  printf '%s %s\n' "${p:-0}" "${f:-0}" >"$results/$name.count"
}

# Count a TAP file written by node's test runner. No summary, or a runner that failed with
# no failing test (a crash, a hang cut short), counts as one failure more.
count_tap() {
  local name=$1 file=$2 rc=$3 p f
  p=$(grep -E '^# pass ' "$file" | tail -1 | awk '{print $3}')
  f=$(grep -E '^# fail ' "$file" | tail -1 | awk '{print $3}')
  if [ -z "$p" ] || { [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; }; then f=$(( ${f:-0} + 1 )); fi
  record "$name" "$p" "$f"
}

# Run node:test files with a readable report on stdout and TAP for counting.
node_tests() {
  local name=$1 concurrency=$2
  shift 2
  local tap=$results/$name.tap
  node --import tsx --test --test-concurrency="$concurrency" \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" "$@"
  count_tap "$name" "$tap" $?
}

# Count a pytest log ("N passed", "N failed"/"N error"), plus the ruff check before it.
pytest_stage() {
  local name=$1 dir=$2 venv=$3
  local log=$results/$name.log lint_failed=0 p f
  (cd "$dir" && "$venv/bin/ruff" check . && "$venv/bin/ruff" format --check .) || lint_failed=1
  (cd "$dir" && "$venv/bin/python" -m pytest -q -p no:cacheprovider) 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  p=$(grep -Eo '[0-9]+ passed' "$log" | tail -1 | grep -Eo '[0-9]+')
  f=$(grep -Eo '[0-9]+ (failed|error)' "$log" | tail -1 | grep -Eo '[0-9]+')
  if [ -z "$p$f" ] || { [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; }; then f=$(( ${f:-0} + 1 )); fi
  record "$name" "$(( ${p:-0} + 1 - lint_failed ))" "$(( ${f:-0} + lint_failed ))"
}

# Print how long a stage took, so the suite's time can be read off any run.
timed() {
  local name=$1 began=$SECONDS
  shift
  stage "$name"
  "$@"
  printf '(%s: %ss)\n' "$name" $((SECONDS - began))
}

lint() {
  if npm run --silent lint; then record lint 1 0; else record lint 0 1; fi
}

galata() {
  local log=$results/labextension-ui.log p f
  npm run test:ui -w labextension 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  # Playwright's own summary lines: "N passed", "N failed".
  p=$(grep -Eo '^ +[0-9]+ passed' "$log" | tail -1 | grep -Eo '[0-9]+')
  f=$(grep -Eo '^ +[0-9]+ failed' "$log" | tail -1 | grep -Eo '[0-9]+')
  if [ -z "$p$f" ] || { [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; }; then f=$(( ${f:-0} + 1 )); fi
  record labextension-ui "$p" "$f"
}

if [ ! -d node_modules ]; then npm ci --no-audit --no-fund || exit 1; fi

# Two lanes that share no daemon and no browser run side by side: Docker (servers, jobs,
# volumes, the swarm; its browser tests drive Docker labs) and everything else (PostgreSQL,
# local-process labs, Galata). Within a lane, stages run one after another.
docker_lane() {
  # One file at a time: these share the Docker daemon (one joins and leaves a swarm), the user
  # network's firewall and the machine's two cores with real JupyterLabs.
  timed "hub: compute and browser tests (real Docker, JupyterLab, Chromium)" \
    node_tests hub-compute 1 hub/test/compute/*.test.ts hub/test/browser/*.test.ts
  timed "spawner: unit and integration tests (real Docker; CI=true fails without it)" \
    node_tests spawner 1 spawner/test/*.test.ts
}

other_lane() {
  timed "lint and types" lint
  timed "hub: unit tests" node_tests hub-unit 2 hub/test/unit/*.test.ts bench/test/*.test.ts
  timed "hub: integration tests (real PostgreSQL)" node_tests hub-integration 2 hub/test/*.test.ts
  timed "labextension: unit tests" node_tests labextension 1 labextension/test/*.test.ts
  # In labextension/ so pytest imports orrery_lab from this checkout, not the installed wheel.
  timed "labextension: server extension (ruff, pytest with a real Jupyter server)" \
    pytest_stage orrery-lab labextension "$PWD/.venv"
  timed "orrery Python client (ruff, pytest against a real hub)" \
    pytest_stage client client/python "$PWD/.venv"
  timed "labextension: browser tests (Galata, real JupyterLab and hub, Chromium)" galata
}

began=$SECONDS
docker_log=$results/docker-lane.log
docker_lane >"$docker_log" 2>&1 &
docker_pid=$!
other_lane
wait "$docker_pid"
stage "Docker lane (ran beside the stages above; its full output: $docker_log)"
cat "$docker_log"

passed=0
failed=0
for count in "$results"/*.count; do
  read -r p f <"$count"
  printf '%-20s %4s passed %3s failed\n' "$(basename "$count" .count)" "$p" "$f"
  passed=$((passed + p))
  failed=$((failed + f))
done
printf '(whole suite: %ss)\n' $((SECONDS - began))

echo
echo "Total: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ] || exit 1
exit 0
