#!/usr/bin/env bash
# Streaming benchmark (issue 6): `fraudstream replay` -> Kafka -> `fraudstream stream` -> Kafka,
# against a bare Kafka hop and the Python peer (bench/peer/python_stream_consumer.py:
# confluent-kafka, consume(500), pandas features, XGBoost's Python predict) in the same run,
# on the same broker build, on the same data and model. Prints each figure, the peer's, and the
# ratio.
#   bench/stream_bench.sh [path/to/build]      (default: build)
#
# Data: the handbook-sized data set (generate --format csv --seed 7: 5,000 customers, 10,000
# terminals, 183 days, 1,738,169 transactions, shared with features_bench.sh); model: `train
# --feature-set handbook-v1` on it (the 15 features the peer computes). Every phase starts a
# fresh broker (`fraudstream broker`, librdkafka's mock cluster, STREAM_PARTITIONS partitions:
# it keeps only ~5 MiB per partition, see KAFKA_MOCK.md, so the replayed rows must fit), and
# the consumer runs live while replay produces:
#   hop        replay --rate max of all rows; a consumer that only counts: bench/kafka_hop (the
#              stream's consumer settings and poll loop, nothing else), and kcat -C as a second
#              opinion; the faster of the two is the bare single hop
#   e2e        replay --rate max of all rows -> stream -> predictions acknowledged
#   e2e-small  the same on the peer's first PEER_MESSAGES rows (like for like with the peer)
#   latency    replay paced at 50 TPS for 20 s, 400 TPS for 15 s, 10,000 TPS for 10 s;
#              p50 / p99 of message timestamp -> prediction produced (the stream's summary)
#   peer       the Python consumer at --rate max on PEER_MESSAGES rows, and paced at 400 TPS
# Throughput runs from the first input message's timestamp (broker, CreateTime set by replay)
# to the consumer's exit (for stream: every prediction acknowledged and offsets committed).
# Env: BENCH_DIR (default bench-out), STREAM_PARTITIONS (default 16), PEER_MESSAGES (default
# 200000), BENCH_RUNS (default 1: best of, for hop and e2e), STREAM_JOIN_WAIT (seconds between
# starting a consumer and the replay, default 8: the group join takes ~3 s),
# STREAM_KAFKA=real (also the hop and end-to-end figures on Apache Kafka: scripts/kafka-up.sh in
# a fresh directory under BENCH_DIR per phase; jars from FRAUDSTREAM_KAFKA_LIBS, else
# BUILD/kafka/libs, fetched from Maven Central by kafka-up.sh when missing).
set -euo pipefail
build=$(realpath "${1:-build}")
bin="$build/fraudstream"
here=$(cd "$(dirname "$0")" && pwd)
dir=${BENCH_DIR:-bench-out}
out="$dir/stream"
partitions=${STREAM_PARTITIONS:-16}
peer_messages=${PEER_MESSAGES:-200000}
runs=${BENCH_RUNS:-1}
join_wait=${STREAM_JOIN_WAIT:-8}
py=/usr/bin/python3
peer="$here/peer/python_stream_consumer.py"
mkdir -p "$out"
data="$dir/handbook_183d.csv"
model="$out/model"
results="$out/results.jsonl"
: > "$results"

if [[ ! -s "$data" ]]; then
  echo "generating $data (handbook defaults: 5,000 customers, 10,000 terminals, 183 days)..." >&2
  "$bin" generate --format csv --seed 7 --out "$data" -q
fi
rows=$(($(wc -l < "$data") - 1))
if [[ ! -s "$model/fraudstream.json" || "$data" -nt "$model/fraudstream.json" ]]; then
  echo "training $model (handbook-v1)..." >&2
  "$bin" train --data "$data" --out "$model" --feature-set handbook-v1 --threads 2 \
    --registry "$out/registry.db" --json > "$out/train.json"
fi

broker_pid="" consumer_pid=""
cleanup() {
  [[ -n "$consumer_pid" ]] && kill "$consumer_pid" 2>/dev/null || true
  [[ -n "$broker_pid" ]] && kill "$broker_pid" 2>/dev/null || true
  [[ $broker_kind == real ]] && "$here/../scripts/kafka-down.sh" "$kafka_dir" || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

# A fresh broker for each phase: the mock (`fraudstream broker`), or with broker_kind=real a
# fresh Apache Kafka (scripts/kafka-up.sh in its own DIR, full JIT, deleted afterwards).
broker_kind=mock
kafka_dir="$(realpath "$out")/kafka"
start_broker() {
  if [[ $broker_kind == real ]]; then
    rm -rf "$kafka_dir"
    brokers=$(FRAUDSTREAM_KAFKA_PARTITIONS=$partitions FRAUDSTREAM_KAFKA_JAVA_OPTS= \
      FRAUDSTREAM_KAFKA_LIBS=${FRAUDSTREAM_KAFKA_LIBS:-$build/kafka/libs} \
      "$here/../scripts/kafka-up.sh" "$kafka_dir")
    # A fresh Kafka loads its transaction coordinator (idempotent producers' PIDs) on first
    # use, ~1 s that would count in the hop: one message to the DLQ topic does it beforehand.
    "$bin" replay "$data" -b "$brokers" --topic transactions-dlq --limit 1 -q > /dev/null
    return
  fi
  rm -f "$out/bootstrap"
  "$bin" broker --partitions "$partitions" --bootstrap-file "$out/bootstrap" > /dev/null \
    2>> "$out/broker.log" &
  broker_pid=$!
  for _ in $(seq 100); do [[ -s "$out/bootstrap" ]] && break; sleep 0.1; done
  brokers=$(cat "$out/bootstrap")
}
stop_broker() {
  if [[ $broker_kind == real ]]; then
    "$here/../scripts/kafka-down.sh" "$kafka_dir"
    rm -rf "$kafka_dir"
    return
  fi
  kill "$broker_pid"
  wait "$broker_pid" 2>/dev/null || true
  broker_pid=""
}

# The earliest message timestamp (ms) of a topic: when replay produced its first message.
first_timestamp() {
  local p
  for ((p = 0; p < partitions; p++)); do
    kcat -C -b "$brokers" -t "$1" -p "$p" -o beginning -c 1 -e -q -f '%T\n' \
      -X fetch.wait.max.ms=10
  done | sort -n | head -1
}

# record NAME KEY=VALUE... : one JSON line in $results.
record() {
  "$py" - "$@" >> "$results" <<'PY'
import json, sys
d = {"name": sys.argv[1]}
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    try: d[k] = json.loads(v)
    except ValueError: d[k] = v
print(json.dumps(d))
PY
}

# replay ARGS...: replay the data set, its JSON summary in $out/replay.json.
replay() { "$bin" replay "$data" -b "$brokers" --json "$@" > "$out/replay.json"; }

# start_consumer COMMAND...: starts the consumer in the background, waits for its group join.
start_consumer() {
  "$@" > "$out/consumer.json" 2> "$out/consumer.err" &
  consumer_pid=$!
  sleep "$join_wait"
}
wait_consumer() {
  local rc=0
  wait "$consumer_pid" || rc=$?
  end_ms=$(now_ms)
  consumer_pid=""
  if [[ $rc -ne 0 ]]; then
    echo "stream_bench: the consumer failed ($rc):" >&2
    tail -5 "$out/consumer.err" >&2
    exit 1
  fi
}

stream_cmd() {  # COUNT [-X key=value...]
  echo "$bin" stream -b "$brokers" --model-dir "$model" --max-messages "$@" --json
}

# Throughput: replay --rate max of COUNT rows into a live consumer.
throughput() {  # NAME COUNT consumer-kind(hop|kcat|stream|peer)
  local name=$1 count=$2 kind=$3
  start_broker
  case $kind in
    hop) start_consumer "$build/bench/kafka_hop" --brokers "$brokers" --count "$count" ;;
    kcat) start_consumer bash -c "kcat -C -b '$brokers' -t transactions-input -o beginning \
            -c $count -q -f '%o\n' -X fetch.wait.max.ms=10 | wc -l" ;;
    stream) start_consumer $(stream_cmd "$count") ;;
    peer) start_consumer "$py" "$peer" run --brokers "$brokers" --model-dir "$model" \
            --max-messages "$count" ;;
  esac
  replay --rate max --limit "$count"
  wait_consumer
  local start_ms
  start_ms=$(first_timestamp transactions-input)
  local consumed
  if [[ $kind == kcat ]]; then
    consumed=$(cat "$out/consumer.json")
  else
    consumed=$("$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("predicted", d["consumed"]))' \
      "$out/consumer.json")
    if [[ $kind == stream ]]; then
      "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["offset_resets"] != 0)' \
        "$out/consumer.json" || { echo "stream_bench: offset resets (data lost)" >&2; exit 1; }
    fi
  fi
  stop_broker
  [[ "$consumed" -eq "$count" ]] || { echo "stream_bench: $name: $consumed of $count" >&2; exit 1; }
  record "$name" count="$count" seconds="$(awk "BEGIN{print ($end_ms - $start_ms) / 1000}")" \
    broker="\"$broker_kind\"" \
    replay="$(cat "$out/replay.json")" consumer="$(cat "$out/consumer.json" | tr -d '\n')" \
    load="\"$(cut -d' ' -f1-3 /proc/loadavg)\""
}

# Latency: replay paced at RATE for SECONDS into a live consumer. Settings "defaults" (paced
# replay linger.ms=2, consumer fetch.wait.max.ms=2: replay.cc / DefaultConsumerSettings) or
# "low" (replay -X linger.ms=2, stream -X fetch.wait.max.ms=1 --linger-ms 1).
latency() {  # NAME RATE SECONDS consumer-kind(stream|peer) settings(defaults|low)
  local name=$1 rate=$2 seconds=$3 kind=$4 settings=$5
  local count=$((rate * seconds)) replay_x=() stream_x=()
  if [[ $settings == low ]]; then
    # linger.ms=1 on the mock gave a p99 of 858 ms (tiny produce batches); 2 does not.
    replay_x=(-X linger.ms=2)
    stream_x=(-X fetch.wait.max.ms=1 --linger-ms 1)
  fi
  start_broker
  if [[ $kind == stream ]]; then
    start_consumer $(stream_cmd "$count" "${stream_x[@]}")
  else
    start_consumer "$py" "$peer" run --brokers "$brokers" --model-dir "$model" \
      --max-messages "$count"
  fi
  replay --rate "$rate" --limit "$count" "${replay_x[@]}"
  wait_consumer
  stop_broker
  record "$name" count="$count" rate="$rate" settings="\"$settings\"" \
    replay="$(cat "$out/replay.json")" consumer="$(cat "$out/consumer.json" | tr -d '\n')"
}

echo "stream benchmark: $rows transactions (handbook data set), model handbook-v1, mock broker," \
  "$partitions partitions, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((i = 0; i < runs; i++)); do
  echo "  bare hop (replay -> kafka_hop), run $((i + 1))..." >&2
  throughput hop "$rows" hop
  echo "  bare hop (replay -> kcat), run $((i + 1))..." >&2
  throughput hop-kcat "$rows" kcat
  echo "  end to end (replay -> stream -> predictions), run $((i + 1))..." >&2
  throughput e2e "$rows" stream
done
echo "  end to end on the peer's $peer_messages rows..." >&2
throughput e2e-small "$peer_messages" stream
for settings in defaults low; do
  for spec in "50 20" "400 15" "10000 10"; do
    read -r rate seconds <<< "$spec"
    echo "  latency at $rate TPS for $seconds s ($settings settings)..." >&2
    latency "latency-$rate-$settings" "$rate" "$seconds" stream "$settings"
  done
done
echo "  Python peer at max rate on $peer_messages rows..." >&2
throughput peer "$peer_messages" peer
echo "  Python peer at 400 TPS for 15 s..." >&2
latency peer-latency-400 400 15 peer defaults

if [[ "${STREAM_KAFKA:-}" == real ]]; then
  broker_kind=real
  for ((i = 0; i < runs; i++)); do
    echo "  Apache Kafka: bare hop, run $((i + 1))..." >&2
    (throughput hop-real "$rows" hop) || echo "stream_bench: the Apache Kafka hop failed" >&2
    echo "  Apache Kafka: end to end, run $((i + 1))..." >&2
    (throughput e2e-real "$rows" stream) || echo "stream_bench: Apache Kafka end to end failed" >&2
  done
  broker_kind=mock
fi

"$py" - "$results" "$partitions" <<'PY'
import json, sys
res = {}
for line in open(sys.argv[1]):
    d = json.loads(line)
    name = d["name"]
    if name in res and "seconds" in d and res[name]["seconds"] <= d["seconds"]:
        continue  # best of the runs
    res[name] = d
tps = lambda d: d["count"] / d["seconds"]
hop, e2e, small, peer = res["hop"], res["e2e"], res["e2e-small"], res["peer"]
kcat = res["hop-kcat"]
best_hop = max(tps(hop), tps(kcat))
print(f"stream benchmark: handbook data set, model handbook-v1, {sys.argv[2]} partitions, 2 cores "
      f"(replay, broker and consumer share them)")
print(f"  {'':52s} {'ours':>20s}   {'peer in the same run':>28s}")
print(f"  {'bare single hop, replay -> kafka_hop, TPS [mock]':52s} {tps(hop):10,.0f} ({hop['count']:,})")
print(f"  {'bare single hop, replay -> kcat, TPS [mock]':52s} {tps(kcat):10,.0f} ({kcat['count']:,})")
print(f"  {'end to end at max rate, TPS [mock]':52s} {tps(e2e):10,.0f} ({e2e['count']:,})"
      f"   {tps(e2e) / best_hop:5.0%} of the bare hop")
print(f"  {'end to end at max rate, peer rows, TPS [mock]':52s} {tps(small):10,.0f} ({small['count']:,})"
      f"   python {tps(peer):8,.0f}  ratio {tps(small) / tps(peer):5.1f}x")
print(f"  {'  (ours on all rows vs the python peer)':52s} {'':20s}   "
      f"{'':16s}ratio {tps(e2e) / tps(peer):5.1f}x")
p = res["peer-latency-400"]["consumer"]
for settings in ("defaults", "low"):
    for rate in (50, 400, 10000):
        d = res[f"latency-{rate}-{settings}"]["consumer"]
        label = f"latency at {rate:,} TPS, p50 / p99 ms, {settings} [mock]"
        line = f"  {label:52s} {d['latency_p50_ms']:8.1f} / {d['latency_p99_ms']:7.1f}"
        if rate == 400:
            line += (f"   python {p['latency_p50_ms']:6.0f} / {p['latency_p99_ms']:5.0f}  p99 ratio "
                     f"{p['latency_p99_ms'] / max(d['latency_p99_ms'], 1e-9):4.0f}x")
        print(line)
if "e2e-real" in res and "hop-real" in res:
    h, r = res["hop-real"], res["e2e-real"]
    print(f"  {'bare single hop, TPS [Apache Kafka]':52s} {tps(h):10,.0f} ({h['count']:,})")
    print(f"  {'end to end at max rate, TPS [Apache Kafka]':52s} {tps(r):10,.0f} ({r['count']:,})"
          f"   {tps(r) / tps(h):5.0%} of the bare hop")
print("  targets: end to end >= 40 % of the bare hop, >= 150,000 TPS and >= 7x the peer; "
      "p99 <= 10 ms at 400 TPS and >= 100x better than the peer")
print(f"  replay achieved: hop {hop['replay']['rate']:,.0f}/s, end to end {e2e['replay']['rate']:,.0f}/s, "
      f"paced " + ", ".join(f"{res[f'latency-{r}-defaults']['replay']['rate']:,.1f}" for r in (50, 400, 10000))
      + f"; load {e2e['load']}; details in {sys.argv[1]}")
PY
