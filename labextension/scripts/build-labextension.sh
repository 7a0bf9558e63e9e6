#!/usr/bin/env bash
# Build the prebuilt JupyterLab extension into orrery_lab/labextension, against the core
# packages of the JupyterLab installed in the venv (so shared versions match exactly).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="${ORRERY_VENV:-$here/../.venv}"
cd "$here"
export PATH="$venv/bin:$PATH"
staging="$("$venv/bin/python" -c 'import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), "staging"))')"
npx tsc -p tsconfig.json
"$venv/bin/jupyter" labextension build --core-path "$staging" .
