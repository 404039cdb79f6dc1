#!/usr/bin/python3
"""`fraudstream demo --quick` as a user runs it (issue 9):

    demo_test.py FRAUDSTREAM

1. A whole run: exit 0; summary.json has every part's figures (rows rejected by the cleaner,
   the model's test metrics, four ramp steps near their target rates, the full-speed replay
   scored with no offset reset, REST answers with latencies (present, not judged: speed is
   for the benchmarks), a critical TPS from the capacity
   test, lag 0 at the end); report/index.html has its charts; no process of the demo is left.
2. Ctrl-C in the middle (SIGINT while the ramp replays): the demo stops within 30 s with a
   non-zero exit code and the message that every part was stopped, and leaves no process.
Exits 0 when every check passed; prints each failure.
"""

import json
import os
import signal
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(here, "..", "src", "stream")]
import real_kafka_test as rk  # noqa: E402
from real_kafka_test import check, log  # noqa: E402


def leftovers(out):
    """Processes whose command line names the demo's output directory."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if out in cmdline and "demo_test.py" not in cmdline:
            found.append(f"{pid}: {cmdline[:200]}")
    return found


def demo(bin_path, out):
    return [bin_path, "demo", "--quick", "--out", out, "--dashboard-port", "0",
            "--serve-port", "0", "--partitions", "4"]


def whole_run(bin_path, tmp):
    out = os.path.join(tmp, "whole")
    started = time.time()
    run = subprocess.run(demo(bin_path, out), capture_output=True, text=True, timeout=600)
    log(f"demo --quick: exit {run.returncode} in {time.time() - started:.0f} s")
    if not check(run.returncode == 0, f"demo failed: {run.stderr[-3000:]}"):
        return
    print(run.stderr[run.stderr.find("== summary"):], flush=True)
    s = json.load(open(os.path.join(out, "summary.json")))
    check(s["data"]["rows_rejected"] > 0 and s["data"]["rows_out"] > 50_000, f"data {s['data']}")
    test = s["model"]["test"] or {}
    check(0.6 < test.get("roc_auc", 0) <= 1, f"model {test}")
    ramp = s["ramp"]
    check([step["target_tps"] for step in ramp] == [50, 100, 200, 400], f"ramp {ramp}")
    for step in ramp:
        check(step["input_tps"] is not None and
              abs(step["input_tps"] - step["target_tps"]) <= 0.25 * step["target_tps"],
              f"ramp step {step}")
        # Latency is measured, not judged here (speed belongs to benchmarks): present and sane.
        check(step["p99_ms"] is not None and 0 <= step["p50_ms"] <= step["p99_ms"],
              f"latency of {step}")
    full = s["full_speed"]
    check(full["rows"] > 1000 and full["tps"] > 1000, f"full speed {full}")
    stream = s["stream"]
    check(stream["workers"] == 2 and stream["offset_resets"] == 0 and stream["dead_lettered"] == 0
          and stream["predicted"] >= full["rows"], f"stream {stream}")
    rest = s["rest"]
    check(rest["requests"] == 200 and 0 < rest["p50_ms"] <= rest["p99_ms"], f"rest {rest}")
    cap = s["capacity"] or {}
    check(cap.get("critical_tps", 0) >= 1000, f"capacity {cap}")
    check(s["lag_at_end"] == 0, f"lag at the end {s['lag_at_end']}")
    html = open(os.path.join(out, "report", "index.html")).read()
    check(html.count("<svg") == 3 and "critical TPS" in html, "report/index.html")
    for name in ("model/report.html", "capacity/report.html", "quality.json", "rejected.tsv",
                 "monitor.jsonl", "logs/stream-1.log", "logs/serve.log"):
        check(os.path.exists(os.path.join(out, name)), f"{name} missing")
    check(leftovers(out) == [], f"processes left: {leftovers(out)}")


def interrupted(bin_path, tmp):
    out = os.path.join(tmp, "interrupted")
    proc = subprocess.Popen(demo(bin_path, out), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if line.startswith("== 6/9"):
            break
    time.sleep(2)
    check(len(leftovers(out)) >= 4, f"services before the stop: {leftovers(out)}")
    proc.send_signal(signal.SIGINT)
    started = time.time()
    rest = proc.stderr.read()
    code = proc.wait(60)
    log(f"SIGINT: exit {code} after {time.time() - started:.1f} s")
    check(code != 0 and time.time() - started < 30, f"exit {code}")
    check("every part was stopped" in rest, f"no stop message: {rest[-1500:]}")
    check(leftovers(out) == [], f"processes left: {leftovers(out)}")


def main():
    bin_path = os.path.abspath(sys.argv[1])

    def both(tmp):
        whole_run(bin_path, tmp)
        interrupted(bin_path, tmp)
    return rk.run("demo test", both)


if __name__ == "__main__":
    sys.exit(main())
