#!/usr/bin/env bash
# Installs fraudstream's build and test dependencies from Debian 12 packages.
# Idempotent, and silent when nothing is missing.
#   scripts/install-deps.sh           what `make build` and `make check` need
#   scripts/install-deps.sh --bench   also the peers the benchmarks compare against
set -euo pipefail

packages=(
  g++ cmake ninja-build make pkg-config
  libabsl-dev libcli11-dev libfmt-dev libsimdjson-dev nlohmann-json3-dev libxgboost-dev
  libgtest-dev libbenchmark-dev python3 python3-yaml
  libsqlite3-dev libpq-dev libboost-dev postgresql
  librdkafka-dev kcat
  libcpp-httplib-dev prometheus
  clang libclang-rt-14-dev
  openjdk-17-jre-headless maven python3-confluent-kafka
  chromium
)
# Node.js and npm for the browser test (playwright-core from npm, in tests/browser): Debian's,
# unless a node is already installed (e.g. from NodeSource, whose package includes npm).
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(python3-pandas python3-sklearn python3-xgboost hyperfine
    wrk python3-fastapi python3-uvicorn)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "install-deps: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# playwright-core for the browser test, at the version package-lock.json pins (npm registry).
browser="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
if [[ ! -f "$browser/node_modules/playwright-core/package.json" ]]; then
  echo "install-deps: npm ci in tests/browser (playwright-core)" >&2
  (cd "$browser" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
