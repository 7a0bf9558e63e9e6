#!/usr/bin/env bash
# Fetch the catalog files MyDB's catalog contexts are loaded from (docs/mydb.md, "Catalog
# contexts") into .orrery/data/kstars: stars.dat (Hipparcos/Tycho stars) and OpenNGC.kscat
# (NGC/IC objects, CC-BY-SA-4.0), both from Debian's kstars-data package. Never committed.
# Idempotent: does nothing when both files are there.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.orrery/data/kstars
files=(stars.dat OpenNGC.kscat)

have_all() { for f in "${files[@]}"; do [ -s "$dest/$f" ] || return 1; done; }
if have_all; then exit 0; fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
mkdir -p .orrery/data
work=$(mktemp -d .orrery/data/fetch.XXXXXX)
trap 'rm -rf "$work"' EXIT

# apt-get download needs the package lists; refresh them once if the package is unknown.
if ! (cd "$work" && apt-get download -q kstars-data >/dev/null 2>&1); then
  as_root apt-get update -qq
  (cd "$work" && apt-get download -q kstars-data >/dev/null)
fi
dpkg-deb -x "$work"/kstars-data_*.deb "$work/x"
mkdir -p "$dest"
for f in "${files[@]}"; do
  found=$(find "$work/x" -name "$f" -type f | head -1)
  [ -n "$found" ] || { echo "fetch-catalogs: $f is not in kstars-data" >&2; exit 1; }
  # Written under a temporary name, then renamed: a half-copied file is never taken for whole.
  cp "$found" "$dest/$f.part" && mv "$dest/$f.part" "$dest/$f"
done
echo "fetch-catalogs: $(ls "$dest" | tr '\n' ' ')in $dest"
