# Sourced by the registry's CLI tests: a fresh store on the backend named by $backend, and the
# helpers expect / json / check / fail. Sets $dir (a temporary directory, removed at exit),
# FRAUDSTREAM_REGISTRY and FRAUDSTREAM_ARTIFACT_ROOT, and sql "STATEMENT" (runs SQL on the
# store). PostgreSQL needs $FRAUDSTREAM_TEST_PG (scripts/start-postgres.sh; `make test` sets
# it) and fails without it.
dir=$(mktemp -d)
py=/usr/bin/python3
failures=0
passed=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

if [[ $backend == postgresql ]]; then
  if [[ -z "${FRAUDSTREAM_TEST_PG:-}" ]]; then
    echo "FAIL: FRAUDSTREAM_TEST_PG is not set: start a server with scripts/start-postgres.sh and export the URI it prints (make test does)"
    exit 1
  fi
  export PGOPTIONS="-c client_min_messages=warning"
  db="fraudstream_cli_$$"
  psql "$FRAUDSTREAM_TEST_PG" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null || exit 1
  export FRAUDSTREAM_REGISTRY="${FRAUDSTREAM_TEST_PG%/*}/$db"
  sql() { psql "$FRAUDSTREAM_REGISTRY" -qAtc "$1"; }
  trap 'rm -rf "$dir"; psql "$FRAUDSTREAM_TEST_PG" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null' EXIT
else
  export FRAUDSTREAM_REGISTRY="sqlite://$dir/registry/registry.db"
  sql() { "$py" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); r=c.execute(sys.argv[2]).fetchall(); c.commit(); print("\n".join("|".join(map(str,x)) for x in r))' "$dir/registry/registry.db" "$1"; }
  trap 'rm -rf "$dir"' EXIT
fi
export FRAUDSTREAM_ARTIFACT_ROOT="$dir/artifacts"

# expect CODE DESCRIPTION -- command...: the exit code, and for errors exactly one stderr line.
expect() {
  local code=$1 what=$2
  shift 3
  "$@" >"$dir/out" 2>"$dir/err"
  local got=$?
  if [[ $got -ne $code ]]; then
    fail "$what: exit $got, expected $code; stderr: $(head -c 400 "$dir/err")"
  elif [[ $code -ne 0 && $(wc -l <"$dir/err") -ne 1 ]]; then
    fail "$what: expected one line on stderr: $(head -c 400 "$dir/err")"
  else
    passed=$((passed + 1))
  fi
}
# json EXPR: a Python expression on the JSON in $dir/out (as d) must hold.
json() { "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$dir/out" "$1"; }
# jget EXPR: prints a Python expression on the JSON in $dir/out (as d).
jget() { "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$dir/out" "$1"; }
check() { local what=$1; shift; "$@" || fail "$what"; }
