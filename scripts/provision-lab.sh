#!/usr/bin/env bash
# Provision what the JupyterLab side needs, idempotently:
#   - Debian's chromium (browser tests; never a downloaded browser),
#   - a Python venv at .venv with JupyterLab 4.6.6 and the extension's build tools,
#   - the Orrery extension built against that JupyterLab and installed into the venv as a
#     wheel (labextension/dist/orrery_lab-*.whl, which the compute image also installs).
# CI calls it before scripts/provision-docker.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
log() { printf '[provision-lab] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# ORRERY_SKIP_CHROMIUM=1: only JupyterLab and the extension (scripts/up.sh needs no browser).
if [ "${ORRERY_SKIP_CHROMIUM:-0}" != 1 ] && ! command -v chromium >/dev/null 2>&1; then
  log "installing chromium"
  as_root apt-get update -q
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
fi

# Another process may be creating the same venv: one at a time.
exec 9>/tmp/orrery-venv.lock
flock 9
if [ ! -x "$venv/bin/jupyter-lab" ] || ! "$venv/bin/pip" show hatch-jupyter-builder >/dev/null 2>&1; then
  log "creating $venv with JupyterLab"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r "$root/images/base/requirements.txt" build hatchling 'hatch-jupyter-builder>=0.9'
fi

# The server extension's checks (scripts/test.sh): ruff and pytest with a real Jupyter server.
if ! "$venv/bin/python" -m pytest --version >/dev/null 2>&1 || ! "$venv/bin/ruff" --version >/dev/null 2>&1 \
  || ! "$venv/bin/pip" show pytest-jupyter >/dev/null 2>&1; then
  log "installing ruff, pytest and pytest-jupyter"
  "$venv/bin/pip" install -q 'pytest>=8' 'pytest-jupyter[server]>=0.10' 'ruff>=0.6'
fi

# JupyterHub's idle culler, unchanged from PyPI: hub/test/compute/idleCuller.test.ts runs it
# against Orrery's JupyterHub-compatible API.
if ! "$venv/bin/pip" show jupyterhub-idle-culler >/dev/null 2>&1; then
  log "installing jupyterhub-idle-culler"
  "$venv/bin/pip" install -q 'jupyterhub-idle-culler==2.0.0'
fi

log "building the extension and its wheel"
bash "$root/labextension/scripts/build-wheel.sh" >&2
"$venv/bin/pip" install -q --force-reinstall --no-deps "$root"/labextension/dist/orrery_lab-*.whl
# The `orrery` Python client, editable so that its tests and servers use this checkout.
"$venv/bin/pip" install -q -e "$root/client/python[test]"
"$venv/bin/jupyter" labextension list 2>&1 | grep -q '@orrery/labextension.*enabled' || {
  log "the extension is not enabled after install"; exit 1
}

# A hub running as root runs local servers as unprivileged system users (spawner/src/local):
# they must run the venv's jupyter (and the Python it was made from) and read the repository's
# Jupyter configuration. So the venv becomes readable by others, and every folder above the
# venv, its base Python and the repository becomes traversable (o+x: enter, not list); the
# hub checks this again at start. Nothing else in those folders changes.
traversable_above() {
  local dir
  dir=$(realpath "$1")
  while [ "$dir" != / ]; do dir=$(dirname "$dir"); chmod o+x "$dir"; done
}
if [ "$(id -u)" = 0 ]; then
  chmod -R o+rX "$(realpath "$venv")"
  traversable_above "$venv"
  traversable_above "$("$venv/bin/python3" -c 'import sys; print(sys.base_prefix)')/bin"
  traversable_above "$root/images/base"
fi
log "JupyterLab $("$venv/bin/jupyter-lab" --version) with @orrery/labextension"
flock -u 9
