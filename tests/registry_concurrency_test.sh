#!/usr/bin/env bash
# Concurrent fraudstream processes on one store: registrations racing each other get distinct
# versions and none is lost; readers racing them only see whole versions; two promotions
# racing each other leave the alias on exactly one of the challengers (the loser, if any,
# exits 1 saying the alias moved).
#   tests/registry_concurrency_test.sh path/to/fraudstream sqlite|postgresql
set -uo pipefail
bin=$1
backend=$2
source "$(dirname "$0")/registry_test_lib.sh"

expect 0 "generate" -- "$bin" generate --customers 400 --terminals 800 --days 45 --seed 4 --out "$dir/d.txt" -q
expect 0 "train" -- "$bin" train --data "$dir/d.txt" --out "$dir/m" --param rounds=10 --register fraud
expect 0 "first promotion" -- "$bin" promote --model fraud --challenger 1

# Six registrations at once, with two readers resolving and loading all the while.
writers=6
pids=()
for i in $(seq 1 $writers); do
  "$bin" models register fraud --path "$dir/m" >"$dir/w$i.out" 2>"$dir/w$i.err" &
  pids+=($!)
done
reader() {
  local n=0
  while [[ $n -lt 30 ]]; do
    "$bin" models show fraud --json >"$dir/r$1.json" 2>>"$dir/r$1.err" || { echo "reader: show failed" >>"$dir/r$1.err"; return 1; }
    # Every version listed has a complete artifact.
    "$py" -c '
import json, os, sys
d = json.load(open(sys.argv[1]))
for v in d["versions"]:
    p = v["storage_location"].removeprefix("file://")
    assert v["status"] == "READY" and os.path.exists(p + "/fraudstream.json") and os.path.exists(p + "/model.json"), v
' "$dir/r$1.json" 2>>"$dir/r$1.err" || return 1
    "$bin" models get fraud@Production >/dev/null 2>>"$dir/r$1.err" || return 1
    n=$((n + 1))
  done
}
reader 1 & r1=$!
reader 2 & r2=$!
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || fail "registration $((i + 1)) failed: $(cat "$dir/w$((i + 1)).err")"
done
wait $r1 || fail "reader 1 saw a broken state: $(tail -3 "$dir/r1.err")"
wait $r2 || fail "reader 2 saw a broken state: $(tail -3 "$dir/r2.err")"
expect 0 "versions" -- "$bin" models show fraud --json
check "7 distinct versions 1..7" json 'sorted(v["version"] for v in d["versions"]) == list(range(1, 8)) and len({v["storage_location"] for v in d["versions"]}) == 7'

# Two promotions at once (forced, so both want to move the alias).
"$bin" promote --model fraud --challenger 2 --force --resamples 10 >"$dir/p2.out" 2>"$dir/p2.err" & p2=$!
"$bin" promote --model fraud --challenger 3 --force --resamples 10 >"$dir/p3.out" 2>"$dir/p3.err" & p3=$!
wait $p2; c2=$?
wait $p3; c3=$?
for c in 2 3; do
  code=$([[ $c == 2 ]] && echo $c2 || echo $c3)
  if [[ $code -ne 0 ]]; then
    grep -q "moved" "$dir/p$c.err" || fail "promotion of $c failed for another reason: $(cat "$dir/p$c.err")"
  fi
done
[[ $c2 -eq 0 || $c3 -eq 0 ]] || fail "neither promotion succeeded"
[[ $(sql "SELECT COUNT(*) FROM model_aliases WHERE name = 'fraud' AND alias = 'Production'") == 1 ]] \
  || fail "Production is not exactly one row"
expect 0 "alias" -- "$bin" models get fraud@Production --json
check "Production on a challenger" json 'd["version"] in (2, 3)'
expect 0 "promotion runs" -- "$bin" runs list --experiment promotions --json
check "three promotion runs logged" json 'len(d) == 3'

echo "registry concurrency ($backend): $passed passed, $failures failed"
[[ $failures -eq 0 ]]
