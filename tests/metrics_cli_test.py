#!/usr/bin/python3
"""`--metrics-port` of `fraudstream stream` and `fraudstream monitor`, as processes, on the
embedded broker (librdkafka's mock cluster, `fraudstream broker`):

    metrics_cli_test.py FRAUDSTREAM

A 2-partition input topic gets N transactions; a worker (`stream --metrics-port 0`) scores
them while `monitor --metrics-port 0` watches the group. Checks, on GET /metrics of each:
  - the worker: N messages scored, as many predictions (fraud + legit), lag 0 per partition,
    its model at 1, and the whole text accepted by `promtool check metrics`;
  - the monitor: the log-end offsets sum to N, the group commits all N, lag 0, status OK;
  - a --metrics-port already in use is an error (exit code, one line), not a silent start.
Exits 0 when every check passed; prints each failure.
"""

import os
import signal
import subprocess
import sys
import time

src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
sys.path[:0] = [os.path.join(src, "stream"), os.path.join(src, "metrics")]
import real_kafka_test as rk  # noqa: E402  (helpers: model, check, log)
from real_kafka_test import check, log  # noqa: E402
from scrape import family, get, metrics_port, parse  # noqa: E402

N = 2000


def wait_for(what, port, predicate, timeout=60):
    """The first scrape that satisfies predicate, or None (a failure) after timeout."""
    deadline = time.time() + timeout
    m = {}
    while time.time() < deadline:
        m = parse(get(port))
        if predicate(m):
            return m
        time.sleep(0.3)
    check(False, f"no /metrics with {what} within {timeout} s; last: "
                 f"{ {k: v for k, v in m.items() if k.startswith('fraudstream')} }")
    return None


def scenario(bin_path, tmp):
    procs = []

    def start(name, args):
        out = open(os.path.join(tmp, f"{name}.out"), "w")
        err_path = os.path.join(tmp, f"{name}.err")
        proc = subprocess.Popen([bin_path, *args], stdout=out, stderr=open(err_path, "w"))
        procs.append(proc)
        return proc, err_path

    try:
        data, model, _ = rk.make_model(bin_path, tmp, customers=100)
        broker, _ = start("broker", ["broker", "--partitions", "2",
                                     "--bootstrap-file", os.path.join(tmp, "bootstrap")])
        deadline = time.time() + 30
        while not os.path.exists(os.path.join(tmp, "bootstrap")) and time.time() < deadline:
            time.sleep(0.1)
        brokers = open(os.path.join(tmp, "bootstrap")).read().strip()
        check(subprocess.run([bin_path, "replay", data, "--brokers", brokers, "--rate", "max",
                              "--limit", str(N), "-q"], stdout=subprocess.DEVNULL).returncode == 0,
              "replay failed")
        worker, worker_err = start("worker", ["stream", "--brokers", brokers, "--model-dir", model,
                                              "--metrics-port", "0", "--json"])
        monitor, monitor_err = start("monitor", ["monitor", "--brokers", brokers, "--interval",
                                                 "200ms", "--metrics-port", "0", "--json"])
        wport = metrics_port(worker_err, worker)
        mport = metrics_port(monitor_err, monitor)
        if not check(wport is not None and mport is not None,
                     f"no metrics address: {open(worker_err).read()[-1000:]} "
                     f"{open(monitor_err).read()[-1000:]}"):
            return

        # The worker.
        scored = 'fraudstream_stream_messages_total{result="scored"}'
        m = wait_for(f"{N} scored and lag 0", wport, lambda m: m.get(scored) == N and len(
            family(m, "fraudstream_stream_lag_messages")) == 2 and sum(
            family(m, "fraudstream_stream_lag_messages").values()) == 0)
        if m is not None:
            predictions = family(m, "fraudstream_predictions_total")
            check(sum(predictions.values()) == N, f"predictions {predictions} for {N} scored")
            check(m.get('fraudstream_stream_messages_total{result="invalid"}') == 0,
                  "invalid messages counted")
            check(m.get("fraudstream_stream_latency_seconds_count") == N, "latency count")
            info = family(m, "fraudstream_model_info")
            check(len(info) == 1 and list(info.values()) == [1] and
                  f'name="{model}"' in list(info)[0], f"model info {info}")
            check(m.get("process_resident_memory_bytes", 0) > 0, "no process metrics")
            log(f"worker /metrics: {m[scored]:.0f} scored, predictions {predictions}")
        promtool = subprocess.run(["promtool", "check", "metrics"], input=get(wport).encode(),
                                  capture_output=True)
        check(promtool.returncode == 0,
              f"promtool rejects the worker's /metrics: {promtool.stdout} {promtool.stderr}")

        # The monitor.
        committed = "fraudstream_consumer_committed_offset"
        m = wait_for("the group's commits of every message", mport, lambda m: sum(
            family(m, committed).values()) == N and sum(
            family(m, "fraudstream_consumer_lag_messages").values()) == 0 and m.get(
            'fraudstream_consumer_group_status{group="fraud-detection-group",'
            'topic="transactions-input"}') == 0)
        if m is not None:
            log_end = family(m, "fraudstream_topic_log_end_offset")
            check(len(log_end) == 2 and sum(log_end.values()) == N, f"log-end offsets {log_end}")
            check(all(v == 0 for v in family(m, "fraudstream_consumer_partition_status").values()),
                  f"statuses {family(m, 'fraudstream_consumer_partition_status')}")
            check(m.get('fraudstream_monitor_samples_total{group="fraud-detection-group",'
                        'topic="transactions-input"}', 0) >= 1, "no samples counted")
            log(f"monitor /metrics: committed {family(m, committed)}, log end {log_end}")
        promtool = subprocess.run(["promtool", "check", "metrics"], input=get(mport).encode(),
                                  capture_output=True)
        check(promtool.returncode == 0,
              f"promtool rejects the monitor's /metrics: {promtool.stdout} {promtool.stderr}")

        # A port in use: an error, not a second server sharing it.
        taken = subprocess.run([bin_path, "monitor", "--brokers", brokers, "--samples", "1",
                                "--metrics-port", str(wport)], capture_output=True, text=True)
        check(taken.returncode != 0 and f"cannot listen on 0.0.0.0:{wport}" in taken.stderr,
              f"monitor on a port in use: exit {taken.returncode}, {taken.stderr!r}")

        for name, proc in (("worker", worker), ("monitor", monitor)):
            proc.send_signal(signal.SIGTERM)
            check(proc.wait(30) == 0, f"{name} exited {proc.returncode}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def main():
    bin_path = os.path.abspath(sys.argv[1])
    return rk.run("metrics CLI test", lambda tmp: scenario(bin_path, tmp))


if __name__ == "__main__":
    sys.exit(main())
