#!/usr/bin/env bash
# The registry as a user meets it, on one backend: train with tracking and --register, runs
# list/show/compare, models list/show/get/register/alias, promote through the gate (and
# --force), and the errors: unknown model/alias/version/run, corrupt artifact, a database
# from a newer schema (exit 1, one line, nothing changed).
#   tests/registry_cli_test.sh path/to/fraudstream sqlite|postgresql
# postgresql needs $FRAUDSTREAM_TEST_PG (scripts/start-postgres.sh; `make test` sets it).
set -uo pipefail
bin=$1
backend=$2
source "$(dirname "$0")/registry_test_lib.sh"

for cmd in runs models promote; do expect 0 "$cmd --help" -- "$bin" "$cmd" --help; done
expect 0 "generate" -- "$bin" generate --customers 500 --terminals 1000 --days 45 --seed 1 --out "$dir/d.txt" -q
expect 0 "train v1" -- "$bin" train --data "$dir/d.txt" --out "$dir/m1" --param rounds=20 --register fraud --json
check "train --json has the run and version 1" json 'len(d["run_id"]) == 32 and d["registered"]["version"] == 1'
run1=$(jget 'd["run_id"]')
expect 0 "train v2" -- "$bin" train --data "$dir/d.txt" --out "$dir/m2" --param rounds=150 --register fraud --run-name second
expect 0 "train without registering" -- "$bin" train --data "$dir/d.txt" --out "$dir/m3" --param rounds=10 --experiment other

expect 0 "runs list --json" -- "$bin" runs list --json
check "three runs" json 'len(d) == 3 and all(r["status"] == "FINISHED" for r in d)'
run2=$(jget '[r["run_id"] for r in d if r["run_name"] == "second"][0]')
expect 0 "runs list --experiment" -- "$bin" runs list --experiment other --json
check "one run in 'other'" json 'len(d) == 1'
expect 0 "runs list" -- "$bin" runs list
grep -q "second" "$dir/out" || fail "runs list table lacks the run name"
expect 0 "runs show --json" -- "$bin" runs show "$run1" --json
check "run params, metrics, fingerprint" json 'd["params"]["rounds"] == "20" and 0.5 < d["metrics"]["test_roc_auc"] <= 1 and d["tags"]["data_fingerprint"].startswith("fnv1a64:")'
expect 0 "runs show by prefix" -- "$bin" runs show "${run1:0:8}"
grep -q "test_roc_auc" "$dir/out" || fail "runs show lacks metrics"
expect 0 "runs compare --json" -- "$bin" runs compare "$run1" "$run2" --json
check "compare has both rounds" json 'd["params"]["rounds"] == {d["runs"][0]: "20", d["runs"][1]: "150"}'
expect 0 "runs compare" -- "$bin" runs compare "$run1" "$run2"

expect 0 "models list --json" -- "$bin" models list --json
check "one model, latest 2" json 'd[0]["name"] == "fraud" and d[0]["latest_version"] == 2'
expect 0 "models show" -- "$bin" models show fraud
expect 0 "models get latest" -- "$bin" models get fraud/latest --json
check "latest is 2 with its run" json 'd["version"] == 2 and d["source"].startswith("runs:/")'

expect 1 "unknown alias" -- "$bin" models get fraud@Production
grep -q "no alias 'Production'" "$dir/err" || fail "unknown alias message: $(cat "$dir/err")"
expect 1 "unknown model" -- "$bin" models show nope
expect 1 "unknown version" -- "$bin" models get fraud/9
expect 1 "alias to unknown version" -- "$bin" models alias set fraud Staging 9
expect 1 "delete unknown alias" -- "$bin" models alias delete fraud Staging
expect 1 "unknown run" -- "$bin" runs show ffffffffffff
expect 1 "promote unknown version" -- "$bin" promote --model fraud --challenger 9
expect 1 "promote unknown model" -- "$bin" promote --model nope --challenger 1
expect 2 "bad reference" -- "$bin" models get fraud
expect 0 "alias set" -- "$bin" models alias set fraud Staging 1
expect 0 "alias resolves" -- "$bin" models get fraud@Staging --json
check "Staging is 1" json 'd["version"] == 1 and d["aliases"] == ["Staging"]'
expect 0 "alias delete" -- "$bin" models alias delete fraud Staging

# The gate.
expect 0 "first promotion" -- "$bin" promote --model fraud --challenger 1 --json
check "no champion: promoted" json 'd["decision"] == "promoted" and d["champion_version"] is None'
expect 0 "gated promotion" -- "$bin" promote --model fraud --challenger 2 --resamples 50 --json
check "gate figures" json 'd["gate"]["resamples"] == 50 and 0 <= d["gate"]["p_value"] <= 1 and d["gate"]["ci_low"] <= d["gate"]["auc_difference_mean"] <= d["gate"]["ci_high"] and d["decision"] in ("promoted", "rejected")'
decision=$(jget 'd["decision"]')
gate_run=$(jget 'd["run_id"]')
expect 0 "alias after the gate" -- "$bin" models get fraud@Production --json
if [[ $decision == promoted ]]; then check "Production is 2" json 'd["version"] == 2'
else check "Production stays 1" json 'd["version"] == 1'; fi
expect 0 "gate run logged" -- "$bin" runs show "$gate_run" --json
check "gate run has the figures" json 'd["experiment_name"] == "promotions" and "p_value" in d["metrics"] and "challenger_auc_mean" in d["metrics"] and len([m for m in d["metric_history"] if m["key"] == "champion_auc"]) == 50 and d["tags"]["forced"] == "false"'
expect 0 "same version again" -- "$bin" promote --model fraud --challenger "$([[ $decision == promoted ]] && echo 2 || echo 1)" --json
check "unchanged" json 'd["decision"] == "unchanged"'
expect 0 "register from a path" -- "$bin" models register fraud --path "$dir/m3" --json
check "version 3 from a path" json 'd["version"] == 3 and d["run_id"] is None'
expect 0 "forced promotion" -- "$bin" promote --model fraud --challenger 3 --force --resamples 20 --json
check "forced is recorded" json 'd["promoted"] and d["forced"] and d["gate"] is not None'
expect 0 "printed decision" -- "$bin" promote --model fraud --challenger 2 --resamples 20
grep -q "mean ROC AUC" "$dir/out" || fail "promote does not print the means"

# A corrupt artifact is refused; nothing is registered.
cp -r "$dir/m1" "$dir/bad" && echo '{"tampered": true}' >"$dir/bad/model.json"
expect 1 "corrupt artifact" -- "$bin" models register fraud --path "$dir/bad"
grep -q "corrupt" "$dir/err" || fail "corrupt artifact message: $(cat "$dir/err")"
expect 0 "versions unchanged" -- "$bin" models list --json
check "still 3 versions" json 'd[0]["latest_version"] == 3'
# A corrupt champion stops the gate (exit 1, the alias stays).
expect 0 "champion" -- "$bin" models get fraud@Production --json
champion_path=$(jget 'd["path"]')
champion=$(jget 'd["version"]')
cp "$champion_path/model.json" "$dir/champion.bak"
echo '{}' >"$champion_path/model.json"
challenger=$([[ $champion == 1 ]] && echo 2 || echo 1)
expect 1 "corrupt champion" -- "$bin" promote --model fraud --challenger "$challenger"
expect 0 "alias unchanged" -- "$bin" models get fraud@Production --json
check "Production unchanged" json "d['version'] == $champion"
cp "$dir/champion.bak" "$champion_path/model.json"

# A database from a newer fraudstream: refused, nothing changed.
sql "UPDATE schema_version SET version = 999" >/dev/null
runs_before=$(sql "SELECT COUNT(*) FROM runs")
expect 1 "newer schema" -- "$bin" models list
grep -q "newer" "$dir/err" || fail "newer schema message: $(cat "$dir/err")"
expect 1 "newer schema, train" -- "$bin" train --data "$dir/d.txt" --out "$dir/m4" --param rounds=5
[[ $(sql "SELECT COUNT(*) FROM runs") == "$runs_before" ]] || fail "a run was written to a newer database"
[[ $(sql "SELECT version FROM schema_version") == 999 ]] || fail "the schema version was changed"
[[ ! -e "$dir/m4" ]] || fail "train ran against a newer database"

echo "registry cli ($backend): $passed passed, $failures failed"
[[ $failures -eq 0 ]]
