#!/usr/bin/python3
"""fraudstream's processes against the genuine Apache Kafka broker (docs/REAL_KAFKA.md).

    real_kafka_test.py FRAUDSTREAM restart
        A broker of its own (scripts/kafka-up.sh in a temporary DIR); `fraudstream replay` at a
        steady rate and a `fraudstream stream` worker; the broker is stopped and started again
        on the same DIR and ports mid-run, down for longer than the worker's session timeout;
        the worker reconnects and rejoins its group. At the end every input
        transaction has a prediction, the group has committed everything, no offset reset.
        kcat reads the predictions too.
    real_kafka_test.py FRAUDSTREAM rebalance
        On $FRAUDSTREAM_TEST_KAFKA: one worker while replay runs; a second joins, the first
        leaves (SIGTERM), a third joins, all with --checkpoint-dir. Every transaction has a
        prediction and every prediction, duplicates included, has the score `fraudstream
        predict` gives (the window state moved with the partitions); the workers that took
        partitions over started from snapshots.
    real_kafka_test.py FRAUDSTREAM crash [--mode at-least-once|exactly-once]
        On $FRAUDSTREAM_TEST_KAFKA (fresh topics and group): three workers in one group while
        replay runs at a steady rate; one of them is SIGKILLed at random moments and started
        again. At the end every input transaction has a prediction and no offset was reset.
        at-least-once: the duplicates are counted and must stay within what the killed workers
        had in flight; exactly-once (`stream --exactly-once`, a transactional id per worker
        slot, so a restarted worker fences its predecessor; snapshots in --checkpoint-dir): a
        read_committed reader sees every prediction exactly once, each with the score
        `fraudstream predict` gives.

The independent client is Debian's python3-confluent-kafka (librdkafka underneath, but none of
our code). Exits 0 when every check passed; prints each failure. FRAUDSTREAM_TEST_SEED fixes
the random kill moments; FRAUDSTREAM_TEST_KEEP=1 keeps the temporary directory (the workers'
stderr, the broker's log) and prints where it is.
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from confluent_kafka import Consumer, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KAFKA_UP = os.path.join(ROOT, "scripts", "kafka-up.sh")
KAFKA_DOWN = os.path.join(ROOT, "scripts", "kafka-down.sh")

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL: " + what, flush=True)
    return ok


def log(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def make_model(bin_path, tmp, customers):
    """A small data set and a model trained on it (settings of tests/cli_test.sh)."""
    data = os.path.join(tmp, "data.txt")
    model = os.path.join(tmp, "model")
    env = dict(os.environ, FRAUDSTREAM_REGISTRY=os.path.join(tmp, "registry.db"))
    subprocess.run([bin_path, "generate", "--customers", str(customers), "--terminals",
                    str(2 * customers), "--days", "40", "--seed", "3", "--out", data, "-q"],
                   check=True, env=env)
    subprocess.run([bin_path, "train", "--data", data, "--out", model, "--threads", "1"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    ids = set()
    with open(data) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                ids.add(int(line.split(",", 1)[0]))
    return data, model, ids


bad_predictions_shown = 0


def parse_prediction(value):
    """A prediction (DESIGN §7) as a dict, or None after saying what is wrong with it (the first
    few times)."""
    global bad_predictions_shown
    try:
        p = json.loads(value)
        ok = (isinstance(p["transaction_id"], int) and 0.0 <= p["score"] <= 1.0
              and p["is_fraud"] == (p["score"] >= p["threshold"])
              and time.strptime(p["event_time"], "%Y-%m-%d %H:%M:%S") is not None)
        if ok:
            return p
        problem = "a field out of its range"
    except (ValueError, KeyError, TypeError) as e:
        problem = f"{type(e).__name__}: {e}"
    if bad_predictions_shown < 3:
        bad_predictions_shown += 1
        print(f"not a prediction ({problem}): {value!r}", flush=True)
    return None


def create_topics(brokers, partitions_by_name):
    admin = AdminClient({"bootstrap.servers": brokers, "log_level": 3})
    futures = admin.create_topics(
        [NewTopic(name, n, 1) for name, n in partitions_by_name.items()], request_timeout=30)
    for future in futures.values():
        future.result()
    # Wait until the broker's metadata has every partition with a leader.
    deadline = time.time() + 30
    while time.time() < deadline:
        topics = admin.list_topics(timeout=5).topics
        if all(name in topics and topics[name].error is None
               and len(topics[name].partitions) == n
               and all(p.leader >= 0 for p in topics[name].partitions.values())
               for name, n in partitions_by_name.items()):
            return
        time.sleep(0.1)
    raise RuntimeError(f"topics {list(partitions_by_name)} have no leaders after 30 s")


def test_brokers():
    """$FRAUDSTREAM_TEST_KAFKA, or "" after a failed check saying how to set it."""
    brokers = os.environ.get("FRAUDSTREAM_TEST_KAFKA", "")
    check(bool(brokers), "FRAUDSTREAM_TEST_KAFKA is not set: this test needs a real Apache Kafka "
                         "broker (HOST:PORT). `make test` starts one with scripts/kafka-up.sh; or "
                         "FRAUDSTREAM_TEST_KAFKA=$(scripts/kafka-up.sh) ctest -L integration")
    return brokers


def tracked_run(bin_path, registry, experiment):
    """The one run of `experiment` in the tracking store at `registry`, as `fraudstream runs
    show --json` prints it (metric_history included), or None after a failed check."""
    listed = subprocess.run([bin_path, "runs", "list", "--registry", registry, "--experiment",
                             experiment, "--json"], capture_output=True, text=True)
    runs = json.loads(listed.stdout) if listed.returncode == 0 else []
    if not check(len(runs) == 1, f"{len(runs)} {experiment} runs tracked: {listed.stderr}"):
        return None
    shown = subprocess.run([bin_path, "runs", "show", runs[0]["run_id"], "--registry", registry,
                            "--json"], capture_output=True, text=True)
    if not check(shown.returncode == 0, f"runs show: {shown.stderr}"):
        return None
    return json.loads(shown.stdout)


def fresh_topics(brokers, name, partitions):
    """Input, predictions and DLQ topics and a group of their own for one test run, created
    (the input and predictions with `partitions`): (topics by role, group)."""
    suffix = f"{name}-{os.getpid()}-{time.time_ns() // 1000000}"
    topics = {"input": f"transactions-input-{suffix}", "predictions": f"fraud-predictions-{suffix}",
              "dlq": f"transactions-dlq-{suffix}"}
    create_topics(brokers, {topics["input"]: partitions, topics["predictions"]: partitions,
                            topics["dlq"]: 1})
    return topics, f"fraud-detection-group-{suffix}"


def delete_topics(brokers, names):
    admin = AdminClient({"bootstrap.servers": brokers, "log_level": 3})
    for future in admin.delete_topics(names, request_timeout=30).values():
        try:
            future.result()
        except Exception as e:  # cleanup only
            print(f"note: could not delete a topic: {e}", flush=True)


class Worker:
    """One `fraudstream stream` process; its stdout (the --json summary) and stderr in files."""

    def __init__(self, bin_path, tmp, name, brokers, model, topics, group, extra=()):
        self.name = name
        self.out_path = os.path.join(tmp, f"{name}.out")
        self.err_path = os.path.join(tmp, f"{name}.err")
        self.cmd = [bin_path, "stream", "--brokers", brokers, "--model-dir", model,
                    "--input", topics["input"], "--output", topics["predictions"],
                    "--dlq", topics["dlq"], "--group", group, "--json", *extra]
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=err)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self, timeout=60):
        """SIGTERM, then (exit code, summary or None)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        summary = None
        with open(self.out_path) as f:
            for line in f:
                if line.startswith("{"):
                    summary = json.loads(line)
        return self.proc.returncode, summary

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()


def batch_scores(bin_path, tmp, model, data):
    """`fraudstream predict`'s score of each transaction of data (6 decimals), by id."""
    out = os.path.join(tmp, "predict.csv")
    subprocess.run([bin_path, "predict", "--model", model, data, "--out", out],
                   check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        header = f.readline().strip().split(",")
        tid, score = header.index("transaction_id"), header.index("score")
        return {int(row[tid]): float(row[score])
                for row in (line.strip().split(",") for line in f) if len(row) > score}


def check_scores(bin_path, tmp, model, data, scores, what):
    """Every score (duplicates included) is the one `fraudstream predict` gives on data; returns
    how many transactions had only such scores."""
    reference = batch_scores(bin_path, tmp, model, data)
    differ = sorted(t for t, got in scores.items()
                    if t in reference and any(abs(s - reference[t]) > 1e-6 for s in got))
    check(not differ, f"{what}: {len(differ)} of {len(scores)} transactions have a score that "
                      f"differs from `fraudstream predict` (e.g. " +
                      ", ".join(f"{t}: {scores[t]} vs {reference[t]}" for t in differ[:3]) + ")")
    return len(scores) - len(differ)


def start_replay(bin_path, tmp, data, brokers, topic, rate):
    out = open(os.path.join(tmp, "replay.out"), "w")
    err = open(os.path.join(tmp, "replay.err"), "w")
    return subprocess.Popen([bin_path, "replay", data, "--brokers", brokers, "--topic", topic,
                             "--rate", str(rate), "--json", "-q"], stdout=out, stderr=err)


def replay_summary(tmp, proc, rows):
    rc = proc.wait(300)
    with open(os.path.join(tmp, "replay.out")) as f:
        text = f.read()
    check(rc == 0, f"replay exited {rc}: {text} "
                   f"{open(os.path.join(tmp, 'replay.err')).read()[-2000:]}")
    if rc != 0:
        return None
    summary = json.loads(text.strip().splitlines()[-1])
    check(summary["sent"] == rows and summary["acknowledged"] == rows,
          f"replay sent {summary['sent']}, acknowledged {summary['acknowledged']} of {rows} rows")
    log(f"replay: {summary['sent']} messages, {summary['rate']:.0f} msg/s")
    return summary


def read_predictions(brokers, topic, expected_ids, timeout, committed_only, scores=None):
    """Every prediction's transaction_id, from the beginning, until all of expected_ids are
    there (and 2 s more, for late duplicates), or 30 s without a new one, or timeout seconds;
    a fresh group each time. Every score goes into the dict scores (a list by id, duplicates
    included) when one is given."""
    consumer = Consumer({
        "bootstrap.servers": brokers,
        "group.id": f"checker-{os.getpid()}-{time.time_ns()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed" if committed_only else "read_uncommitted",
        "fetch.wait.max.ms": 10,
        "log_level": 3,
    })
    consumer.subscribe([topic])
    ids = []
    seen = set()
    bad = 0
    deadline = time.time() + timeout
    complete_at = None
    last_message = time.time()
    try:
        while time.time() < deadline:
            if complete_at is not None and time.time() > complete_at + 2:
                break
            if time.time() > last_message + 30:
                break
            message = consumer.poll(0.2)
            if message is None:
                continue
            last_message = time.time()
            if message.error():
                if message.error().code() != KafkaError._PARTITION_EOF:
                    print(f"note: checker: {message.error()}", flush=True)
                continue
            prediction = parse_prediction(message.value())
            if prediction is None:
                bad += 1
                continue
            tid = prediction["transaction_id"]
            if scores is not None:
                scores.setdefault(tid, []).append(prediction["score"])
            ids.append(tid)
            seen.add(tid)
            if complete_at is None and expected_ids <= seen:
                complete_at = time.time()
    finally:
        consumer.close()
    check(bad == 0, f"{bad} messages of {topic} are not predictions")
    return ids


def committed_lag(brokers, group, topic):
    """Messages of topic after the group's committed offsets (all partitions)."""
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": group, "log_level": 3,
                         "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        committed = consumer.committed([TopicPartition(topic, p) for p in partitions],
                                       timeout=10)
        lag = 0
        for tp in committed:
            _, high = consumer.get_watermark_offsets(tp, timeout=10)
            lag += high - max(tp.offset, 0)
        return lag
    finally:
        consumer.close()


def check_predictions(ids, expected_ids, what):
    seen = set(ids)
    missing = expected_ids - seen
    check(not missing, f"{what}: {len(missing)} of {len(expected_ids)} transactions without a "
                       f"prediction (e.g. {sorted(missing)[:5]})")
    check(seen <= expected_ids, f"{what}: predictions for unknown ids {sorted(seen - expected_ids)[:5]}")
    return len(ids) - len(seen)


def kafka_up(directory):
    started = time.time()
    up = subprocess.run([KAFKA_UP, directory], capture_output=True, text=True)
    if up.returncode != 0:
        raise RuntimeError(f"scripts/kafka-up.sh {directory} exited {up.returncode}: {up.stderr}")
    return up.stdout.strip(), time.time() - started


def scenario_restart(args, tmp):
    broker_dir = os.path.join(tmp, "kafka")
    worker = None
    try:
        brokers, seconds = kafka_up(broker_dir)
        log(f"own broker at {brokers}, up in {seconds:.1f} s")
        data, model, expected = make_model(args.fraudstream, tmp, customers=100)
        topics = {"input": "transactions-input", "predictions": "fraud-predictions",
                  "dlq": "transactions-dlq"}  # kafka-up.sh made them
        group = "fraud-detection-group"
        worker = Worker(args.fraudstream, tmp, "worker", brokers, model, topics, group)
        rate = 250
        replay = start_replay(args.fraudstream, tmp, data, brokers, topics["input"], rate)
        time.sleep(4)
        check(replay.poll() is None, "replay ended before the broker restart")
        started = time.time()
        subprocess.run([KAFKA_DOWN, broker_dir], check=True)
        log(f"broker stopped in {time.time() - started:.1f} s")
        # Down for longer than the worker's session timeout (6 s): it must rejoin its group.
        time.sleep(7)
        address, seconds = kafka_up(broker_dir)
        check(address == brokers, f"the broker came back at {address}, not {brokers}")
        log(f"broker up again in {seconds:.1f} s")
        replay_summary(tmp, replay, len(expected))

        ids = read_predictions(brokers, topics["predictions"], expected, 120, False)
        duplicates = check_predictions(ids, expected, "after the broker restart")
        log(f"{len(ids)} predictions, {len(set(ids))} transactions, {duplicates} duplicates")
        rc, summary = worker.stop()
        check(rc == 0, f"the worker exited {rc}: {worker.stderr()[-2000:]}")
        check(summary is not None and summary["offset_resets"] == 0,
              f"worker summary: {summary}")
        check("offset reset" not in worker.stderr(), "the worker reported an offset reset")
        lag = committed_lag(brokers, group, topics["input"])
        check(lag == 0, f"the group's committed offsets are {lag} messages behind the input")

        # A second independent client: kcat reads the topic to its end, JSON lines.
        kcat = subprocess.run(["kcat", "-C", "-b", brokers, "-t", topics["predictions"],
                               "-o", "beginning", "-e", "-q"], capture_output=True, timeout=60)
        check(kcat.returncode == 0, f"kcat exited {kcat.returncode}: {kcat.stderr!r}")
        lines = [line for line in kcat.stdout.split(b"\n") if line.strip()]
        parsed = [parse_prediction(line) for line in lines]
        check(None not in parsed, f"kcat: {parsed.count(None)} lines are not predictions")
        kcat_ids = {p["transaction_id"] for p in parsed if p is not None}
        check(len(lines) >= len(ids), f"kcat read {len(lines)} predictions, the consumer {len(ids)}")
        check(kcat_ids == expected, f"kcat: {len(expected - kcat_ids)} transactions missing")
    finally:
        if worker is not None and worker.proc.poll() is None:
            worker.kill()
        subprocess.run([KAFKA_DOWN, broker_dir])


def scenario_crash(args, tmp):
    brokers = test_brokers()
    if not brokers:
        return
    exactly_once = args.mode == "exactly-once"
    seed = int(os.environ.get("FRAUDSTREAM_TEST_SEED", time.time_ns() % 1000000))
    rng = random.Random(seed)
    log(f"crash test, {args.mode}, seed {seed} (FRAUDSTREAM_TEST_SEED), broker {brokers}")
    topics, group = fresh_topics(brokers, f"crash-{args.mode}", partitions=3)
    workers = {}
    try:
        data, model, expected = make_model(args.fraudstream, tmp, customers=100)
        max_batch = 500

        def start(slot, incarnation):
            extra = ["--max-batch", str(max_batch)]
            if exactly_once:  # a stable id per slot: the restarted worker fences its predecessor
                extra += ["--exactly-once", "--transactional-id", f"{group}-{slot}"]
                # Snapshots every 2 s, on hand-over and at exit: the new owners start from them.
                extra += ["--checkpoint-dir", os.path.join(tmp, "state"),
                          "--checkpoint-interval", "2"]
            return Worker(args.fraudstream, tmp, f"worker{slot}.{incarnation}", brokers, model,
                          topics, group, extra)

        slots = 3
        incarnations = [0] * slots
        for slot in range(slots):
            workers[slot] = start(slot, 0)
        rate = 300
        replay = start_replay(args.fraudstream, tmp, data, brokers, topics["input"], rate)
        finished = []  # killed incarnations
        kills = 0
        time.sleep(3)
        while replay.poll() is None and kills < 4:
            slot = rng.randrange(slots)
            workers[slot].kill()
            finished.append(workers[slot])
            kills += 1
            log(f"SIGKILL worker {slot} (incarnation {incarnations[slot]})")
            time.sleep(rng.uniform(0.2, 1.5))
            incarnations[slot] += 1
            workers[slot] = start(slot, incarnations[slot])
            time.sleep(rng.uniform(1.5, 3.5))
        check(kills >= 3, f"only {kills} kills before the replay ended")
        replay_summary(tmp, replay, len(expected))

        scores = {}
        ids = read_predictions(brokers, topics["predictions"], expected, 120, exactly_once,
                               scores)
        duplicates = check_predictions(ids, expected, f"after {kills} SIGKILLs")
        log(f"{len(ids)} predictions, {len(set(ids))} transactions, {duplicates} duplicates "
            f"after {kills} SIGKILLs ({args.mode})")
        if exactly_once:
            check(duplicates == 0, f"exactly-once: {duplicates} duplicates seen read_committed")
            # Partitions changed hands with every kill; each new owner rebuilt the windows of
            # its customers and terminals, so every score is the one batch predict gives.
            same = check_scores(args.fraudstream, tmp, model, data, scores, "exactly-once")
            log(f"{same} of {len(scores)} transactions scored as `fraudstream predict`")
            # What the kills left in the log: records of aborted transactions, which only a
            # read_uncommitted reader sees (shows that the check above had something to catch).
            everything = read_predictions(brokers, topics["predictions"], expected, 60, False)
            log(f"read_uncommitted: {len(everything)} records, {len(everything) - len(ids)} of "
                f"them from aborted transactions")
        else:
            # A killed worker's duplicates are what it had scored since its last commit (each
            # second) plus the batch in flight.
            bound = kills * (2 * rate + max_batch)
            check(duplicates <= bound, f"{duplicates} duplicates: more than {kills} kills can "
                                       f"explain ({bound})")
        for slot, worker in workers.items():
            rc, summary = worker.stop()
            check(rc == 0, f"worker {worker.name} exited {rc}: {worker.stderr()[-2000:]}")
            check(summary is not None and summary["offset_resets"] == 0,
                  f"worker {worker.name} summary: {summary}")
        for worker in list(workers.values()) + finished:
            check("offset reset" not in worker.stderr(),
                  f"worker {worker.name} reported an offset reset")
        lag = committed_lag(brokers, group, topics["input"])
        check(lag == 0, f"the group's committed offsets are {lag} messages behind the input")
    finally:
        for worker in workers.values():
            if worker.proc.poll() is None:
                worker.kill()
        if os.environ.get("FRAUDSTREAM_TEST_KEEP") != "1":
            delete_topics(brokers, list(topics.values()))


def scenario_rebalance(args, tmp):
    """One worker, a second joins, the first leaves (SIGTERM), a third joins: no transaction
    lost, and every prediction (duplicates included) has `fraudstream predict`'s score, so the
    windows stayed continuous while the partitions moved."""
    brokers = test_brokers()
    if not brokers:
        return
    topics, group = fresh_topics(brokers, "rebalance", partitions=3)
    workers = []
    try:
        data, model, expected = make_model(args.fraudstream, tmp, customers=100)

        def start(name):
            worker = Worker(args.fraudstream, tmp, name, brokers, model, topics, group,
                            ["--max-batch", "200", "--checkpoint-dir",
                             os.path.join(tmp, "state"), "--checkpoint-interval", "2"])
            workers.append(worker)
            log(f"{name} joins")
            return worker

        first = start("first")
        time.sleep(3)
        replay = start_replay(args.fraudstream, tmp, data, brokers, topics["input"], 300)
        time.sleep(4)
        start("second")
        time.sleep(5)
        rc, summary = first.stop()
        log(f"first leaves (SIGTERM): exit {rc}, {summary and summary['predicted']} predicted")
        check(rc == 0, f"the first worker exited {rc}: {first.stderr()[-2000:]}")
        time.sleep(2)
        start("third")
        replay_summary(tmp, replay, len(expected))

        scores = {}
        ids = read_predictions(brokers, topics["predictions"], expected, 120, False, scores)
        duplicates = check_predictions(ids, expected, "after two joins and a leave")
        same = check_scores(args.fraudstream, tmp, model, data, scores,
                            "after two joins and a leave")
        log(f"{len(ids)} predictions, {len(set(ids))} transactions, {duplicates} duplicates, "
            f"{same} of {len(scores)} transactions scored as `fraudstream predict`")
        restored = 0
        for worker in workers[1:]:
            rc, summary = worker.stop()
            check(rc == 0, f"worker {worker.name} exited {rc}: {worker.stderr()[-2000:]}")
            check(summary is not None and summary["offset_resets"] == 0,
                  f"worker {worker.name} summary: {summary}")
            restored += summary["restored"] if summary else 0
        check(restored > 0, "no worker restored customers from the snapshot of a partition it "
                            "took over")
        lag = committed_lag(brokers, group, topics["input"])
        check(lag == 0, f"the group's committed offsets are {lag} messages behind the input")
    finally:
        for worker in workers:
            if worker.proc.poll() is None:
                worker.kill()
        if os.environ.get("FRAUDSTREAM_TEST_KEEP") != "1":
            delete_topics(brokers, list(topics.values()))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("fraudstream")
    parser.add_argument("scenario", choices=["restart", "crash", "rebalance"])
    parser.add_argument("--mode", choices=["at-least-once", "exactly-once"],
                        default="at-least-once")
    args = parser.parse_args()
    args.fraudstream = os.path.abspath(args.fraudstream)
    scenario = {"restart": scenario_restart, "crash": scenario_crash,
                "rebalance": scenario_rebalance}[args.scenario]
    return run(f"{args.scenario} ({args.mode})", lambda tmp: scenario(args, tmp))


def run(name, scenario):
    """Runs scenario(tmp) in a fresh temporary directory (kept with FRAUDSTREAM_TEST_KEEP=1);
    an exception is a failure with its reason. Returns the exit code: 1 if any check failed."""
    started = time.time()
    keep = os.environ.get("FRAUDSTREAM_TEST_KEEP") == "1"
    tmp = tempfile.mkdtemp(prefix="fraudstream_kafka_")
    try:
        scenario(tmp)
    except Exception as e:  # a broken step is a failure with its reason
        check(False, f"{type(e).__name__}: {e}")
    finally:
        if keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    log(f"{name}: {len(failures)} failures in {time.time() - started:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
