#!/usr/bin/env bash
# `fraudstream retrain` on one backend: new files are cleaned, trained on, registered and
# promoted through the gate; a pass without new data does nothing and says so; --every loops.
#   tests/retrain_cli_test.sh path/to/fraudstream sqlite|postgresql
set -uo pipefail
bin=$1
backend=$2
source "$(dirname "$0")/registry_test_lib.sh"

expect 0 "retrain --help" -- "$bin" retrain --help
# 60 days in four files of 15 days, with some dirt for the cleaner (and its faults.jsonl sidecar).
expect 0 "generate" -- "$bin" generate --customers 500 --terminals 1000 --days 60 --seed 2 \
  --days-per-file 15 --dirty 0.002 --out "$dir/gen" -q
mkdir -p "$dir/data"
files=("$dir"/gen/2018-*.txt)
[[ ${#files[@]} -eq 4 ]] || fail "expected 4 generated files, got ${#files[@]}"
cp "${files[0]}" "${files[1]}" "${files[2]}" "$dir/gen/faults.jsonl" "$dir/data/"

expect 0 "first retrain" -- "$bin" retrain --data-dir "$dir/data" --json
check "trained on 3 new files, version 1 promoted" json 'd["trained"] and len(d["new_files"]) == 3 and d["version"] == 1 and d["promotion"]["decision"] == "promoted"'
expect 0 "nothing new" -- "$bin" retrain --data-dir "$dir/data"
grep -q "no new data" "$dir/out" || fail "a pass without new data does not say so: $(cat "$dir/out")"
expect 0 "still one version" -- "$bin" models show fraud-detector --json
check "one version" json 'len(d["versions"]) == 1 and d["aliases"] == {"Production": 1}'

cp "${files[3]}" "$dir/data/"
expect 0 "retrain on a new file" -- "$bin" retrain --data-dir "$dir/data" --json --resamples 30
check "version 2 went through the gate" json 'd["trained"] and len(d["new_files"]) == 1 and d["version"] == 2 and d["promotion"]["gate"]["resamples"] == 30 and d["promotion"]["decision"] in ("promoted", "rejected")'
decision=$(jget 'd["promotion"]["decision"]')
expect 0 "alias follows the decision" -- "$bin" models get fraud-detector@Production --json
if [[ $decision == promoted ]]; then check "Production is 2" json 'd["version"] == 2'
else check "Production stays 1" json 'd["version"] == 1'; fi
expect 0 "retrain runs logged" -- "$bin" runs list --experiment retrain --json
check "two retrain runs with their data files" json 'len(d) == 2 and all(r["tags"]["fraudstream.trigger"] == "retrain" and "fraudstream.new_data_files" in r["tags"] for r in d)'
expect 0 "gate runs logged" -- "$bin" runs list --experiment promotions --json
check "two promotion runs" json 'len(d) == 2'

# The loop: every pass finds nothing new.
timeout 5 "$bin" retrain --data-dir "$dir/data" --every 1s >"$dir/out" 2>"$dir/err"
[[ $? -eq 124 ]] || fail "--every did not keep running"
[[ $(grep -c "no new data" "$dir/out") -ge 2 ]] || fail "--every did not repeat: $(cat "$dir/out" "$dir/err")"
expect 0 "still two versions" -- "$bin" models list --json
check "two versions" json 'd[0]["latest_version"] == 2'

expect 2 "bad interval" -- "$bin" retrain --data-dir "$dir/data" --every 5x
expect 1 "missing directory" -- "$bin" retrain --data-dir "$dir/none"

echo "retrain cli ($backend): $passed passed, $failures failed"
[[ $failures -eq 0 ]]
