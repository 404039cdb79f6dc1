#!/usr/bin/env bash
# Starts a PostgreSQL server for the registry tests, on loopback only, from Debian's
# postgresql package (scripts/install-deps.sh installs it). Idempotent: a server already
# answering on the port is left as it is. Prints the URI to export as FRAUDSTREAM_TEST_PG.
#   scripts/start-postgres.sh            start (or find) the server
#   scripts/start-postgres.sh --stop     stop it
# Settings: FRAUDSTREAM_PG_PORT (54329), FRAUDSTREAM_PG_DIR (/tmp/fraudstream-pg-<uid>).
# The cluster is for tests: trust authentication, on 127.0.0.1 only, fsync off.
set -euo pipefail
port=${FRAUDSTREAM_PG_PORT:-54329}
dir=${FRAUDSTREAM_PG_DIR:-/tmp/fraudstream-pg-$(id -u)}
uri="postgresql://postgres@127.0.0.1:${port}/postgres"

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [[ -z "$bindir" || ! -x "$bindir/pg_ctl" ]]; then
  echo "start-postgres: PostgreSQL is not installed (apt-get install postgresql, or run scripts/install-deps.sh)" >&2
  exit 1
fi

# The server refuses to run as root: run it as the postgres user then.
as_owner=()
if [[ $(id -u) -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || { echo "start-postgres: no 'postgres' user to run the server" >&2; exit 1; }
  as_owner=(runuser -u postgres --)
fi

if [[ "${1:-}" == "--stop" ]]; then
  [[ -d "$dir" ]] && "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir" stop -m fast >/dev/null || true
  exit 0
fi

if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  echo "$uri"
  exit 0
fi

if [[ ! -f "$dir/PG_VERSION" ]]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  [[ ${#as_owner[@]} -gt 0 ]] && chown postgres: "$dir"
  "${as_owner[@]}" "$bindir/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 >/dev/null
fi
"${as_owner[@]}" "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" >/dev/null \
  || { echo "start-postgres: the server did not start; its log:" >&2; tail -20 "$dir/server.log" >&2; exit 1; }
echo "$uri"
