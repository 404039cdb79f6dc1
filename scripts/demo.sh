#!/usr/bin/env bash
# `make demo`: the loop so far on embedded defaults: generate a handbook-sized data set with
# some dirt, clean it, train a model with the handbook's protocol and evaluate it, register and
# promote it, and score the last days as a Kafka stream (embedded broker) with the model the
# registry's alias points at.
# Outputs go to demo-out/.
set -euo pipefail
bin=${1:-build/fraudstream}
out=demo-out
mkdir -p "$out"

echo "== 1/6 generate: handbook defaults (5,000 customers, 10,000 terminals, 183 days), 0.1% dirty rows"
"$bin" generate --format otus --dirty 0.001 --seed 0 --out "$out/transactions.txt"

echo
echo "== 2/6 clean: rules of DESIGN §1, rejected rows kept with their reason"
"$bin" clean "$out/transactions.txt" --out "$out/transactions.clean.txt" \
  --quarantine "$out/rejected.tsv" --report "$out/quality.json"

echo
echo "== 3/6 train: features, handbook split (train 2018-07-25 + 7 days, 7 days delay, 7 test days)"
rm -rf "$out/registry"
"$bin" train --data "$out/transactions.clean.txt" --out "$out/model" \
  --registry "$out/registry/registry.db" --register fraud

echo
echo "== 4/6 predict: score every transaction with the model"
"$bin" predict --model "$out/model" "$out/transactions.clean.txt" --out "$out/predictions.csv"

echo
echo "== 5/6 promote: fraud version 1 -> @Production (the first version has no champion to beat)"
"$bin" promote --registry "$out/registry/registry.db" --model fraud --challenger 1

echo
echo "== 6/6 stream: the last 20,000 transactions through Kafka (embedded broker), scored by fraud@Production"
echo "   (the worker's feature state warmed up with the history before them)"
head -n -20000 "$out/transactions.clean.txt" >"$out/history.txt"
tail -n 20000 "$out/transactions.clean.txt" >"$out/live.txt"
rm -f "$out/bootstrap"
"$bin" broker --bootstrap-file "$out/bootstrap" >/dev/null 2>"$out/broker.log" &
broker=$!
trap 'kill $broker 2>/dev/null || true' EXIT
for _ in $(seq 100); do [[ -s "$out/bootstrap" ]] && break; sleep 0.1; done
brokers=$(cat "$out/bootstrap")
"$bin" stream --brokers "$brokers" --model fraud@Production --registry "$out/registry/registry.db" \
  --warm-up "$out/history.txt" --idle-exit 5 --json >"$out/stream.json" 2>"$out/stream.log" &
stream=$!
# Live traffic: sent once the worker is up and has joined its group, at 4,000 msg/s.
for _ in $(seq 600); do grep -q "^fraudstream stream:" "$out/stream.log" && break; sleep 0.1; done
sleep 4
"$bin" replay "$out/live.txt" --brokers "$brokers" --rate 4000 -q
wait $stream || { cat "$out/stream.log"; exit 1; }
grep -v '^\s*$' "$out/stream.log" | head -1
python3 - "$out/stream.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print("stream: %d predicted by version %s, %d to the DLQ, latency p50 %.0f ms, p99 %.0f ms"
      % (d["predicted"], d["model_version"], d["dead_lettered"], d["latency_p50_ms"],
         d["latency_p99_ms"]))
EOF
kill $broker 2>/dev/null || true

echo
echo "Outputs in $out/: transactions.txt (raw) and .faults.jsonl (what was injected),"
echo "transactions.clean.txt, rejected.tsv, quality.json/.txt, model/ (with report.html),"
echo "predictions.csv, registry/ (runs, models, aliases), stream.json (the stream's summary)."
