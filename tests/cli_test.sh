#!/usr/bin/env bash
# The binary as a user meets it: exit codes (0 ok, 1 error, 2 usage), one-line errors on
# stderr, and the data → model commands chained on a small data set.
#   tests/cli_test.sh path/to/fraudstream
set -uo pipefail
bin=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export FRAUDSTREAM_REGISTRY="$dir/registry.db"  # train logs its run there, not in the cwd
failures=0
passed=0

# expect CODE DESCRIPTION -- command...: checks the exit code, and for errors one stderr line.
expect() {
  local code=$1 what=$2
  shift 3
  "$@" >"$dir/out" 2>"$dir/err"
  local got=$?
  local lines
  lines=$(wc -l <"$dir/err")
  if [[ $got -ne $code ]]; then
    echo "FAIL: $what: exit $got, expected $code; stderr: $(head -c 300 "$dir/err")"
    failures=$((failures + 1))
  elif [[ $code -ne 0 && $lines -ne 1 ]]; then
    echo "FAIL: $what: expected one line on stderr, got $lines: $(head -c 300 "$dir/err")"
    failures=$((failures + 1))
  else
    passed=$((passed + 1))
  fi
}

expect 0 "version" -- "$bin" --version
expect 0 "help" -- "$bin" --help
for cmd in generate clean features train evaluate predict broker replay stream serve; do
  expect 0 "$cmd --help" -- "$bin" "$cmd" --help
done
expect 2 "no command" -- "$bin"
expect 2 "unknown command" -- "$bin" frobnicate
expect 2 "missing required flag" -- "$bin" clean in.txt
expect 2 "bad flag value" -- "$bin" generate --out x --customers -1
expect 2 "replay: bad rate" -- "$bin" replay "$dir/absent.txt" --brokers 127.0.0.1:1 --rate abc
expect 1 "replay: missing file" -- "$bin" replay "$dir/absent.txt" --brokers 127.0.0.1:1 -q
expect 1 "stream: not a model" -- "$bin" stream --brokers 127.0.0.1:1 --model-dir "$dir"
expect 2 "bad format name" -- "$bin" clean in.txt --out x --format xml
expect 2 "bad date" -- "$bin" generate --out x --start-date 2018-02-30
expect 1 "missing input file" -- "$bin" clean "$dir/none.txt" --out "$dir/x.txt"
expect 1 "missing model" -- "$bin" evaluate --model "$dir/none" --data "$dir/none.txt"
printf 'a,b\n1,2\n' >"$dir/bad.csv"
expect 1 "unrecognised header" -- "$bin" clean "$dir/bad.csv" --out "$dir/x.txt"
grep -q "lacks required column" "$dir/err" || { echo "FAIL: header error does not say what is missing"; failures=$((failures + 1)); }

# The chain on a small data set.
expect 0 "generate" -- "$bin" generate --customers 500 --terminals 1000 --days 45 --dirty 0.002 --out "$dir/d.txt" -q
expect 0 "clean" -- "$bin" clean "$dir/d.txt" --out "$dir/c.txt" --report "$dir/q.json" -q
expect 1 "strict read of dirty data" -- "$bin" features "$dir/d.txt" --out "$dir/f.csv" -q
expect 0 "features" -- "$bin" features "$dir/c.txt" --out "$dir/f.csv" -q
expect 0 "train" -- "$bin" train --data "$dir/c.txt" --out "$dir/model"
expect 0 "evaluate --json" -- "$bin" evaluate --model "$dir/model" --data "$dir/c.txt" --json --report "$dir/e.html"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert 0.5 < d["roc_auc"] <= 1, d' "$dir/out" \
  || { echo "FAIL: evaluate --json is not the metrics"; failures=$((failures + 1)); }
expect 0 "predict" -- "$bin" predict --model "$dir/model" "$dir/c.txt" --out "$dir/p.csv"
rows_in=$(($(wc -l <"$dir/c.txt") - 1))
rows_out=$(($(wc -l <"$dir/p.csv") - 1))
[[ $rows_in -eq $rows_out ]] || { echo "FAIL: predict wrote $rows_out rows for $rows_in"; failures=$((failures + 1)); }
expect 2 "evaluate with half a split" -- "$bin" evaluate --model "$dir/model" --data "$dir/c.txt" --test-days 3

echo "cli: $passed passed, $failures failed"
[[ $failures -eq 0 ]]
