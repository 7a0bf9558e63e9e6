#!/usr/bin/env bash
# Run every benchmark, then print one summary and append it to bench/history.jsonl.
# Results: bench/results/<name>.json (gitignored).
# Each benchmark creates its own database orrery_bench_<name>_<random> and drops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
# `bash bench/run.sh compute` (or any names) runs just those benchmarks.
if [ "$#" -gt 0 ]; then
  for name in "$@"; do npx tsx "bench/$name.ts" || status=$?; done
  exit "$status"
fi
npx tsx bench/racm.ts || status=$?
npx tsx bench/users.ts || status=$?
npx tsx bench/mydbGrid.ts || status=$?
# Needs the catalog files (scripts/fetch-catalogs.sh) and q3c (scripts/provision-q3c.sh); ~3 minutes.
npx tsx bench/mydbSpatial.ts || status=$?
# Writes about 4 GiB under the temp folder (a 1 GiB file, its copies), removed at the end.
npx tsx bench/files.ts || status=$?
npx tsx bench/mydbArrowDecode.ts || status=$?
npx tsx bench/mydb.ts || status=$?
# Needs root, Docker and orrery/lab:latest (scripts/provision-docker.sh); about 5 minutes.
npx tsx bench/compute.ts || status=$?
# Needs root, Docker and orrery/lab:latest; 1,000 trivial jobs twice (bare and queued), ~10–30 minutes.
npx tsx bench/jobs.ts || status=$?
# Needs root and Docker (orrery/debian-base:bookworm); about 30 seconds.
npx tsx bench/volumeMounts.ts || status=$?
# The summary also goes to bench/history.jsonl (commit it): a regression shows as a diff.
npx tsx bench/summary.ts --append || status=$?
exit "$status"
