#!/usr/bin/env bash
# Feature benchmark: fraudstream's ComputeFeatures (one thread, I/O excluded) against the
# Fraud Detection Handbook's own pandas feature code (bench/pandas_features.py, I/O excluded
# too) on the same handbook-sized data set (5,000 customers, 10,000 terminals, 183 days,
# ~1.74 M transactions), in the same run. Prints tx/s for both and the ratio.
#   bench/features_bench.sh [path/to/build]      (default: build)
# Env: BENCH_RUNS (default 5, best of), BENCH_DIR (default bench-out), FEATURE_SET.
set -euo pipefail
build=$(realpath "${1:-build}")
dir=${BENCH_DIR:-bench-out}
runs=${BENCH_RUNS:-5}
feature_set=${FEATURE_SET:-handbook-v1}
mkdir -p "$dir"
data="$dir/handbook_183d.csv"

if [[ ! -s "$data" ]]; then
  echo "generating $data (handbook defaults: 5,000 customers, 10,000 terminals, 183 days)..." >&2
  "$build/fraudstream" generate --format csv --seed 7 --out "$data" -q
fi

ours=$("$build/bench/features_bench" "$data" --feature-set "$feature_set" --runs "$runs")
peer=$(/usr/bin/python3 "$(dirname "$0")/pandas_features.py" bench "$data")

/usr/bin/python3 - "$ours" "$peer" "$runs" "$feature_set" <<'PY'
import json, sys
ours, peer, runs, fs = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
rows, s = ours["rows"], ours["best_seconds"]
ps = peer["seconds"]
print(f"features benchmark: {rows:,} transactions (handbook data set), {fs}, one thread, I/O excluded")
print(f"  fraudstream ComputeFeatures {s:8.3f} s  {rows / s / 1e6:6.2f} M tx/s  (best of {runs})")
print(f"  pandas, handbook ch. 3.3    {ps:8.3f} s  {peer['rows'] / ps / 1e6:6.3f} M tx/s")
print(f"  ratio                       {ps / s:8.0f} x")
PY
