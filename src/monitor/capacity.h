#pragma once

// `fraudstream capacity` (DESIGN §7): the critical TPS of the stream workers running in a group.
// Replay drives the input topic at a rate for a step while LagMonitor samples the group; a
// step is bounded when the lag, read where the group committed (as Burrow reads it), grew by
// no more than 5 % of what was sent in the step (or half a second's worth). Rates go up
// by a factor from the start until a step fails; then the rate between the last bounded and
// the first failing one is tried until they are within the precision (10 %) of each other.
// The critical TPS is the highest bounded rate.
//
//   CapacityOptions options{.data_path = "tx.csv", ...};
//   ASSIGN_OR_RETURN(CapacityResult result, RunCapacity(options, stop));
//   RETURN_IF_ERROR(WriteCapacityReport(result, "report/"));  // report.html + summary.json
//
// JudgeStep and CapacityPlan are pure (tested without a broker); RunCapacity talks to Kafka.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "monitor/lag_monitor.h"
#include "registry/tracking.h"
#include "stream/replay.h"

namespace fraud {

struct CapacityOptions {
  std::string data_path;  // replayed in a loop
  ReplayOptions replay;   // brokers, topic, settings, format (rate and loop are set per step)
  MonitorOptions monitor;
  double start = 50;
  double factor = 2;
  double max = 3200;
  double step_seconds = 30;
  double precision = 0.10;  // narrows until first failing <= critical * (1 + precision)
  double sample_seconds = 0.25;
  double drain_seconds = 0;  // the longest wait for the lag to go back down before a step
                             // (0: step_seconds)
  FILE* progress = nullptr;  // a line per step
};

// One look at the group: seconds since the test began.
struct CapacitySample {
  double seconds = 0;
  double target = 0;    // the step's rate (0: between steps)
  int64_t log_end = 0;  // summed over the partitions
  int64_t committed = 0;
  int64_t lag = 0;
  std::vector<int64_t> partition_lag;
  bool commit = false;  // the committed offsets moved since the previous sample
  std::string status;   // the group's Burrow status
};

struct CapacityStep {
  double target = 0;
  double achieved = 0;    // log-end growth per second over the step
  double processed = 0;   // committed growth per second over the step
  int64_t lag_start = 0;  // at the step's first commit
  int64_t lag_end = 0;    // at its last commit
  int64_t max_lag = 0;    // the highest lag at a commit
  bool bounded = false;
  double start_seconds = 0;
  double end_seconds = 0;
};

// samples: those of one step (target set), oldest first.
CapacityStep JudgeStep(double target, std::span<const CapacitySample> samples);

// The rates to try: start, start * factor, ... up to max until one fails; then halves between
// the last bounded and the first failing rate until they are within `precision`.
class CapacityPlan {
 public:
  CapacityPlan(double start, double factor, double max, double precision);
  // The next rate, or nullopt when done.
  std::optional<double> Next() const;
  void Record(double rate, bool bounded);
  double critical() const { return critical_; }            // 0: not even the first rate
  double first_failing() const { return first_failing_; }  // 0: none up to max

 private:
  double start_, factor_, max_, precision_;
  double critical_ = 0;
  double first_failing_ = 0;
  double last_ = 0;
};

// The course's acceptance at 50, 100, 200 and 400 TPS, where a step ran at that rate.
struct CapacityCheck {
  double rate = 0;
  std::string rule;  // e.g. "max lag < 50"
  bool ran = false;
  bool passed = false;
  int64_t max_lag = 0;
};

struct CapacityResult {
  std::vector<CapacityStep> steps;
  std::vector<CapacitySample> samples;
  std::vector<CapacityCheck> checks;
  double critical_tps = 0;
  double first_failing_tps = 0;
  std::string group;
  std::string topic;
  int partitions = 0;
};

std::vector<CapacityCheck> AcceptanceChecks(std::span<const CapacityStep> steps);

absl::StatusOr<CapacityResult> RunCapacity(const CapacityOptions& options,
                                           const std::atomic<bool>& stop);

// The samples as one value a second (input_tps, processed_tps: growth of the log-end and
// committed offsets over that second; lag: the last one in it), step = the second.
std::vector<Metric> PerSecondMetrics(std::span<const CapacitySample> samples);

// A run in `experiment` of the tracking store: the options as params, the series above, the
// critical and first failing TPS, and the report directory as its artifacts.
absl::StatusOr<RunInfo> TrackCapacityRun(Tracking& tracking, const std::string& experiment,
                                         const CapacityOptions& options,
                                         const CapacityResult& result,
                                         const std::string& report_dir);

// DIR/report.html (SVG charts: target and achieved input TPS, processing TPS, lag per
// partition, status changes) and DIR/summary.json.
absl::Status WriteCapacityReport(const CapacityResult& result, const std::string& dir);

}  // namespace fraud
