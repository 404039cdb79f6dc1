#include "monitor/lag_metrics.h"

#include <utility>

namespace fraud {
namespace {

constexpr char kChangesHelp[] = "Status changes (alerts), by scope: a partition or the group.";

}  // namespace

LagMetrics::LagMetrics(MetricsRegistry& registry, std::string group, std::string topic)
    : registry_(registry),
      group_(std::move(group)),
      topic_(std::move(topic)),
      group_lag_(registry.GetGauge("fraudstream_consumer_group_lag_messages",
                                   "The group's lag on the topic, all partitions.",
                                   {{"group", group_}, {"topic", topic_}})),
      group_status_(registry.GetGauge("fraudstream_consumer_group_status",
                                      "The group's status by Burrow's rules: 0 OK, 1 WARN, 2 ERR.",
                                      {{"group", group_}, {"topic", topic_}})),
      input_rate_(registry.GetGauge("fraudstream_topic_input_messages_per_second",
                                    "Growth of the topic's log-end offsets per second, all "
                                    "partitions, since the previous sample.",
                                    {{"topic", topic_}})),
      processing_rate_(registry.GetGauge("fraudstream_consumer_processed_messages_per_second",
                                         "Growth of the group's committed offsets per second, "
                                         "all partitions, since the previous sample.",
                                         {{"group", group_}, {"topic", topic_}})),
      samples_(registry.GetCounter("fraudstream_monitor_samples_total",
                                   "Samples of the group's offsets taken.",
                                   {{"group", group_}, {"topic", topic_}})),
      partition_changes_(
          registry.GetCounter("fraudstream_monitor_status_changes_total", kChangesHelp,
                              {{"group", group_}, {"topic", topic_}, {"scope", "partition"}})),
      group_changes_(
          registry.GetCounter("fraudstream_monitor_status_changes_total", kChangesHelp,
                              {{"group", group_}, {"topic", topic_}, {"scope", "group"}})) {}

LagMetrics::PartitionSeries& LagMetrics::Partition(int32_t partition) {
  auto it = partitions_.find(partition);
  if (it != partitions_.end()) return it->second;
  const std::string p = std::to_string(partition);
  const MetricLabels labels = {{"group", group_}, {"topic", topic_}, {"partition", p}};
  PartitionSeries series{
      .committed = &registry_.GetGauge("fraudstream_consumer_committed_offset",
                                       "The group's committed offset (-1: none yet).", labels),
      .log_end = &registry_.GetGauge("fraudstream_topic_log_end_offset",
                                     "The partition's log-end offset (the next one written).",
                                     {{"topic", topic_}, {"partition", p}}),
      .lag = &registry_.GetGauge("fraudstream_consumer_lag_messages",
                                 "Log end minus the committed offset (or the log start when "
                                 "nothing is committed).",
                                 labels),
      .status = &registry_.GetGauge("fraudstream_consumer_partition_status",
                                    "The partition's status by Burrow's rules over the last 10 "
                                    "samples: 0 OK, 1 WARN, 2 STALL, 3 STOP.",
                                    labels),
  };
  return partitions_.emplace(partition, series).first->second;
}

void LagMetrics::Publish(const LagReport& report) {
  for (const PartitionReport& p : report.partitions) {
    PartitionSeries& series = Partition(p.partition);
    series.committed->Set(static_cast<double>(p.committed));
    series.log_end->Set(static_cast<double>(p.log_end));
    series.lag->Set(static_cast<double>(p.lag));
    series.status->Set(static_cast<double>(p.status));
  }
  group_lag_.Set(static_cast<double>(report.lag));
  group_status_.Set(static_cast<double>(report.status));
  input_rate_.Set(report.input_rate);
  processing_rate_.Set(report.processing_rate);
  samples_.Inc();
  for (const StatusChange& change : report.changes) {
    (change.partition < 0 ? group_changes_ : partition_changes_).Inc();
  }
}

}  // namespace fraud
