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
ls dist/orrery_lab-*.whl
