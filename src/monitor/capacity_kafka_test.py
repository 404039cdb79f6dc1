#!/usr/bin/python3
"""`fraudstream capacity` against a worker throttled on purpose, on the genuine Apache Kafka
broker at $FRAUDSTREAM_TEST_KAFKA (docs/REAL_KAFKA.md), fresh topics and group.

    capacity_kafka_test.py FRAUDSTREAM

One worker with `stream --max-rate 200` on a 2-partition input topic; `capacity --start 100
--factor 2 --max 400 --step-seconds 10 --track` drives replay at rising rates. Checks:
  - summary.json's critical TPS is within 10 % of the throttle (200/s), the first failing rate
    is above it and within the precision of it; steps at 400/s grew, at 100/s stayed bounded;
  - report.html is one page with its SVG charts; samples.csv has every sample;
  - the tracked run holds the critical TPS and a series of input_tps, processed_tps and lag.
Exits 0 when every check passed; prints each failure.
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "stream"))
import real_kafka_test as rk  # noqa: E402  (helpers: model, topics, worker)
from real_kafka_test import check, log  # noqa: E402

MAX_RATE = 200


def scenario(bin_path, brokers, tmp):
    topics, group = rk.fresh_topics(brokers, "capacity", partitions=2)
    worker = None
    try:
        data, model, _ = rk.make_model(bin_path, tmp, customers=100)
        worker = rk.Worker(bin_path, tmp, "worker", brokers, model, topics, group,
                           extra=["--max-rate", str(MAX_RATE)])
        # The worker has joined and committed before the first step (a join takes seconds).
        check(subprocess.run([bin_path, "replay", data, "--brokers", brokers, "--topic",
                              topics["input"], "--rate", "max", "--limit", "50", "-q"],
                             stdout=subprocess.DEVNULL).returncode == 0, "priming replay failed")
        deadline = time.time() + 30
        while rk.committed_lag(brokers, group, topics["input"]) > 0 and time.time() < deadline:
            time.sleep(0.5)
        report = os.path.join(tmp, "report")
        registry = os.path.join(tmp, "registry.db")
        started = time.time()
        run = subprocess.run(
            [bin_path, "capacity", "--brokers", brokers, "--data", data, "--group", group,
             "--topic", topics["input"], "--start", "100", "--factor", "2", "--max", "400",
             "--step-seconds", "10", "--report", report, "--track", "--registry", registry],
            capture_output=True, text=True, timeout=240)
        log(run.stderr.strip())
        log(run.stdout.strip())
        if not check(run.returncode == 0, f"capacity exited {run.returncode}: {run.stderr[-2000:]}"):
            return
        log(f"capacity took {time.time() - started:.0f} s")
        with open(os.path.join(report, "summary.json")) as f:
            summary = json.load(f)
        critical, failing = summary["critical_tps"], summary["first_failing_tps"]
        check(abs(critical - MAX_RATE) <= 0.1 * MAX_RATE,
              f"critical TPS {critical} is not within 10 % of --max-rate {MAX_RATE}")
        check(failing is not None and critical < failing <= critical * 1.1 + 1e-9,
              f"first failing TPS {failing} is not within 10 % above the critical {critical}")
        steps = {s["target_tps"]: s for s in summary["steps"]}
        check(steps.get(100, {}).get("bounded") is True, f"100/s not bounded: {steps.get(100)}")
        check(steps.get(400, {}).get("bounded") is False, f"400/s bounded: {steps.get(400)}")
        if 400 in steps:
            check(abs(steps[400]["processed_tps"] - MAX_RATE) <= 0.1 * MAX_RATE,
                  f"processed {steps[400]['processed_tps']}/s at 400/s, the throttle is "
                  f"{MAX_RATE}")
        with open(os.path.join(report, "report.html")) as f:
            html = f.read()
        check(html.count("<svg ") == 2 and "<script" not in html, "report.html: 2 SVG charts")
        with open(os.path.join(report, "samples.csv")) as f:
            check(len(f.readlines()) > 10 * len(steps), "samples.csv has too few samples")
        # The tracked run: the series a second and the result.
        run_json = rk.tracked_run(bin_path, registry, "capacity")
        if run_json is not None:
            check(run_json["metrics"]["critical_tps"] == critical, f"tracked {run_json['metrics']}")
            history = run_json.get("metric_history", [])
            for key in ("input_tps", "processed_tps", "lag"):
                check(sum(m["key"] == key for m in history) >= 10, f"tracked {key}: too few")
        code, _ = worker.stop()
        check(code == 0, f"worker exited {code}: {worker.stderr()[-2000:]}")
    finally:
        if worker is not None and worker.proc.poll() is None:
            worker.kill()
        rk.delete_topics(brokers, list(topics.values()))


def main():
    bin_path = os.path.abspath(sys.argv[1])
    brokers = rk.test_brokers()
    if not brokers:
        return 1
    return rk.run("capacity", lambda tmp: scenario(bin_path, brokers, tmp))


if __name__ == "__main__":
    sys.exit(main())
