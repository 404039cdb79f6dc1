#pragma once

// The live dashboard (`fraudstream dashboard`, issue 9): what a person watching the loop wants
// to see, gathered from Kafka and the registry and served as one web page (dashboard/page.h)
// that polls GET /api/state every second.
//
// Sources, all read-only, so the dashboard can watch any deployment without touching it:
//   - the consumer group's lag on the input topic (monitor/lag_monitor.h: committed against
//     log-end offsets; Burrow's statuses; input and processing rates), sampled every interval;
//   - the predictions topic, read from its end without joining a group: predictions per
//     second, the share flagged as fraud, the processing latency each prediction carries
//     (DESIGN §7), the versions scoring, the most recent flagged transactions;
//   - the model the reference points at (registry/live_model.h), when one is given: name,
//     version, threshold and the metrics of its training run.
//
// DashboardState is the pure part (events in, a JSON snapshot out), LiveDashboard runs the
// two Kafka readers and the model refresh on background threads:
//
//   ASSIGN_OR_RETURN(auto live, LiveDashboard::Start(options, model_or_null));
//   std::string json = live->state().Snapshot(NowMs()).dump();
//   live.reset();  // stops and joins the threads
//
// DashboardState is thread-safe (one mutex); LiveDashboard::Start and the destructor from one
// thread.

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "monitor/lag_monitor.h"
#include "nlohmann/json.hpp"
#include "registry/live_model.h"

namespace fraud {

// One message of the predictions topic (stream/worker.h writes them).
struct PredictionEvent {
  int64_t transaction_id = 0;
  int64_t customer_id = 0;
  int64_t terminal_id = 0;
  double score = 0;
  bool is_fraud = false;
  double threshold = 0;
  double latency_ms = 0;  // message produced -> prediction produced
  std::string model;
  std::string model_version;
  std::string event_time;  // the transaction's
};

// InvalidArgument naming what is malformed, missing or mistyped.
absl::StatusOr<PredictionEvent> ParsePrediction(std::string_view json);

class DashboardState {
 public:
  struct Options {
    size_t history_points = 300;  // points kept for the charts (one per lag sample)
    size_t recent_flagged = 15;   // flagged transactions listed, newest first
    size_t recent_changes = 12;   // status changes listed
    size_t rate_points = 60;      // points the fraud rate is taken over
  };
  DashboardState() : DashboardState(Options{}) {}
  explicit DashboardState(Options options);

  // Predictions read since the last call (in topic order).
  void AddPredictions(const std::vector<PredictionEvent>& events);
  // Predictions topic messages that were not predictions (counted, the last reason kept).
  void AddUnreadable(int64_t count, std::string reason);
  // Closes a point: the report's lag and rates, and the predictions added since the previous
  // point (their rate, fraud share and latency percentiles).
  void AddLag(const LagReport& report);
  // The serving model as the registry sees it (null metrics when the run logged none).
  void SetModel(nlohmann::json model);
  // The latest error of a source ("lag", "predictions", "model"); an empty message clears it.
  void SetError(const std::string& source, std::string message);

  // {"time_ms", "started_ms", "totals": {predictions, flagged, unreadable}, "current": {input_tps,
  // processed_tps, predictions_per_s, lag, fraud_rate, latency_ms: {p50, p90, p99, max}},
  // "points": [...], "partitions": [...], "group_status", "changes": [...], "flagged": [...],
  // "model", "versions": {version: predictions}, "errors": {source: message}}. Rates are null
  // before two samples, percentiles and the fraud rate null without predictions.
  nlohmann::json Snapshot(int64_t now_ms) const;
  // Predictions read so far (cheap: no snapshot).
  int64_t predictions() const {
    std::lock_guard lock(mu_);
    return predictions_;
  }

 private:
  struct Point {
    int64_t time_ms = 0;
    double input_tps = 0;
    double processed_tps = 0;
    double predictions_per_s = 0;
    int64_t lag = 0;
    int64_t predictions = 0;
    int64_t flagged = 0;
    double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
    bool rates = false;  // false for the first sample: no rate yet
  };
  static nlohmann::json PointJson(const Point& p);

  const Options options_;
  mutable std::mutex mu_;
  int64_t started_ms_ = 0;
  int64_t predictions_ = 0, flagged_ = 0, unreadable_ = 0;
  std::string unreadable_reason_;
  // Since the last point.
  int64_t open_predictions_ = 0, open_flagged_ = 0;
  std::vector<float> open_latencies_ms_;
  std::deque<Point> points_;
  std::vector<PartitionReport> partitions_;
  std::string group_status_ = "OK";
  std::deque<nlohmann::json> changes_;
  std::deque<PredictionEvent> flagged_recent_;
  std::map<std::string, int64_t> versions_;
  nlohmann::json model_;
  std::map<std::string, std::string> errors_;
};

struct DashboardOptions {
  std::string brokers;
  std::string group = kDefaultGroup;
  std::string input_topic = kInputTopic;
  std::string predictions_topic = kPredictionsTopic;
  std::vector<std::string> kafka_settings;  // -X key=value
  std::string kafka_config_file;
  int64_t interval_ms = 1000;   // lag samples, chart points and model refreshes
  size_t history_points = 300;  // chart points kept
};

class LiveDashboard {
 public:
  // model: may be null (the model card then shows what the predictions say).
  static absl::StatusOr<std::unique_ptr<LiveDashboard>> Start(DashboardOptions options,
                                                              std::shared_ptr<LiveModel> model);
  ~LiveDashboard();
  LiveDashboard(const LiveDashboard&) = delete;
  LiveDashboard& operator=(const LiveDashboard&) = delete;

  const DashboardState& state() const { return state_; }

 private:
  LiveDashboard(DashboardOptions options, std::shared_ptr<LiveModel> model);
  void SampleLoop();
  void ReadLoop();
  absl::StatusOr<KafkaClient> OpenPredictions() const;
  void RefreshModel();

  const DashboardOptions options_;
  std::shared_ptr<LiveModel> model_;
  DashboardState state_;
  std::atomic<bool> stop_ = false;
  std::thread sampler_;
  std::thread reader_;
};

// The model card of a loaded version: name, version, reference, threshold, kind, features,
// and the manifest's metrics.
nlohmann::json ModelCard(const LoadedModel& model, const std::string& reference);

}  // namespace fraud
