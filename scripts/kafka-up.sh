#!/usr/bin/env bash
# Starts the genuine Apache Kafka broker (KRaft, one node: broker and controller) on loopback
# for the tests that need Kafka's own semantics: durability, transactions, restarts
# (docs/REAL_KAFKA.md). Its jars come from Maven Central (scripts/kafka/pom.xml), Java 17 runs
# it. Prints the bootstrap address to export as FRAUDSTREAM_TEST_KAFKA, and writes it to
# DIR/bootstrap (the PID to DIR/pid).
#   scripts/kafka-up.sh [DIR]     start the broker whose data, settings and log are in DIR
#                                 (or find it running: then only prints its address)
#   scripts/kafka-down.sh [DIR]   stop it; kafka-up.sh DIR starts it again with its data, on
#                                 the same ports
# DIR: $FRAUDSTREAM_KAFKA_DIR, else /tmp/fraudstream-kafka-<uid>. Brokers in different DIRs
# coexist (free ports are picked on the first start and kept in DIR/ports).
# Settings: FRAUDSTREAM_KAFKA_LIBS (the jars; build/kafka/libs), FRAUDSTREAM_KAFKA_HEAP (512m),
# FRAUDSTREAM_KAFKA_PARTITIONS (3, for the topics it creates and for new topics),
# FRAUDSTREAM_KAFKA_JAVA_OPTS (-XX:TieredStopAtLevel=1: the client compiler only, which starts
# twice as fast on a small machine; set it empty for benchmarks that need the full JIT).
# Start time: the classes are loaded from a CDS archive (LIBS/kafka.jsa) once a broker has
# written it: the first broker started without one writes it when it stops (kafka-down.sh).
# Creates transactions-input, fraud-predictions and transactions-dlq.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-${FRAUDSTREAM_KAFKA_DIR:-/tmp/fraudstream-kafka-$(id -u)}}
libs=${FRAUDSTREAM_KAFKA_LIBS:-$root/build/kafka/libs}
heap=${FRAUDSTREAM_KAFKA_HEAP:-512m}
partitions=${FRAUDSTREAM_KAFKA_PARTITIONS:-3}
read -r -a java_opts <<<"${FRAUDSTREAM_KAFKA_JAVA_OPTS--XX:TieredStopAtLevel=1}"
topics=(transactions-input fraud-predictions transactions-dlq)
python=/usr/bin/python3  # Debian's python3-confluent-kafka imports only there

fail() {
  echo "kafka-up: $*" >&2
  exit 1
}
command -v java >/dev/null || fail "no java (apt-get install openjdk-17-jre-headless, or run scripts/install-deps.sh)"
command -v kcat >/dev/null || fail "no kcat (apt-get install kcat, or run scripts/install-deps.sh)"
"$python" -c 'import confluent_kafka' 2>/dev/null \
  || fail "no python3-confluent-kafka (apt-get install python3-confluent-kafka, or run scripts/install-deps.sh)"

mkdir -p "$dir" "$(dirname "$libs")"
dir=$(cd "$dir" && pwd)
libs=$(cd "$(dirname "$libs")" && pwd)/$(basename "$libs")

# The jars, once per pom.xml: a stamp holds the pom's checksum. Other scripts may want them at
# the same time, hence the lock.
install_jars() {
  local pom="$root/scripts/kafka/pom.xml" sum
  sum=$(sha256sum "$pom" | cut -d' ' -f1)
  exec 8>"$libs.lock"
  flock 8
  if [[ "$(cat "$libs/.pom-sha256" 2>/dev/null)" != "$sum" ]]; then
    command -v mvn >/dev/null || fail "no mvn (apt-get install maven, or run scripts/install-deps.sh)"
    echo "kafka-up: resolving Apache Kafka's jars from Maven Central into $libs" >&2
    rm -rf "$libs" "$libs.tmp"
    mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$libs.tmp" \
      >"$libs.mvn.log" 2>&1 || { cat "$libs.mvn.log" >&2; fail "mvn could not resolve the jars of $pom"; }
    echo "$sum" >"$libs.tmp/.pom-sha256"
    mv "$libs.tmp" "$libs"
  fi
  exec 8>&-
}

# The PID in DIR/pid if it is this DIR's broker and alive (not a zombie).
running_pid() {
  local pid
  pid=$(cat "$dir/pid" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -q "kafka.Kafka $dir/server.properties" \
    || return 1
  [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]]
}

# Until a metadata request answers, or the broker exits, or 120 s (a loaded 2-core machine).
wait_ready() {
  local address=$1 pid=$2
  for _ in $(seq 240); do
    kcat -L -b "$address" -m 2 >/dev/null 2>&1 && return 0
    if ! running_pid >/dev/null; then
      echo "kafka-up: the broker exited; the end of $dir/server.log:" >&2
      tail -25 "$dir/server.log" >&2
      exit 1
    fi
    sleep 0.5
  done
  fail "the broker (PID $pid) did not answer on $address within 120 s; see $dir/server.log"
}

exec 9>"$dir/.lock"  # one kafka-up (or kafka-down) per DIR at a time
flock 9

if [[ -f "$dir/ports" ]]; then
  read -r port cport <"$dir/ports"
else
  # Two free ports below the ephemeral range (so no client connection takes them while the
  # broker is down for a restart).
  read -r port cport < <("$python" - <<'EOF'
import random, socket
ports = []
while len(ports) < 2:
    p = random.randint(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        ports.append(p)
    except OSError:
        pass
    finally:
        s.close()
print(*ports)
EOF
)
  echo "$port $cport" >"$dir/ports"
fi
address="127.0.0.1:$port"

if pid=$(running_pid && cat "$dir/pid"); then
  wait_ready "$address" "$pid"
  echo "$address"
  exit 0
fi

install_jars

cat >"$dir/server.properties" <<EOF
# Written by scripts/kafka-up.sh on every start: a single-node KRaft cluster for tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
# One replica of everything, including the internal topics.
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# Few partitions for the internal topics (50 by default): quicker to create on a small machine.
offsets.topic.num.partitions=5
transaction.state.log.num.partitions=5
# Topics are created on purpose (kafka-up.sh, the tests), never by a typo.
auto.create.topics.enable=false
num.partitions=$partitions
# A group's first member gets its partitions at once, not after 3 s.
group.initial.rebalance.delay.ms=0
# Flushing is left to the OS (Kafka's defaults, log.flush.interval.* unset): durability comes
# from the log on disk and a clean shutdown (SIGTERM) in the restart tests.
# Few threads: the machines that run the tests have 2 cores.
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
EOF

if [[ ! -f "$dir/data/meta.properties" ]]; then
  [[ -f "$dir/cluster-id" ]] || "$python" -c \
    'import base64, uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))' \
    >"$dir/cluster-id"
  java -Xmx256m -cp "$libs/*" -Dlog4j.configuration="file:$root/scripts/kafka/log4j.properties" \
    kafka.tools.StorageTool format -t "$(cat "$dir/cluster-id")" -c "$dir/server.properties" \
    >"$dir/format.log" 2>&1 || { cat "$dir/format.log" >&2; fail "could not format $dir/data"; }
fi

# Class data sharing: load the classes from the archive, or write one at exit for
# kafka-down.sh to put beside the jars (a JVM that cannot use an archive ignores it).
rm -f "$dir/kafka.jsa"
if [[ -s "$libs/kafka.jsa" ]]; then
  java_opts+=(-XX:SharedArchiveFile="$libs/kafka.jsa")
else
  java_opts+=(-XX:ArchiveClassesAtExit="$dir/kafka.jsa" -Xlog:cds=off)
  echo "$libs/kafka.jsa" >"$dir/jsa-target"
fi

# Its own session, so that Ctrl-C in the shell that started it does not stop it; the locks
# stay here.
setsid java -Xms64m -Xmx"$heap" -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError "${java_opts[@]}" \
  -Djava.awt.headless=true -Dlog4j.configuration="file:$root/scripts/kafka/log4j.properties" \
  -cp "$libs/*" kafka.Kafka "$dir/server.properties" \
  >>"$dir/server.log" 2>&1 </dev/null 8>&- 9>&- &
pid=$!
echo "$pid" >"$dir/pid"
running_pid >/dev/null || { sleep 1; running_pid >/dev/null; } \
  || { tail -25 "$dir/server.log" >&2; fail "the broker did not start"; }
wait_ready "$address" "$pid"

"$python" - "$address" "$partitions" "${topics[@]}" <<'EOF' || fail "could not create the topics"
import sys
from confluent_kafka import KafkaError
from confluent_kafka.admin import AdminClient, NewTopic

address, partitions, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
admin = AdminClient({"bootstrap.servers": address})
futures = admin.create_topics([NewTopic(n, partitions, 1) for n in names], request_timeout=60)
for name, future in futures.items():
    try:
        future.result()
    except Exception as e:  # KafkaException(KafkaError)
        if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            sys.exit(f"kafka-up: topic {name}: {e}")
EOF
echo "$address" >"$dir/bootstrap"
echo "$address"
