#!/usr/bin/env bash
# `make demo`: the loop so far on embedded defaults: generate a handbook-sized data set with
# some dirt, clean it, print the data-quality report. Outputs go to demo-out/.
set -euo pipefail
bin=${1:-build/fraudstream}
out=demo-out
mkdir -p "$out"

echo "== 1/2 generate: handbook defaults (5,000 customers, 10,000 terminals, 183 days), 0.1% dirty rows"
"$bin" generate --format otus --dirty 0.001 --seed 0 --out "$out/transactions.txt"

echo
echo "== 2/2 clean: rules of DESIGN §1, rejected rows kept with their reason"
"$bin" clean "$out/transactions.txt" --out "$out/transactions.clean.txt" \
  --quarantine "$out/rejected.tsv" --report "$out/quality.json"

echo
echo "Outputs in $out/: transactions.txt (raw), transactions.clean.txt, rejected.tsv,"
echo "quality.json and quality.txt (the report above), transactions.txt.faults.jsonl (what was injected)."
