#!/usr/bin/env bash
# Run every benchmark, then print one summary. Results: bench/results/<name>.json (gitignored).
# Each benchmark creates its own database orrery_bench_<name>_<random> and drops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
npx tsx bench/racm.ts || status=$?
npx tsx bench/users.ts || status=$?
npx tsx bench/summary.ts || status=$?
exit "$status"
