#pragma once

// What `fraudstream monitor` measures (DESIGN §7): a consumer group's committed offsets and the
// log-end offsets of one topic, sampled at an interval; per partition the lag and a Burrow
// status (monitor/burrow.h) over the last kWindowSize samples; per topic the input rate
// (log-end growth per second) and the processing rate (committed growth per second); the
// group's status; and the status changes since the previous sample (alerts).
//
// LagTracker is the pure part (samples in, report out), LagMonitor queries Kafka for it:
//
//   ASSIGN_OR_RETURN(auto monitor, LagMonitor::Create(options));
//   ASSIGN_OR_RETURN(const LagReport report, monitor->Sample());
//   for (const StatusChange& c : report.changes) ...
//
// Not thread-safe. Errors: Unavailable when the broker does not answer, NotFound for a topic
// that does not exist.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "monitor/burrow.h"
#include "stream/kafka.h"

namespace fraud {

struct PartitionOffsets {
  int32_t partition = 0;
  int64_t committed = -1;  // -1: the group has committed nothing here
  int64_t log_start = 0;   // the oldest offset still in the log (lag base with no commit)
  int64_t log_end = 0;
};

struct PartitionReport {
  int32_t partition = 0;
  int64_t committed = -1;
  int64_t log_end = 0;
  int64_t lag = 0;
  PartitionStatus status = PartitionStatus::kOk;
};

struct StatusChange {
  int32_t partition = -1;  // -1: the group
  std::string from;
  std::string to;
  int64_t lag = 0;  // the partition's or the group's total
};

struct LagReport {
  int64_t time_ms = 0;
  std::vector<PartitionReport> partitions;
  int64_t lag = 0;             // total
  int64_t log_end = 0;         // summed over the partitions
  int64_t committed = 0;       // summed; the log start where the group committed nothing
  double input_rate = 0;       // log-end growth per second since the previous sample
  double processing_rate = 0;  // committed growth per second since the previous sample
  GroupStatus status = GroupStatus::kOk;
  std::vector<StatusChange> changes;  // every status is OK before the first sample
};

class LagTracker {
 public:
  LagReport Add(int64_t time_ms, const std::vector<PartitionOffsets>& offsets);

 private:
  struct Partition {
    std::deque<LagSample> window;
    int64_t last_commit_ms = 0;  // when the committed offset was first seen at its value
    PartitionStatus status = PartitionStatus::kOk;
  };
  std::map<int32_t, Partition> partitions_;
  GroupStatus status_ = GroupStatus::kOk;
  int64_t previous_ms_ = -1;
  int64_t previous_log_end_ = 0;
  int64_t previous_committed_ = 0;
};

struct MonitorOptions {
  std::string brokers;
  std::string group = kDefaultGroup;
  std::string topic = kInputTopic;
  std::vector<std::string> kafka_settings;  // -X key=value
  std::string kafka_config_file;
};

class LagMonitor {
 public:
  static absl::StatusOr<std::unique_ptr<LagMonitor>> Create(const MonitorOptions& options);

  // Queries the topic's partitions, their watermarks and the group's committed offsets.
  absl::StatusOr<std::vector<PartitionOffsets>> Query();
  // Query() fed to the tracker, timed on the wall clock.
  absl::StatusOr<LagReport> Sample();

 private:
  LagMonitor(MonitorOptions options, KafkaClient client);
  MonitorOptions options_;
  KafkaClient client_;  // a consumer with group.id that never joins: it only reads offsets
  LagTracker tracker_;
};

}  // namespace fraud
