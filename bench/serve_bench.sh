#!/usr/bin/env bash
# REST benchmark (issue 8): `fraudstream serve` POST /v1/predict against a FastAPI + uvicorn +
# XGBoost peer (bench/fastapi_peer.py) with the same model, the same body, the same clients, in
# the same run, on 2 cores that server and client share. Prints each figure, the peer's, and the
# ratio.
#   bench/serve_bench.sh [path/to/build]      (default: build)
#
# Data: `generate --format csv --seed 7 --customers 2000 --terminals 4000 --days 60` (~229 k
# transactions); model: `train --feature-set handbook-v1` on it (15 features: the peer can
# score them), served with `--warm-up` of the same file. The body is one transaction just after
# the data's end, with "dry_run": true: each request computes the features from the warmed
# state and scores, but records nothing, so the same body can be sent for ever without the
# customer's windows growing (and every request costs the same). It also carries the 12 window
# features that ours computed for it (?explain=true, once, before the runs): ours ignores the
# unknown key, the peer (which keeps no state) takes them from there.
#   saturation  wrk -t1 -c32 -d10s --latency -s bench/serve_predict.lua (keep-alive): req/s
#               and p99, for ours (--threads 0: one I/O thread per core) and for the peer
#               (uvicorn, 1 worker)
#   paced       bench/serve_paced_client (cpp-httplib, open loop, 8 keep-alive connections,
#               latency from the scheduled send time): ours at 5,000 req/s for 10 s, the peer at
#               half the rate wrk got from it
# Env: BENCH_DIR (default bench-out), SERVE_BENCH_SECONDS (default 10), SERVE_BENCH_CONNECTIONS
# (wrk -c, default 32), SERVE_BENCH_RATE (default 5000), PEER_RATE (default: half the peer's
# wrk figure), SERVE_PACED_CLIENT (default BUILD/bench/serve_paced_client), SERVE_THREADS (serve
# --threads, default 0: one I/O thread per core).
set -euo pipefail
build=$(realpath "${1:-build}")
bin="$build/fraudstream"
here=$(cd "$(dirname "$0")" && pwd)
dir=${BENCH_DIR:-bench-out}
out="$dir/serve"
seconds=${SERVE_BENCH_SECONDS:-10}
connections=${SERVE_BENCH_CONNECTIONS:-32}
rate=${SERVE_BENCH_RATE:-5000}
threads=${SERVE_THREADS:-0}
paced=${SERVE_PACED_CLIENT:-$build/bench/serve_paced_client}
py=/usr/bin/python3
mkdir -p "$out"
data="$out/data.csv"
model="$out/model"
results="$out/results.jsonl"
: > "$results"
[[ -x "$paced" ]] || { echo "serve_bench: $paced missing (build with FRAUD_BUILD_BENCH=ON)" >&2; exit 1; }

if [[ ! -s "$data" ]]; then
  "$bin" generate --format csv --seed 7 --customers 2000 --terminals 4000 --days 60 --out "$data" -q
fi
if [[ ! -s "$model/fraudstream.json" || "$data" -nt "$model/fraudstream.json" ]]; then
  "$bin" train --data "$data" --out "$model" --feature-set handbook-v1 --threads 2 \
    --registry "$out/registry.db" --json > "$out/train.json"
fi

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""; }
wait_healthy() {  # PORT
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$1/${2:-healthz}" > /dev/null && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "serve_bench: the server on port $1 did not come up" >&2
  exit 1
}

# record NAME JSON: one line {"name": NAME, ...JSON, "load": ...} in $results.
record() {
  "$py" -c 'import json,sys; d={"name": sys.argv[1], **json.loads(sys.argv[2]), "load": sys.argv[3]}; print(json.dumps(d))' \
    "$1" "$2" "$(cut -d' ' -f1-3 /proc/loadavg)" >> "$results"
}
# The server's CPU time so far (user + system, clock ticks).
server_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
saturate() {  # NAME PORT
  local json before
  before=$(server_ticks)
  json=$(SERVE_BENCH_BODY="$out/body.json" wrk -t1 -c"$connections" -d"${seconds}s" --latency \
    -s "$here/serve_predict.lua" "http://127.0.0.1:$2/v1/predict" | tee "$out/wrk-$1.txt" | tail -1)
  json=${json%\}}", \"server_cpu_s\": $(awk "BEGIN{print ($(server_ticks) - $before) / $(getconf CLK_TCK)}")}"
  record "$1" "$json"
}
pace() {  # NAME PORT RATE
  local json
  json=$("$paced" --port "$2" --body "$out/body.json" --rate "$3" --seconds "$seconds" --connections 8)
  record "$1" "$json"
}

# Ours.
port=$(free_port)
"$bin" serve --host 127.0.0.1 --port "$port" --model "$model" --threads "$threads" --warm-up "$data" \
  > /dev/null 2> "$out/serve.err" &
server_pid=$!
wait_healthy "$port" readyz
# The body: one transaction after the data's end, dry run, with the window features ours computes.
"$py" - "$data" "http://127.0.0.1:$port/v1/predict?explain=true" > "$out/body.json" <<'PY'
import csv, json, sys, urllib.request
last = list(csv.DictReader(open(sys.argv[1])))[-1]
tx = {"transaction_id": int(last["transaction_id"]) + 1000, "tx_datetime": last["tx_datetime"][:11] + "23:59:59",
      "customer_id": int(last["customer_id"]), "terminal_id": int(last["terminal_id"]),
      "tx_amount": float(last["tx_amount"]), "dry_run": True}
req = urllib.request.Request(sys.argv[2], json.dumps(tx).encode(), {"Content-Type": "application/json"})
feats = json.load(urllib.request.urlopen(req))["features"]
tx["features"] = {k: v for k, v in feats.items() if k.startswith(("CUSTOMER_ID_", "TERMINAL_ID_"))}
print(json.dumps(tx))
PY
post() { curl -sf "http://127.0.0.1:$1/v1/predict" -H 'Content-Type: application/json' -d @"$out/body.json"; }
post "$port" > "$out/ours.json"
echo "serve benchmark: $(($(wc -l < "$data") - 1)) transactions warmed up, model handbook-v1, $(nproc) cores," \
  "load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "  ours: wrk -c$connections for ${seconds}s..." >&2
saturate ours "$port"
echo "  ours: paced at $rate req/s for ${seconds}s..." >&2
pace ours-paced "$port" "$rate"
stop_server

# The peer.
port=$(free_port)
"$py" "$here/fastapi_peer.py" --model-dir "$model" --port "$port" > "$out/peer.log" 2>&1 &
server_pid=$!
wait_healthy "$port"
post "$port" > "$out/peer.json"
echo "  peer: wrk -c$connections for ${seconds}s..." >&2
saturate peer "$port"
peer_rate=${PEER_RATE:-$("$py" -c 'import json,sys; d=[json.loads(l) for l in open(sys.argv[1])][-1]; print(max(10, int(d["rate"] / 2 / 10) * 10))' "$results")}
echo "  peer: paced at $peer_rate req/s for ${seconds}s..." >&2
pace peer-paced "$port" "$peer_rate"
stop_server

"$py" - "$results" "$out/ours.json" "$out/peer.json" "$connections" "$seconds" <<'PY'
import json, sys
res = {d["name"]: d for d in map(json.loads, open(sys.argv[1]))}
ours_score, peer_score = json.load(open(sys.argv[2]))["score"], json.load(open(sys.argv[3]))["score"]
o, p, op, pp = res["ours"], res["peer"], res["ours-paced"], res["peer-paced"]
def errors(d):
    e = d["errors"]
    return e if isinstance(e, int) else sum(e.values())
print(f"serve benchmark: POST /v1/predict, one transaction (dry run), model handbook-v1, 2 cores shared "
      f"by server and client")
print(f"  scores of the body: ours {ours_score:.9g}, peer {peer_score:.9g}")
print(f"  {'':46s} {'ours':>22s}   {'FastAPI peer':>22s}   ratio")
print(f"  {f'wrk -t1 -c{sys.argv[4]} -d{sys.argv[5]}s, req/s':46s} {o['rate']:22,.0f}   {p['rate']:22,.0f}   "
      f"{o['rate'] / p['rate']:6.0f}x")
print(f"  {'  server CPU per request, µs (cores used)':46s} "
      f"{o['server_cpu_s'] / o['requests'] * 1e6:14.1f} ({o['server_cpu_s'] / o['seconds']:4.2f})   "
      f"{p['server_cpu_s'] / p['requests'] * 1e6:14.0f} ({p['server_cpu_s'] / p['seconds']:4.2f})")
print(f"  {'  p50 / p99 ms at saturation':46s} {o['p50_ms']:10.3f} / {o['p99_ms']:9.3f}   "
      f"{p['p50_ms']:10.1f} / {p['p99_ms']:9.1f}")
print(f"  {'paced, 8 connections: target req/s':46s} {op['target_rate']:22,.0f}   {pp['target_rate']:22,.0f}")
print(f"  {'  achieved req/s':46s} {op['rate']:22,.1f}   {pp['rate']:22,.1f}")
print(f"  {'  p50 / p99 / p99.9 ms from the scheduled send':46s} "
      f"{op['p50_ms']:6.3f} / {op['p99_ms']:6.3f} / {op['p999_ms']:6.3f}   "
      f"{pp['p50_ms']:6.1f} / {pp['p99_ms']:6.1f} / {pp['p999_ms']:6.1f}")
print(f"  errors: ours {errors(o)} + {errors(op)}, peer {errors(p)} + {errors(pp)}; load {o['load']} / {p['load']}")
print("  targets: >= 50,000 req/s and >= 100x the peer; p99 <= 2 ms at 5,000 req/s")
PY
