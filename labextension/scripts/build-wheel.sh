#!/usr/bin/env bash
# Build labextension/dist/orrery_lab-<version>-py3-none-any.whl: the prebuilt extension,
# the server extension and its jupyter_server_config.d entry. The compute image installs it.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="${ORRERY_VENV:-$here/../.venv}"
cd "$here"
export PATH="$venv/bin:$PATH"
bash scripts/build-labextension.sh
rm -rf dist
# --no-isolation: build with the venv's hatchling + hatch-jupyter-builder (no download).
"$venv/bin/python" -m build --wheel --no-isolation --outdir dist .
# The proxy's allow-list is generated from the hub's routes (npm run contract); without it the
# server extension cannot start.
"$venv/bin/python" - dist/orrery_lab-*.whl <<'PY'
import sys, zipfile
if "orrery_lab/allowlist.json" not in zipfile.ZipFile(sys.argv[1]).namelist():
    sys.exit("the wheel lacks orrery_lab/allowlist.json")
PY
ls dist/orrery_lab-*.whl
