#pragma once

// `fraudstream replay`: produces a data file to Kafka at an exact rate (DESIGN §7), keyed by
// customer_id, paced by a token bucket on the monotonic clock: message i of a step goes out
// at step_start + i / rate, so the rate does not drift over long runs.
//
// Rows that parse are sent re-encoded in the chosen format (JSON lines or CSV in the Otus
// column order, no header); rows that do not are sent as they are, unkeyed, so the stream's
// dead-letter queue sees them.
//
//   ReplayOptions options{.brokers = bootstrap, .rate = 400};
//   ASSIGN_OR_RETURN(ReplaySummary summary, Replay("day.csv", options, stop));

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/layout.h"
#include "stream/kafka.h"

namespace fraud {

struct ReplayOptions {
  std::string brokers;
  std::string topic = kInputTopic;
  std::vector<std::string> kafka_settings;  // -X key=value
  std::string kafka_config_file;
  double rate = 400;                 // messages per second; <= 0: as fast as possible
  std::vector<double> ramp;          // rates, one per step (overrides rate)
  double step_seconds = 60;          // length of a ramp step
  int64_t limit = 0;                 // stop after this many messages (0: the file, once)
  bool loop = false;                 // start the file again at its end (until limit / stop)
  Format format = Format::kCsv;      // kCsv (Otus column order) or kJsonLines
  FILE* per_second = nullptr;        // where to print the rate achieved each second
};

struct ReplaySummary {
  int64_t sent = 0;
  int64_t acknowledged = 0;
  int64_t failed = 0;
  int64_t unparsed = 0;  // rows sent as they were
  double seconds = 0;
  double rate = 0;                  // sent / seconds
  std::vector<int64_t> per_second;  // messages sent in each whole second
};

absl::StatusOr<ReplaySummary> Replay(const std::string& path, const ReplayOptions& options,
                                     const std::atomic<bool>& stop);

}  // namespace fraud
