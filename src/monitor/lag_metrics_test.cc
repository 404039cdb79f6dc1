#include "monitor/lag_metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace fraud {
namespace {

// Two samples of burrow_test's LagTracker case: partition 0 WARN, partition 1 STALL (nothing
// committed), the group ERR; the exact text `monitor --metrics-port` serves for them.
TEST(LagMetrics, PublishesOffsetsLagStatusesAndRates) {
  MetricsRegistry registry;
  LagMetrics metrics(registry, "g", "t");
  LagTracker tracker;
  auto at = [&](int64_t second, int64_t committed0, int64_t end0, int64_t committed1,
                int64_t end1) {
    metrics.Publish(
        tracker.Add(second * 1000,
                    {{.partition = 0, .committed = committed0, .log_end = end0},
                     {.partition = 1, .committed = committed1, .log_start = 4, .log_end = end1}}));
  };
  at(0, 0, 5, -1, 9);
  at(1, 10, 20, -1, 14);
  const std::string text = registry.Render();
  EXPECT_EQ(
      text.substr(0, text.find("# HELP process_")),
      R"(# HELP fraudstream_consumer_group_lag_messages The group's lag on the topic, all partitions.
# TYPE fraudstream_consumer_group_lag_messages gauge
fraudstream_consumer_group_lag_messages{group="g",topic="t"} 20
# HELP fraudstream_consumer_group_status The group's status by Burrow's rules: 0 OK, 1 WARN, 2 ERR.
# TYPE fraudstream_consumer_group_status gauge
fraudstream_consumer_group_status{group="g",topic="t"} 2
# HELP fraudstream_topic_input_messages_per_second Growth of the topic's log-end offsets per second, all partitions, since the previous sample.
# TYPE fraudstream_topic_input_messages_per_second gauge
fraudstream_topic_input_messages_per_second{topic="t"} 20
# HELP fraudstream_consumer_processed_messages_per_second Growth of the group's committed offsets per second, all partitions, since the previous sample.
# TYPE fraudstream_consumer_processed_messages_per_second gauge
fraudstream_consumer_processed_messages_per_second{group="g",topic="t"} 10
# HELP fraudstream_monitor_samples_total Samples of the group's offsets taken.
# TYPE fraudstream_monitor_samples_total counter
fraudstream_monitor_samples_total{group="g",topic="t"} 2
# HELP fraudstream_monitor_status_changes_total Status changes (alerts), by scope: a partition or the group.
# TYPE fraudstream_monitor_status_changes_total counter
fraudstream_monitor_status_changes_total{group="g",topic="t",scope="partition"} 2
fraudstream_monitor_status_changes_total{group="g",topic="t",scope="group"} 1
# HELP fraudstream_consumer_committed_offset The group's committed offset (-1: none yet).
# TYPE fraudstream_consumer_committed_offset gauge
fraudstream_consumer_committed_offset{group="g",topic="t",partition="0"} 10
fraudstream_consumer_committed_offset{group="g",topic="t",partition="1"} -1
# HELP fraudstream_topic_log_end_offset The partition's log-end offset (the next one written).
# TYPE fraudstream_topic_log_end_offset gauge
fraudstream_topic_log_end_offset{topic="t",partition="0"} 20
fraudstream_topic_log_end_offset{topic="t",partition="1"} 14
# HELP fraudstream_consumer_lag_messages Log end minus the committed offset (or the log start when nothing is committed).
# TYPE fraudstream_consumer_lag_messages gauge
fraudstream_consumer_lag_messages{group="g",topic="t",partition="0"} 10
fraudstream_consumer_lag_messages{group="g",topic="t",partition="1"} 10
# HELP fraudstream_consumer_partition_status The partition's status by Burrow's rules over the last 10 samples: 0 OK, 1 WARN, 2 STALL, 3 STOP.
# TYPE fraudstream_consumer_partition_status gauge
fraudstream_consumer_partition_status{group="g",topic="t",partition="0"} 1
fraudstream_consumer_partition_status{group="g",topic="t",partition="1"} 2
)");
}

}  // namespace
}  // namespace fraud
