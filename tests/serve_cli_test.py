#!/usr/bin/python3
"""fraudstream serve as a process: usage errors, ready line, a prediction and the admin token
over HTTP, a port in use refused, SIGTERM ending with exit 0 within seconds.

    tests/serve_cli_test.py path/to/fraudstream
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BIN = sys.argv[1]
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print(f"FAIL: {what}")


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120)


def request(port, path, body=None, headers=None):
    data = None if body is None else body.encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                 headers=headers or {}, method="GET" if body is None else "POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


with tempfile.TemporaryDirectory() as d:
    os.environ["FRAUDSTREAM_REGISTRY"] = f"{d}/registry.db"
    data, model = f"{d}/data.txt", f"{d}/model"
    assert run("generate", "--out", data, "--customers", "100", "--terminals", "200",
               "--days", "45", "-q").returncode == 0
    assert run("train", "--data", data, "--out", model, "--threads", "1").returncode == 0
    with open(f"{d}/empty", "w") as f:
        f.write("  \n")
    with open(f"{d}/token", "w") as f:
        f.write("s3cret\n")

    r = run("serve", "--port", "0", "--model", model, "--token-file", f"{d}/empty")
    check(r.returncode == 2 and r.stderr.count("\n") == 1 and "empty" in r.stderr,
          f"empty token file: exit {r.returncode}, {r.stderr!r}")
    r = run("serve", "--port", "0", "--model", d)
    check(r.returncode == 1 and r.stderr.count("\n") == 1, f"not a model: {r.returncode} {r.stderr!r}")
    r = run("serve", "--port", "70000", "--model", model)
    check(r.returncode == 2, f"bad port: exit {r.returncode}")

    server = subprocess.Popen([BIN, "serve", "--host", "127.0.0.1", "--port", "0", "--model",
                               model, "--token-file", f"{d}/token", "--warm-up", data],
                              stderr=subprocess.PIPE, text=True)
    line = server.stderr.readline()
    m = re.search(r"ready on 127\.0\.0\.1:(\d+) .*state warmed up with (\d+) transactions", line)
    check(m is not None, f"ready line: {line!r}")
    port = int(m.group(1)) if m else 0

    status, body = request(port, "/v1/predict", json.dumps({
        "transaction_id": 10**9, "tx_datetime": "2018-05-15 12:00:00", "customer_id": 5,
        "terminal_id": 7, "tx_amount": 57.16}), {"Content-Type": "application/json"})
    check(status == 200 and 0 <= json.loads(body)["score"] <= 1, f"predict: {status} {body}")
    status, body = request(port, "/v1/reload", "", {"Authorization": "Bearer s3cret"})
    check(status == 200 and json.loads(body)["reloaded"] is False, f"reload: {status} {body}")
    status, body = request(port, "/v1/reload", "", {"Authorization": "Bearer nope"})
    check(status == 401 and "error" in json.loads(body), f"reload, wrong token: {status} {body}")
    status, body = request(port, "/metrics")
    check(status == 200 and 'fraudstream_requests_total{route="/v1/predict",code="200"} 1' in body,
          "metrics count the prediction")

    r = run("serve", "--host", "127.0.0.1", "--port", str(port), "--model", model)
    check(r.returncode == 1 and "cannot listen" in r.stderr, f"port in use: {r.returncode} {r.stderr!r}")

    start = time.monotonic()
    server.send_signal(signal.SIGTERM)
    try:
        code = server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        code = None
    seconds = time.monotonic() - start
    check(code == 0, f"SIGTERM: exit {code}")
    check(seconds < 6, f"SIGTERM took {seconds:.1f} s")
    try:
        request(port, "/healthz")
        check(False, "still answering after SIGTERM")
    except (urllib.error.URLError, ConnectionError):
        pass

print(f"serve_cli_test: {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
