#include "monitor/lag_monitor.h"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <utility>

#include "core/status.h"
#include "fmt/format.h"

namespace fraud {

LagReport LagTracker::Add(int64_t time_ms, const std::vector<PartitionOffsets>& offsets) {
  LagReport report;
  report.time_ms = time_ms;
  int64_t log_end = 0;
  int64_t committed = 0;
  std::vector<PartitionStatus> statuses;
  for (const PartitionOffsets& o : offsets) {
    const int64_t base = o.committed >= 0 ? o.committed : o.log_start;
    PartitionReport p{.partition = o.partition,
                      .committed = o.committed,
                      .log_end = o.log_end,
                      .lag = std::max<int64_t>(0, o.log_end - base)};
    Partition& state = partitions_[o.partition];
    if (state.window.empty() || state.window.back().committed != o.committed) {
      state.last_commit_ms = time_ms;
    }
    state.window.push_back({.time_ms = time_ms, .committed = o.committed, .lag = p.lag});
    if (state.window.size() > static_cast<size_t>(kWindowSize)) state.window.pop_front();
    p.status = EvaluatePartition(std::vector<LagSample>(state.window.begin(), state.window.end()),
                                 state.last_commit_ms);
    if (p.status != state.status) {
      report.changes.push_back({.partition = o.partition,
                                .from = std::string(Name(state.status)),
                                .to = std::string(Name(p.status)),
                                .lag = p.lag});
      state.status = p.status;
    }
    statuses.push_back(p.status);
    report.lag += p.lag;
    log_end += o.log_end;
    committed += std::max<int64_t>(0, base);
    report.partitions.push_back(p);
  }
  report.status = EvaluateGroup(statuses);
  if (report.status != status_) {
    report.changes.push_back({.partition = -1,
                              .from = std::string(Name(status_)),
                              .to = std::string(Name(report.status)),
                              .lag = report.lag});
    status_ = report.status;
  }
  if (previous_ms_ >= 0 && time_ms > previous_ms_) {
    const double seconds = (time_ms - previous_ms_) * 1e-3;
    report.input_rate = std::max<int64_t>(0, log_end - previous_log_end_) / seconds;
    report.processing_rate = std::max<int64_t>(0, committed - previous_committed_) / seconds;
  }
  previous_ms_ = time_ms;
  previous_log_end_ = log_end;
  previous_committed_ = committed;
  report.log_end = log_end;
  report.committed = committed;
  return report;
}

LagMonitor::LagMonitor(MonitorOptions options, KafkaClient client)
    : options_(std::move(options)), client_(std::move(client)) {}

absl::StatusOr<std::unique_ptr<LagMonitor>> LagMonitor::Create(const MonitorOptions& options) {
  KafkaSettings settings = DefaultConsumerSettings(options.brokers, options.group);
  settings.Set("enable.auto.commit", "false");  // it never consumes; never commits either
  if (!options.kafka_config_file.empty())
    RETURN_IF_ERROR(settings.ApplyFile(options.kafka_config_file));
  RETURN_IF_ERROR(settings.Apply(options.kafka_settings));
  ASSIGN_OR_RETURN(KafkaClient client, KafkaClient::Consumer(settings));
  return std::unique_ptr<LagMonitor>(new LagMonitor(options, std::move(client)));
}

absl::StatusOr<std::vector<PartitionOffsets>> LagMonitor::Query() {
  constexpr int kTimeoutMs = 5000;
  rd_kafka_t* rk = client_.get();
  rd_kafka_topic_t* handle = rd_kafka_topic_new(rk, options_.topic.c_str(), nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, handle, &metadata, kTimeoutMs);
  rd_kafka_topic_destroy(handle);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(fmt::format("metadata of {} from {}: {}", options_.topic,
                                              options_.brokers, rd_kafka_err2str(err)));
  }
  int partitions = 0;
  rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
  if (metadata->topic_cnt == 1) {
    partitions = metadata->topics[0].partition_cnt;
    topic_err = metadata->topics[0].err;
  }
  rd_kafka_metadata_destroy(metadata);
  if (topic_err != RD_KAFKA_RESP_ERR_NO_ERROR || partitions == 0) {
    return absl::NotFoundError(
        fmt::format("topic {}: {}", options_.topic, rd_kafka_err2str(topic_err)));
  }
  std::vector<PartitionOffsets> out(partitions);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int32_t p = 0; p < partitions; ++p) {
    out[p].partition = p;
    rd_kafka_topic_partition_list_add(list, options_.topic.c_str(), p);
    const rd_kafka_resp_err_t w = rd_kafka_query_watermark_offsets(
        rk, options_.topic.c_str(), p, &out[p].log_start, &out[p].log_end, kTimeoutMs);
    if (w != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_topic_partition_list_destroy(list);
      return absl::UnavailableError(
          fmt::format("log-end offset of {} [{}]: {}", options_.topic, p, rd_kafka_err2str(w)));
    }
  }
  const rd_kafka_resp_err_t c = rd_kafka_committed(rk, list, kTimeoutMs);
  if (c == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& e = list->elems[i];
      if (e.err == RD_KAFKA_RESP_ERR_NO_ERROR && e.offset >= 0)
        out[e.partition].committed = e.offset;
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
  if (c != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(
        fmt::format("committed offsets of group {}: {}", options_.group, rd_kafka_err2str(c)));
  }
  return out;
}

absl::StatusOr<LagReport> LagMonitor::Sample() {
  ASSIGN_OR_RETURN(const std::vector<PartitionOffsets> offsets, Query());
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  return tracker_.Add(now_ms, offsets);
}

}  // namespace fraud
