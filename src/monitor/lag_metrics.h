#pragma once

// `fraudstream monitor --metrics-port`: each LagReport as Prometheus gauges (metrics/metrics.h).
// Families (labels group, topic, partition as given; no others):
//
//   fraudstream_consumer_committed_offset{group,topic,partition}  -1: nothing committed
//   fraudstream_topic_log_end_offset{topic,partition}
//   fraudstream_consumer_lag_messages{group,topic,partition}
//   fraudstream_consumer_partition_status{group,topic,partition}  0 OK, 1 WARN, 2 STALL, 3 STOP
//   fraudstream_consumer_group_lag_messages{group,topic}
//   fraudstream_consumer_group_status{group,topic}                0 OK, 1 WARN, 2 ERR
//   fraudstream_topic_input_messages_per_second{topic}            log-end growth
//   fraudstream_consumer_processed_messages_per_second{group,topic}  committed growth
//   fraudstream_monitor_samples_total{group,topic}
//   fraudstream_monitor_status_changes_total{group,topic,scope="partition"|"group"}
//
// The statuses are numbers so that an alert is a comparison (`..._partition_status >= 2`);
// the mapping is the enums' order in monitor/burrow.h. Not thread-safe (one sampling thread);
// the registry is.

#include <cstdint>
#include <map>
#include <string>

#include "metrics/metrics.h"
#include "monitor/lag_monitor.h"

namespace fraud {

class LagMetrics {
 public:
  LagMetrics(MetricsRegistry& registry, std::string group, std::string topic);
  void Publish(const LagReport& report);

 private:
  struct PartitionSeries {
    Gauge* committed;
    Gauge* log_end;
    Gauge* lag;
    Gauge* status;
  };
  PartitionSeries& Partition(int32_t partition);

  MetricsRegistry& registry_;
  std::string group_;
  std::string topic_;
  std::map<int32_t, PartitionSeries> partitions_;
  Gauge& group_lag_;
  Gauge& group_status_;
  Gauge& input_rate_;
  Gauge& processing_rate_;
  Counter& samples_;
  Counter& partition_changes_;
  Counter& group_changes_;
};

}  // namespace fraud
