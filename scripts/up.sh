#!/usr/bin/env bash
# Bring Orrery up on http://127.0.0.1:8000 on a fresh Debian/Ubuntu machine.
#   - installs the npm dependencies if missing;
#   - uses the PostgreSQL at $DATABASE_URL if given; else the local server on
#     127.0.0.1:5432 if it lets us in; else starts its own cluster in .orrery/pg
#     (installing Debian's postgresql package first if needed; ORRERY_OWN_POSTGRES=1 forces this);
#   - compiles the hub (npm run build: tsc to hub/dist and spawner/dist, page assets bundled),
#   - applies migrations, makes the first admin (printing its password once),
#   - runs the compiled hub in the foreground (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
state=.orrery
mkdir -p "$state"

say() { printf '\033[1morrery:\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  say "Node 20 or newer is needed (found: $(node --version 2>/dev/null || echo none))"; exit 1
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund
fi

start_own_postgres() {
  local port=5433 data=$state/pg
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    say "installing PostgreSQL (Debian package)"
    as_root apt-get update -qq && as_root apt-get install -y -qq postgresql >/dev/null
  fi
  local bin
  bin=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
  # PostgreSQL refuses to run as root; run it as the postgres system user then.
  local run=()
  if [ "$(id -u)" = 0 ]; then run=(runuser -u postgres --); fi
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"; [ "$(id -u)" = 0 ] && chown postgres "$data"
    "${run[@]}" "$bin/initdb" -D "$data" -U postgres --auth=trust >/dev/null
  fi
  if ! "$bin/pg_isready" -h 127.0.0.1 -p $port -q; then
    say "starting PostgreSQL in $data on port $port"
    "${run[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
      -o "-p $port -k $(realpath "$data") -c listen_addresses=127.0.0.1" start >/dev/null
  fi
  echo "postgres://postgres@127.0.0.1:$port/orrery"
}

if [ -z "${DATABASE_URL:-}" ]; then
  if [ "${ORRERY_OWN_POSTGRES:-0}" != 1 ] && command -v psql >/dev/null && psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1 </dev/null; then
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orrery
  else
    DATABASE_URL=$(start_own_postgres)
  fi
  db=${DATABASE_URL##*/}
  server=${DATABASE_URL%/*}/postgres
  if [ "$(psql "$server" -Atqc "select 1 from pg_database where datname = '$db'")" != 1 ]; then
    psql "$server" -qc "create database $db" >/dev/null
  fi
fi
export DATABASE_URL
say "database: $DATABASE_URL"

say "compiling the hub"
npm run --silent build >/dev/null
# The compiled hub loads the compiled spawner through the "production" export condition.
hub() { node --conditions=production "hub/dist/$1.js" "${@:2}"; }

hub cli migrate
admin=$(hub cli ensure-admin --username hubadmin)
case "$admin" in
  "admin login:"*) umask 077; echo "$admin" > "$state/admin-login"; say "$admin (also saved in $state/admin-login)" ;;
  *) say "$admin" ;;
esac

# Catalog contexts (MyDB): fetched once from Debian's kstars-data, loaded once.
if bash scripts/fetch-catalogs.sh; then
  hub cli load-catalogs --data "$PWD/$state/data/kstars" --if-missing
else
  say "could not fetch the catalog files: the hub starts without catalog contexts"
fi

# Compute: containers when a Docker daemon answers (the image is built once, with no
# registry), else local JupyterLab processes from .venv.
if docker info >/dev/null 2>&1; then
  if ! docker image inspect orrery/lab:latest >/dev/null 2>&1; then
    say "building the compute image (first run only, several minutes)"
    ORRERY_SKIP_CHROMIUM=1 bash scripts/provision-lab.sh
    bash images/build.sh
  fi
  say "a Docker daemon answers: servers will run in containers"
else
  [ -x .venv/bin/jupyter ] || ORRERY_SKIP_CHROMIUM=1 bash scripts/provision-lab.sh
  say "no Docker daemon answers: servers will run as local processes"
fi
say "open http://127.0.0.1:${ORRERY_PORT:-8000}/hub/login"
exec node --conditions=production hub/dist/main.js
