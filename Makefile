# The two commands of the README: `make demo` and `make check`. Everything else is a step.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build test asan check demo bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Every test of the Release build. The registry's PostgreSQL tests use $FRAUDSTREAM_TEST_PG,
# else the loopback server scripts/start-postgres.sh starts (and they fail if there is none).
# The stream tests on real Kafka (label kafka) use $FRAUDSTREAM_TEST_KAFKA, else the loopback
# Apache Kafka broker scripts/kafka-up.sh starts (jars from Maven Central in $(BUILD)/kafka).
# Both servers are left running for the next run; scripts/kafka-down.sh stops the broker.
test: build
	@uri="$${FRAUDSTREAM_TEST_PG:-$$(scripts/start-postgres.sh)}" || exit 1; \
	  kafka="$${FRAUDSTREAM_TEST_KAFKA:-$$(FRAUDSTREAM_KAFKA_LIBS=$(BUILD)/kafka/libs scripts/kafka-up.sh)}" \
	    || exit 1; \
	  echo "FRAUDSTREAM_TEST_PG=$$uri FRAUDSTREAM_TEST_KAFKA=$$kafka"; \
	  FRAUDSTREAM_TEST_PG="$$uri" FRAUDSTREAM_TEST_KAFKA="$$kafka" \
	    ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFRAUD_SANITIZE=ON \
	  -DFRAUD_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 ctest --test-dir $(ASAN_BUILD) -L unit --output-on-failure -j $(JOBS)

check: test asan

demo: build
	@$(BUILD)/fraudstream demo --out demo-out

bench: build
	@scripts/install-deps.sh --bench
	@bench/clean_bench.sh $(BUILD)/fraudstream
	@bench/features_bench.sh $(BUILD)
	@bench/train_bench.sh $(BUILD)
	@bench/forest_bench.sh $(BUILD)
	@bench/stream_bench.sh $(BUILD)
	@bench/serve_bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) demo-out bench-out
