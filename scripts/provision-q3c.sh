#!/usr/bin/env bash
# Install the q3c extension (Debian's postgresql-<major>-q3c) for the machine's PostgreSQL, so
# MyDB's spatial functions can use q3c's index instead of the Zones algorithm (docs/mydb.md,
# "Spatial functions"). Idempotent: does nothing when the extension's files are there. The hub
# creates the extension in the science database at start if its role may.
set -euo pipefail
major=$(pg_config --version 2>/dev/null | sed -E 's/^PostgreSQL ([0-9]+).*/\1/' || true)
[ -n "$major" ] || major=$(ls /usr/share/postgresql | sort -V | tail -1)
if [ -f "/usr/share/postgresql/$major/extension/q3c.control" ]; then exit 0; fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
pkg="postgresql-$major-q3c"
if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null
fi
echo "provision-q3c: $pkg installed"
