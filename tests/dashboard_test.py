#!/usr/bin/python3
"""`fraudstream dashboard` end to end, in a real browser (issue 9):

    dashboard_test.py FRAUDSTREAM SCREENSHOT

On the embedded broker (2 partitions), one worker scores while the dashboard watches; a
replay sends N transactions at 400/s. Checks:
  - GET /api/state before any traffic: the model card (version, metrics), both partitions,
    no prediction yet; GET /metrics answers;
  - in headless Chromium (Debian's chromium, driven by playwright-core from npm:
    tests/browser/dashboard_check.mjs): the page loads with no console error, no page error
    and no failed request; the prediction count grows while the replay runs; TPS, the
    partitions with their status, the model version and its AUC, flagged transactions and
    the charts are drawn; a screenshot is written to SCREENSHOT;
  - once the worker caught up: the dashboard counted exactly the N predictions produced, and
    the group's lag is 0.
Exits 0 when every check passed; prints each failure.
"""

import json
import os
import re
import subprocess
import sys
import time
import urllib.request

here = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(here, "..", "src", "stream")]
import real_kafka_test as rk  # noqa: E402  (helpers: model, check, log)
from real_kafka_test import check, log  # noqa: E402

N = 8000
RATE = 400


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def scenario(bin_path, screenshot, tmp):
    procs = []

    def start(name, args):
        err_path = os.path.join(tmp, f"{name}.err")
        proc = subprocess.Popen([bin_path, *args], stdout=open(os.path.join(tmp, f"{name}.out"), "w"),
                                stderr=open(err_path, "w"))
        procs.append(proc)
        return proc, err_path

    def wait_line(err_path, proc, pattern, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline and proc.poll() is None:
            m = re.search(pattern, open(err_path).read())
            if m:
                return m
            time.sleep(0.1)
        check(False, f"no '{pattern}' in {err_path}: {open(err_path).read()[-800:]}")
        return None

    try:
        data, model, _ = rk.make_model(bin_path, tmp, customers=100)
        broker, broker_err = start("broker", ["broker", "--partitions", "2", "--bootstrap-file",
                                              os.path.join(tmp, "bootstrap")])
        if not wait_line(broker_err, broker, "fraudstream broker:"):
            return
        brokers = open(os.path.join(tmp, "bootstrap")).read().strip()
        worker, worker_err = start("worker", ["stream", "--brokers", brokers, "--model-dir", model])
        dashboard, dashboard_err = start("dashboard", [
            "dashboard", "--brokers", brokers, "--port", "0", "--model", model,
            "--interval-ms", "500"])
        m = wait_line(dashboard_err, dashboard, r"fraudstream dashboard: (http://\S+/)")
        if not m or not wait_line(worker_err, worker, "fraudstream stream:"):
            return
        url = m.group(1)

        # Before any traffic.
        state = {}
        deadline = time.time() + 30
        while time.time() < deadline and len(state.get("partitions", [])) < 2:
            state = get_json(url + "api/state")
            time.sleep(0.3)
        card = state.get("model") or {}
        check(len(state.get("partitions", [])) == 2, f"partitions before traffic: {state}")
        check(state.get("totals", {}).get("predictions") == 0, f"totals {state.get('totals')}")
        check(str(card.get("name", "")).endswith("model") and card.get("version") and
              0.5 < card.get("metrics", {}).get("test", {}).get("roc_auc", 0) <= 1,
              f"model card {card}")
        check(urllib.request.urlopen(url + "metrics", timeout=10).status == 200, "GET /metrics")
        time.sleep(3)  # the worker's first join into its group

        replay = subprocess.Popen([bin_path, "replay", data, "--brokers", brokers, "--rate",
                                   str(RATE), "--limit", str(N), "-q"], stdout=subprocess.DEVNULL)
        procs.append(replay)
        browser = subprocess.run(
            ["node", os.path.join(here, "browser", "dashboard_check.mjs"), url, screenshot, "40"],
            capture_output=True, text=True, timeout=120)
        if not check(browser.returncode == 0 and browser.stdout.strip(),
                     f"the browser check failed: {browser.stdout[-500:]} {browser.stderr[-2000:]}"):
            return
        seen = json.loads(browser.stdout.strip().splitlines()[-1])
        first, last = seen.get("first", {}), seen.get("last", {})
        log(f"page first: {json.dumps(first)[:300]}")
        log(f"page last: {json.dumps(last)[:600]}")
        check(seen.get("status") == 200, f"page status {seen.get('status')}")
        check(seen["errors"] == [], f"browser errors: {seen['errors']}")
        check(last.get("predictions", 0) > first.get("predictions", 0),
              f"the prediction count did not grow: {first.get('predictions')} -> "
              f"{last.get('predictions')}")
        check(last.get("polls", 0) >= first.get("polls", 0) + 3, "the page stopped polling")
        check(re.fullmatch(r"[\d,]+", last.get("processed_tps", "")) is not None,
              f"processed TPS {last.get('processed_tps')!r}")
        check(len(last.get("partitions", [])) == 2 and
              all(row[-1] in ("OK", "WARN", "STALL", "STOP") for row in last["partitions"]),
              f"partitions {last.get('partitions')}")
        check(last.get("model_version") == card.get("version"),
              f"model version {last.get('model_version')} vs {card.get('version')}")
        check(re.fullmatch(r"0\.\d{4}", last.get("model_auc", "")) is not None,
              f"AUC {last.get('model_auc')!r}")
        check(len(last.get("flagged", [])) > 0, "no flagged transaction listed")
        check(last.get("fraud_rate", "–").endswith("%"), f"fraud rate {last.get('fraud_rate')!r}")
        check(last.get("charts", 0) >= 4, f"{last.get('charts')} chart lines")
        check(os.path.exists(screenshot) and os.path.getsize(screenshot) > 20_000,
              f"screenshot {screenshot}")

        # Every prediction counted once the worker caught up.
        check(replay.wait(60) == 0, "replay failed")
        deadline = time.time() + 60
        while time.time() < deadline:
            state = get_json(url + "api/state")
            if state["totals"]["predictions"] >= N and state["current"]["lag"] == 0:
                break
            time.sleep(0.5)
        check(state["totals"]["predictions"] == N and state["totals"]["unreadable"] == 0,
              f"the dashboard counted {state['totals']} predictions of {N}")
        check(state["current"]["lag"] == 0, f"lag {state['current']['lag']}")
        check(sum(p["committed"] for p in state["partitions"]) == N,
              f"committed {state['partitions']}")
        log(f"dashboard: {state['totals']['predictions']} predictions, "
            f"{state['totals']['flagged']} flagged, screenshot {screenshot}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def main():
    bin_path = os.path.abspath(sys.argv[1])
    screenshot = os.path.abspath(sys.argv[2])
    return rk.run("dashboard test", lambda tmp: scenario(bin_path, screenshot, tmp))


if __name__ == "__main__":
    sys.exit(main())
