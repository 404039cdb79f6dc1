#!/usr/bin/python3
"""`fraudstream monitor` and `fraudstream stream --max-rate` on the genuine Apache Kafka broker
at $FRAUDSTREAM_TEST_KAFKA (docs/REAL_KAFKA.md), fresh topics and group.

    monitor_kafka_test.py FRAUDSTREAM

One worker throttled with `stream --max-rate 200` on a 2-partition input topic while
`replay` sends 400 messages/s for 8 s; `monitor --json --interval 500ms` watches the group.
Checks:
  - the group's status goes to WARN while the replay runs (lag grows across the window), and
    back to OK once the replay ended and the worker caught up (lag 0);
  - the processing rate during the backlog (least-squares slope of the committed offsets in
    monitor's samples) is within 10 % of 200/s;
  - a second replay, the worker SIGKILLed with lag left: a partition goes to STOP, the group to
    ERR, and monitor's lag equals the lag an independent client (python3-confluent-kafka)
    reads from the broker.
Every status change has an alert event; every alert names a change from the status the
previous sample showed. Both processes run with `--metrics-port 0`: once caught up, the
worker's /metrics counts every message sent as scored or invalid and shows no lag; at STOP,
monitor's /metrics shows the same lag as the independent client, the partition STOP (3) and
the group ERR (2). Exits 0 when every check passed; prints each failure.
"""

import json
import os
import signal
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(here, "..", "stream"), os.path.join(here, "..", "metrics")]
import real_kafka_test as rk  # noqa: E402  (helpers: model, topics, worker, replay)
from real_kafka_test import check, log  # noqa: E402
from scrape import family, metrics_port, scrape  # noqa: E402

MAX_RATE = 200
INPUT_RATE = 400
INTERVAL_S = 0.5


class Monitor:
    def __init__(self, bin_path, tmp, brokers, group, topic):
        self.path = os.path.join(tmp, "monitor.out")
        self.err_path = os.path.join(tmp, "monitor.err")
        with open(self.path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(
                [bin_path, "monitor", "--brokers", brokers, "--group", group, "--topic", topic,
                 "--interval", f"{int(INTERVAL_S * 1000)}ms", "--json", "--seconds", "120",
                 "--metrics-port", "0", "--track", "--registry", os.path.join(tmp, "registry.db")],
                stdout=out, stderr=err)

    def events(self):
        with open(self.path) as f:
            return [json.loads(line) for line in f if line.startswith("{")]

    def samples(self):
        return [e for e in self.events() if e["event"] == "sample"]

    def wait_for(self, what, predicate, timeout):
        """The first sample after now that satisfies predicate, or None after timeout."""
        start_ms = time.time() * 1000
        deadline = time.time() + timeout
        while time.time() < deadline:
            for s in self.samples():
                if s["time_ms"] >= start_ms and predicate(s):
                    return s
            check(self.proc.poll() is None, f"monitor exited {self.proc.returncode} waiting for "
                                            f"{what}: {open(self.err_path).read()[-2000:]}")
            if self.proc.poll() is not None:
                return None
            time.sleep(0.2)
        check(False, f"no sample with {what} within {timeout} s; last: "
                     f"{(self.samples() or [None])[-1]}")
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(30)
        check(rc == 0, f"monitor exited {rc}: {open(self.err_path).read()[-2000:]}")


def slope(points):
    """Least-squares slope of (seconds, value) points."""
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    return (sum((t - mx) * (v - my) for t, v in points) /
            sum((t - mx) ** 2 for t, _ in points))


def check_alerts(events):
    """Each alert moves from the status the previous sample showed to the one the next shows."""
    last = {}  # scope key -> status
    pending = []
    for e in events:
        if e["event"] == "alert":
            key = e.get("partition", "group")
            check(last.get(key, "OK") == e["from"],
                  f"alert {e} does not start from the previous status {last.get(key, 'OK')}")
            pending.append(e)
        else:
            for a in pending:
                key = a.get("partition", "group")
                now = e["status"] if key == "group" else e["partitions"][key]["status"]
                check(now == a["to"], f"alert {a} but the sample says {now}")
            pending = []
            last["group"] = e["status"]
            for p in e["partitions"]:
                last[p["partition"]] = p["status"]
    for s1, s2 in zip([e for e in events if e["event"] == "sample"],
                      [e for e in events if e["event"] == "sample"][1:]):
        if s1["status"] != s2["status"]:
            check(any(a["event"] == "alert" and "partition" not in a and a["to"] == s2["status"]
                      and a["time_ms"] == s2["time_ms"] for a in events),
                  f"the group went {s1['status']} -> {s2['status']} at {s2['time_ms']} "
                  f"without an alert")


def check_tracked_run(bin_path, registry, samples):
    """--track: one finished run in experiment monitor whose lag series has a value per sample
    (step = seconds since the start) ending with the last sample's lag."""
    run = rk.tracked_run(bin_path, registry, "monitor")
    if run is None:
        return
    check(run["status"] == "FINISHED", f"tracked run status {run['status']}")
    lags = [m for m in run["metric_history"] if m["key"] == "lag"]
    check(len(lags) == len(samples), f"{len(lags)} lag values tracked for {len(samples)} samples")
    check(run["metrics"].get("lag") == samples[-1]["lag"],
          f"tracked lag {run['metrics'].get('lag')}, last sample {samples[-1]['lag']}")
    rates = [m for m in run["metric_history"] if m["key"] == "processed_tps"]
    check(any(m["value"] > 0 for m in rates), "no processed_tps above 0 tracked")
    log(f"tracked run: {len(lags)} samples, steps {lags[0]['step']}..{lags[-1]['step']}")


def scenario(bin_path, tmp, brokers):
    suffix = f"monitor-{os.getpid()}-{time.time_ns() // 1000000}"
    topics = {"input": f"transactions-input-{suffix}", "predictions": f"fraud-predictions-{suffix}",
              "dlq": f"transactions-dlq-{suffix}"}
    group = f"fraud-detection-group-{suffix}"
    rk.create_topics(brokers, {topics["input"]: 2, topics["predictions"]: 2, topics["dlq"]: 1})
    worker = monitor = replay = None
    try:
        data, model, _ = rk.make_model(bin_path, tmp, customers=100)
        monitor = Monitor(bin_path, tmp, brokers, group, topics["input"])
        worker = rk.Worker(bin_path, tmp, "worker", brokers, model, topics, group,
                           extra=["--max-rate", str(MAX_RATE), "--metrics-port", "0"])
        # 0. A few messages, so that the worker has joined and committed on every partition
        # before the test starts (a group join takes seconds).
        check(subprocess.run([bin_path, "replay", data, "--brokers", brokers, "--topic",
                              topics["input"], "--rate", "max", "--limit", "50", "-q"],
                             stdout=subprocess.DEVNULL).returncode == 0, "priming replay failed")
        if monitor.wait_for("the worker's first commits", lambda s: s["lag"] == 0 and all(
                p["committed"] > 0 for p in s["partitions"]), timeout=30) is None:
            return
        # 1. Faster in than out: lag grows, WARN.
        sent = INPUT_RATE * 8
        replay_started = time.time() * 1000
        replay = subprocess.Popen([bin_path, "replay", data, "--brokers", brokers, "--topic",
                                   topics["input"], "--rate", str(INPUT_RATE), "--limit",
                                   str(sent), "--json", "-q"], stdout=subprocess.PIPE)
        warn = monitor.wait_for("group WARN", lambda s: s["status"] == "WARN", timeout=20)
        out, _ = replay.communicate(timeout=60)
        replay_ended = time.time() * 1000
        check(replay.returncode == 0, f"replay exited {replay.returncode}")
        check(json.loads(out.decode().strip().splitlines()[-1])["sent"] == sent, "replay summary")
        if warn is not None:
            check(warn["time_ms"] <= replay_ended, "WARN came only after the replay ended")
            log(f"WARN at lag {warn['lag']}, {(warn['time_ms'] - replay_started) / 1000:.1f} s "
                f"after the replay started")
        # 2. The producer stopped: the worker catches up at its throttled rate, OK at lag 0.
        caught_up = monitor.wait_for("lag 0 and OK",
                                     lambda s: s["lag"] == 0 and s["status"] == "OK", timeout=30)
        if caught_up is not None:
            log(f"caught up {(caught_up['time_ms'] - replay_ended) / 1000:.1f} s after the replay")
            events = monitor.events()
            check(any(e["event"] == "alert" and "partition" not in e and e["from"] == "WARN"
                      and e["to"] == "OK" for e in events), "no group alert WARN -> OK")
            # The worker's own figures: every message sent taken, no lag left (its lag gauge is
            # refreshed once a second).
            port = metrics_port(worker.err_path, worker.proc)
            if check(port is not None, "no metrics address from the worker"):
                deadline = time.time() + 5
                while True:
                    m = scrape(port)
                    lags = family(m, "fraudstream_stream_lag_messages")
                    if (lags and sum(lags.values()) == 0) or time.time() > deadline:
                        break
                    time.sleep(0.5)
                taken = sum(family(m, "fraudstream_stream_messages_total").values())
                scored = m.get('fraudstream_stream_messages_total{result="scored"}', -1)
                check(taken == 50 + sent, f"worker /metrics: {taken} messages taken, sent "
                                          f"{50 + sent}")
                check(sum(family(m, "fraudstream_predictions_total").values()) == scored,
                      f"worker /metrics: predictions {family(m, 'fraudstream_predictions_total')}"
                      f" for {scored} scored")
                check(len(lags) == 2 and sum(lags.values()) == 0,
                      f"worker /metrics: lag {lags} after catching up")
                log(f"worker /metrics: {taken:.0f} taken, lag {sum(lags.values()):.0f}")
            # Processing rate while a backlog was there (every partition committed, lag > 2 s of
            # work): the slope of the committed offsets.
            backlog = [s for s in events if s["event"] == "sample"
                       and all(p["committed"] >= 0 for p in s["partitions"])
                       and s["lag"] > 2 * MAX_RATE and s["time_ms"] < caught_up["time_ms"]]
            if check(len(backlog) >= 10, f"only {len(backlog)} samples with a backlog"):
                points = [(s["time_ms"] / 1000, sum(p["committed"] for p in s["partitions"]))
                          for s in backlog]
                rate = slope(points)
                log(f"processing rate with a backlog: {rate:.1f} msg/s over "
                    f"{points[-1][0] - points[0][0]:.1f} s (--max-rate {MAX_RATE})")
                check(abs(rate - MAX_RATE) <= 0.1 * MAX_RATE,
                      f"processing rate {rate:.1f}/s is not within 10 % of --max-rate {MAX_RATE}")
                inputs = [s["input_rate"] for s in backlog if s["time_ms"] < replay_ended - 1000]
                check(max(inputs, default=0) > 1.5 * MAX_RATE,
                      f"input rates {inputs}: the replay was not faster than the worker")
        # 3. More input, the worker SIGKILLed with lag left: STOP, group ERR.
        replay = subprocess.Popen([bin_path, "replay", data, "--brokers", brokers, "--topic",
                                   topics["input"], "--rate", str(INPUT_RATE), "--limit",
                                   str(INPUT_RATE * 2), "-q"], stdout=subprocess.DEVNULL)
        check(replay.wait(60) == 0, "second replay failed")
        worker.kill()
        killed = time.time()
        stop = monitor.wait_for("a partition STOP", lambda s: s["status"] == "ERR" and any(
            p["status"] == "STOP" for p in s["partitions"]), timeout=20)
        if stop is not None:
            log(f"STOP {time.time() - killed:.1f} s after SIGKILL, lag {stop['lag']}")
            check(stop["lag"] > 0, "STOP without lag")
            check(stop["processing_rate"] == 0, f"processing rate {stop['processing_rate']} "
                                                f"after the kill")
            independent = rk.committed_lag(brokers, group, topics["input"])
            check(stop["lag"] == independent,
                  f"monitor's lag {stop['lag']}, the broker's {independent}")
            port = metrics_port(monitor.err_path, monitor.proc)
            if check(port is not None, "no metrics address from monitor"):
                m = scrape(port)
                labels = f'group="{group}",topic="{topics["input"]}"'
                lags = family(m, "fraudstream_consumer_lag_messages")
                statuses = family(m, "fraudstream_consumer_partition_status")
                check(m.get(f"fraudstream_consumer_group_lag_messages{{{labels}}}") == independent,
                      f"monitor /metrics: group lag "
                      f"{m.get(f'fraudstream_consumer_group_lag_messages{{{labels}}}')}, "
                      f"the broker's {independent}")
                check(len(lags) == 2 and sum(lags.values()) == independent,
                      f"monitor /metrics: partition lags {lags}, the broker's {independent}")
                check(m.get(f"fraudstream_consumer_group_status{{{labels}}}") == 2,
                      f"monitor /metrics: group status "
                      f"{m.get(f'fraudstream_consumer_group_status{{{labels}}}')}, not ERR (2)")
                check(3 in statuses.values(), f"monitor /metrics: no partition STOP (3): "
                                              f"{statuses}")
                log(f"monitor /metrics: lag {lags}, statuses {statuses}")
            check(any(e["event"] == "alert" and e.get("partition") is not None and e["to"] == "STOP"
                      for e in monitor.events()), "no partition alert to STOP")
        monitor.stop()
        check_alerts(monitor.events())
        check_tracked_run(bin_path, os.path.join(tmp, "registry.db"), monitor.samples())
    finally:
        for proc in (worker.proc if worker else None, monitor.proc if monitor else None, replay):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        rk.delete_topics(brokers, list(topics.values()))


def main():
    bin_path = os.path.abspath(sys.argv[1])
    brokers = rk.test_brokers()
    if not brokers:
        return 1
    return rk.run("monitor test", lambda tmp: scenario(bin_path, tmp, brokers))


if __name__ == "__main__":
    sys.exit(main())
