# fraudstream on Debian 12: a builder stage with the project's build dependencies and a
# runtime stage with only the shared libraries the binary links (plus CA certificates for
# TLS to Kafka and PostgreSQL).
#
#   docker build -t fraudstream:0.1.0 .
#   docker run --rm fraudstream:0.1.0 --help
#   docker run --rm -p 8080:8080 fraudstream:0.1.0 serve --host 0.0.0.0 --port 8080 --model DIR
#
# tests/deploy_test.py checks that every library the binary needs comes from a package
# listed in the runtime stage, and that each of those packages exists in Debian 12.

FROM debian:12 AS builder
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
# The dependency script first, so its layer is cached until the package list changes.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DFRAUD_BUILD_TESTS=OFF -DFRAUD_BUILD_BENCH=OFF \
 && cmake --build /build --target fraudstream -j "$(nproc)" \
 && strip /build/fraudstream

FROM debian:12-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      ca-certificates \
      libabsl20220623 \
      libcpp-httplib0.11 \
      libfmt9 \
      libpq5 \
      librdkafka1 \
      libsimdjson14 \
      libsqlite3-0 \
      libstdc++6 \
      libxgboost0 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 fraudstream \
 && useradd --system --uid 10001 --gid fraudstream --home-dir /var/lib/fraudstream \
      --create-home --shell /usr/sbin/nologin fraudstream
COPY --from=builder /build/fraudstream /usr/local/bin/fraudstream
USER 10001:10001
WORKDIR /var/lib/fraudstream
# 8080: serve (API and its /metrics); 9100: stream / monitor --metrics-port.
EXPOSE 8080 9100
ENTRYPOINT ["fraudstream"]
CMD ["--help"]
