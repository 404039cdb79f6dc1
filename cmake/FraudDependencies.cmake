# Every dependency comes from a Debian 12 package (see scripts/install-deps.sh and
# ../shared/DEBIAN_NOTES.md for how each one is found).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(absl REQUIRED)
find_package(CLI11 REQUIRED)
find_package(fmt REQUIRED)
find_package(simdjson REQUIRED)
find_package(nlohmann_json REQUIRED)
# XGBoost's CMake config in Debian references a binary from another package: use pkg-config.
pkg_check_modules(XGB REQUIRED IMPORTED_TARGET xgboost)
# Kafka: librdkafka's C API and its mock cluster (librdkafka/rdkafka_mock.h).
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
# The registry: SQLite (embedded default), libpq (PostgreSQL), Boost.Math (header-only t test).
# The serve API: Boost.Asio + Boost.Beast (header-only; Boost.System is header-only since 1.69).
find_package(SQLite3 REQUIRED)
pkg_check_modules(PQ REQUIRED IMPORTED_TARGET libpq)
find_package(Boost REQUIRED)
# HTTP for /metrics (and the serve tests' client): cpp-httplib ships no CMake config, only
# pkg-config.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
if(FRAUD_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(FRAUD_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
