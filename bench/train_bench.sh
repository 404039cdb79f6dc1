#!/usr/bin/env bash
# Training benchmark: `fraudstream train` (features + validation model + final model +
# evaluation + artifact) against scikit-learn's random forest and XGBoost's Python package
# (bench/python_train.py, Debian python3-sklearn / python3-xgboost) on the same handbook data set
# (seed 0: 5,000 customers, 10,000 terminals, 183 days, ~1.76 M transactions), the same
# features (train's default set, fraudstream-v4) and the same handbook split (7/7/7 days from
# 2018-07-25), in one run.
# Prints seconds, test ROC AUC / AP for each, the row counts on both sides, and the ratios.
#   bench/train_bench.sh [path/to/build]      (default: build)
# Env: BENCH_RUNS (default 3, best of), BENCH_DIR (default bench-out), BENCH_THREADS (default 2:
# XGBoost nthread / sklearn n_jobs on both sides), FEATURE_SET (default fraudstream-v4).
set -euo pipefail
build=$(realpath "${1:-build}")
bin="$build/fraudstream"
here=$(dirname "$0")
dir=${BENCH_DIR:-bench-out}
runs=${BENCH_RUNS:-3}
threads=${BENCH_THREADS:-2}
feature_set=${FEATURE_SET:-fraudstream-v4}
mkdir -p "$dir"
data="$dir/handbook_seed0.csv"
features="$dir/handbook_seed0.$feature_set.csv"
model="$dir/train_model"

if [[ ! -s "$data" ]]; then
  echo "generating $data (handbook defaults, seed 0: 5,000 customers, 10,000 terminals, 183 days)..." >&2
  "$bin" generate --seed 0 --format csv --out "$data" -q
fi
# The peers' input: our features, recomputed when the data or the binary is newer (not timed).
if [[ ! -s "$features" || "$data" -nt "$features" || "$bin" -nt "$features" ]]; then
  "$bin" features "$data" --out "$features.tmp" --feature-set "$feature_set" -q
  mv "$features.tmp" "$features"
fi
cat "$data" > /dev/null  # warm the page cache

best=""
for ((i = 0; i < runs; i++)); do
  "$bin" train --data "$data" --out "$model" --feature-set "$feature_set" --threads "$threads" \
    --json > "$dir/train_run.json"
  s=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"]["total"])' \
    "$dir/train_run.json")
  if [[ -z "$best" ]] || awk "BEGIN{exit !($s < $best)}"; then
    best=$s
    cp "$dir/train_run.json" "$dir/train_best.json"
  fi
done
rm -f "$dir/train_run.json"

# Our default gbdt parameters, as the manifest records them, for the XGBoost peer.
xgb_args=$(/usr/bin/python3 - "$model/fraudstream.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
p = m["model"]["params"]
assert m["model"]["kind"] == "gbdt" and p["objective"] == "binary:logistic" and p["tree_method"] == "hist", p
print(f'--rounds {m["model"]["rounds"]} --eta {p["eta"]} --max-depth {p["max_depth"]} '
      f'--subsample {p["subsample"]} --colsample-bytree {p["colsample_bytree"]} '
      f'--min-child-weight {p["min_child_weight"]} --base-score {p.get("base_score", "0.5")}')
PY
)
train_start=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["training"]["split"]["train_start"])' \
  "$model/fraudstream.json")
# shellcheck disable=SC2086
peer=$(/usr/bin/python3 "$here/python_train.py" "$features" --runs "$runs" --threads "$threads" \
  --train-start "$train_start" $xgb_args)

/usr/bin/python3 - "$dir/train_best.json" "$model/fraudstream.json" "$peer" "$runs" "$threads" <<'PY'
import json, sys
ours, manifest, peer = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), json.loads(sys.argv[3])
runs, threads = sys.argv[4], sys.argv[5]
sec, test, tr = ours["seconds"], ours["test"], manifest["training"]
total, feat, training = sec["total"], sec["features"], sec["training"]
rf, xgb = peer["sklearn_rf"], peer["xgboost_python"]
p = manifest["model"]["params"]
print(f"training benchmark: handbook data set (seed 0), {manifest['features']['name']} ({peer['features']} features), "
      f"split 7/7/7 from {tr['split']['train_start']}, nthread / n_jobs {threads}, best of {runs}")
print(f"  rows     train {tr['rows']:,} ({tr['frauds']} frauds), test {test['rows']:,} ({test['positives']} frauds)"
      f"  [ours]")
print(f"           train {peer['train_rows']:,} ({peer['train_frauds']} frauds), test {peer['test_rows']:,} "
      f"({peer['test_positives']} frauds)  [python]")
same = (tr["rows"], tr["frauds"], test["rows"], test["positives"]) == (
    peer["train_rows"], peer["train_frauds"], peer["test_rows"], peer["test_positives"])
print(f"           {'same split' if same else 'SPLITS DIFFER: the comparison is not like for like'}")
print(f"  gbdt: {manifest['model']['rounds']} rounds, eta {p['eta']}, max_depth {p['max_depth']}, "
      f"subsample {p['subsample']}, colsample_bytree {p['colsample_bytree']}, "
      f"base_score {p.get('base_score', '0.5')}, hist")
print(f"  {'':48s} {'seconds':>8s}  {'ROC AUC':>7s}  {'AP':>6s}")
print(f"  {'fraudstream train, total':48s} {total:8.2f}  {test['roc_auc']:7.4f}  {test['average_precision']:6.4f}")
print(f"  {'  features (all rows, customer/terminal threads)':48s} {feat:8.2f}")
print(f"  {'  training (2 models side by side + threshold)':48s} {training:8.2f}")
print(f"  {'  other (read CSV, test predict, artifact)':48s} {total - feat - training:8.2f}")
print(f"  {'sklearn RF 100x depth 12, fit + predict':48s} {rf['seconds']:8.2f}  {rf['roc_auc']:7.4f}  "
      f"{rf['average_precision']:6.4f}   (fit {rf['fit_seconds']:.2f}, predict {rf['predict_seconds']:.2f})")
print(f"  {'xgboost-python, 1 model, fit + predict':48s} {xgb['seconds']:8.2f}  {xgb['roc_auc']:7.4f}  "
      f"{xgb['average_precision']:6.4f}   (fit {xgb['fit_seconds']:.2f}, predict {xgb['predict_seconds']:.2f})")
print(f"  ratios (> 1: the peer takes longer)")
print(f"    xgboost-python 1 model / ours 2 models      {xgb['seconds'] / training:8.2f} x")
print(f"    sklearn RF 1 model / ours 2 models          {rf['seconds'] / training:8.2f} x")
print(f"    sklearn RF 1 model / ours whole train       {rf['seconds'] / total:8.2f} x")
print("  peers: one model, excluding CSV load, features and the split; ours: the validation model "
      "and the final model\n  (trained side by side, one thread each), the validation predict and "
      "the threshold choice")
PY
