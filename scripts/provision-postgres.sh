#!/usr/bin/env bash
# Make users' MyDB roles log in with SCRAM on the local PostgreSQL server, as in production,
# while the hub's own role (postgres) keeps the trust access the tests use (docs/mydb.md,
# "SCRAM"). Every user's role is a member of the group role orrery_mydb_login (the hub makes
# it so); three pg_hba.conf lines naming that group, placed before every other line, ask its
# members for a SCRAM-SHA-256 password on the socket, 127.0.0.1 and ::1. Then the server
# reloads. Idempotent: the lines are added once, between marker comments.
# Environment: PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres): a superuser connection.
set -euo pipefail
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
group=orrery_mydb_login
begin="# orrery: users' MyDB roles (members of $group) log in with SCRAM"
end="# orrery: end"

sql() { psql -X -q -v ON_ERROR_STOP=1 -At -d postgres -c "$1"; }

# The group: no login, no privilege; NOINHERIT members gain nothing from it.
sql "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$group') THEN
    CREATE ROLE $group NOLOGIN NOINHERIT;
  END IF;
END \$\$"

hba=$(sql 'SHOW hba_file')
[ -w "$hba" ] || { echo "provision-postgres: cannot write $hba (run as root or postgres)" >&2; exit 1; }
if ! grep -qxF "$begin" "$hba"; then
  backup=$(mktemp)
  cp -p "$hba" "$backup"
  trap 'rm -f "$backup"' EXIT
  {
    echo "$begin"
    echo "local all +$group scram-sha-256"
    echo "host all +$group 127.0.0.1/32 scram-sha-256"
    echo "host all +$group ::1/128 scram-sha-256"
    echo "$end"
    cat "$backup"
  } >"$hba" # written in place: the file keeps its owner and mode
  # The server reads the file on disk here: a line it would refuse is undone before any reload.
  if [ "$(sql 'SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL')" != 0 ]; then
    cat "$backup" >"$hba"
    echo "provision-postgres: PostgreSQL refused the new pg_hba.conf; left as it was" >&2
    exit 1
  fi
  echo "provision-postgres: $hba asks members of $group for SCRAM"
fi
sql 'SELECT pg_reload_conf()' >/dev/null

# Loaded, and first: the server's view of the rules in force must start with ours.
first=$(sql "SELECT array_to_string(user_name, ',') || ' ' || auth_method FROM pg_hba_file_rules ORDER BY line_number LIMIT 1")
[ "$first" = "+$group scram-sha-256" ] || {
  echo "provision-postgres: the first pg_hba.conf rule is \"$first\", not the SCRAM rule for +$group" >&2
  exit 1
}
