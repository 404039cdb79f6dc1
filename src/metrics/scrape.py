"""GET /metrics of a fraudstream process, for the process-level tests (tests/metrics_cli_test.py,
src/monitor/monitor_kafka_test.py): the port it printed, its series as a dict."""

import re
import time
import urllib.request

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metrics_port(err_path, proc=None, timeout=30):
    """The port a process started with --metrics-port 0 printed on stderr ("... metrics on
    http://HOST:PORT/metrics"), or None after timeout or once proc exited."""
    deadline = time.time() + timeout
    while time.time() < deadline and (proc is None or proc.poll() is None):
        with open(err_path) as f:
            found = re.search(r"metrics on http://[^:]+:(\d+)/metrics", f.read())
        if found:
            return int(found.group(1))
        time.sleep(0.1)
    return None


def get(port):
    """The text at http://127.0.0.1:PORT/metrics; ValueError on another Content-Type."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        if response.headers["Content-Type"] != CONTENT_TYPE:
            raise ValueError(f"Content-Type {response.headers['Content-Type']}")
        return response.read().decode()


def parse(text):
    """{series: value} of a Prometheus text, each series as rendered: name{labels}."""
    series = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            series[name] = float(value)
    return series


def scrape(port):
    return parse(get(port))


def family(series, name):
    """The {series: value} of one metric name."""
    return {k: v for k, v in series.items() if k == name or k.startswith(name + "{")}
