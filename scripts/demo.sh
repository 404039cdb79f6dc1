#!/usr/bin/env bash
# `make demo`: the loop so far on embedded defaults: generate a handbook-sized data set with
# some dirt, clean it, train a model with the handbook's protocol and evaluate it.
# Outputs go to demo-out/.
set -euo pipefail
bin=${1:-build/fraudstream}
out=demo-out
mkdir -p "$out"

echo "== 1/4 generate: handbook defaults (5,000 customers, 10,000 terminals, 183 days), 0.1% dirty rows"
"$bin" generate --format otus --dirty 0.001 --seed 0 --out "$out/transactions.txt"

echo
echo "== 2/4 clean: rules of DESIGN §1, rejected rows kept with their reason"
"$bin" clean "$out/transactions.txt" --out "$out/transactions.clean.txt" \
  --quarantine "$out/rejected.tsv" --report "$out/quality.json"

echo
echo "== 3/4 train: features, handbook split (train 2018-07-25 + 7 days, 7 days delay, 7 test days)"
"$bin" train --data "$out/transactions.clean.txt" --out "$out/model"

echo
echo "== 4/4 predict: score every transaction with the model"
"$bin" predict --model "$out/model" "$out/transactions.clean.txt" --out "$out/predictions.csv"

echo
echo "Outputs in $out/: transactions.txt (raw) and .faults.jsonl (what was injected),"
echo "transactions.clean.txt, rejected.tsv, quality.json/.txt, model/ (with report.html),"
echo "predictions.csv."
