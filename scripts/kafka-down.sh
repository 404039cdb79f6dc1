#!/usr/bin/env bash
# Stops the broker of scripts/kafka-up.sh by its PID: SIGTERM (a clean shutdown: the log is
# flushed, so kafka-up.sh DIR starts it again with all its data), then SIGKILL after 60 s.
#   scripts/kafka-down.sh [DIR]          DIR as for kafka-up.sh
#   scripts/kafka-down.sh --kill [DIR]   SIGKILL at once (a crash)
# Silent when nothing runs.
set -euo pipefail
signal=TERM
if [[ "${1:-}" == "--kill" ]]; then
  signal=KILL
  shift
fi
dir=${1:-${FRAUDSTREAM_KAFKA_DIR:-/tmp/fraudstream-kafka-$(id -u)}}
[[ -d "$dir" ]] || exit 0
dir=$(cd "$dir" && pwd)

# Alive and this DIR's broker (a recycled PID is left alone; a zombie counts as gone).
alive() {
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q "kafka.Kafka $dir/server.properties" \
    && [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]
}

exec 9>"$dir/.lock"
flock 9
pid=$(cat "$dir/pid" 2>/dev/null || true)
if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid"; then
  kill -"$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 600); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    echo "kafka-down: the broker (PID $pid) did not stop in 60 s: SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
      alive "$pid" || break
      sleep 0.1
    done
  fi
fi
rm -f "$dir/pid"

# A class-data archive the broker wrote at exit (kafka-up.sh) goes beside the jars, for every
# broker after it; copied under a temporary name first, as brokers may be reading the target.
target=$(cat "$dir/jsa-target" 2>/dev/null || true)
if [[ -s "$dir/kafka.jsa" && -n "$target" && -d "$(dirname "$target")" && ! -e "$target" ]]; then
  cp "$dir/kafka.jsa" "$target.$$" && mv -n "$target.$$" "$target"
  rm -f "$target.$$"
fi
rm -f "$dir/kafka.jsa" "$dir/jsa-target"
