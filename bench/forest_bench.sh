#!/usr/bin/env bash
# Forest evaluator benchmark: our evaluator (model/forest.h) against XGBoost's own in-place
# predict (XGBoosterPredictFromDense, Debian libxgboost-dev) on the same models, the same rows
# and the same cores, in one run (bench/forest_bench.cc). Models: the default model of
# `fraudstream train` on the handbook data set (seed 0), and three trained by the benchmark on
# its fraudstream-v2 features: GBDT 100 x depth 6, GBDT 300 x depth 6, random forest 100 x
# depth 16. Prints batch (1 thread, all threads) and one-row figures with ratios.
#   bench/forest_bench.sh [path/to/build]      (default: build)
# Env: BENCH_DIR (default bench-out), BENCH_SECONDS (per measurement, default 1),
# BENCH_CLOCK (wall or cpu: process CPU time for the 1-thread figures, default wall).
set -euo pipefail
build=$(realpath "${1:-build}")
bin="$build/fraudstream"
dir=${BENCH_DIR:-bench-out}
mkdir -p "$dir/forest_models"
data="$dir/handbook_seed0.csv"
model="$dir/forest_default_model"

if [[ ! -s "$data" ]]; then
  echo "generating $data (handbook defaults, seed 0)..." >&2
  "$bin" generate --seed 0 --format csv --out "$data" -q
fi
if [[ ! -s "$model/model.json" || "$bin" -nt "$model/model.json" ]]; then
  echo "training the default model into $model..." >&2
  FRAUDSTREAM_REGISTRY="$dir/registry.db" "$bin" train --data "$data" --out "$model" > /dev/null
fi
"$build/bench/forest_bench" --data "$data" --model "$model" --cache "$dir/forest_models" \
  --seconds "${BENCH_SECONDS:-1}" --clock "${BENCH_CLOCK:-wall}"
