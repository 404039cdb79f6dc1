#include "dashboard/dashboard.h"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

#include "core/status.h"
#include "simdjson.h"

namespace fraud {
namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The value at rank q of sorted values (nearest rank).
double Rank(const std::vector<float>& sorted, double q) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(q * sorted.size()));
  return sorted[i];
}

nlohmann::json NullUnless(bool present, double value) {
  return present ? nlohmann::json(value) : nlohmann::json(nullptr);
}

}  // namespace

absl::StatusOr<PredictionEvent> ParsePrediction(std::string_view json) {
  namespace od = simdjson::ondemand;
  thread_local od::parser parser;
  thread_local std::string padded;
  padded.assign(json);
  padded.resize(json.size() + simdjson::SIMDJSON_PADDING, '\0');
  od::document doc;
  if (parser.iterate(padded.data(), json.size(), padded.size()).get(doc)) {
    return absl::InvalidArgumentError("prediction: not JSON");
  }
  PredictionEvent e;
  bool model_seen = false, version_seen = false;
  od::object object;
  if (doc.get_object().get(object)) return absl::InvalidArgumentError("prediction: not an object");
  int found = 0;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return absl::InvalidArgumentError("prediction: bad key");
    od::value value = field.value();
    simdjson::error_code error = simdjson::SUCCESS;
    std::string_view text;
    if (key == "transaction_id") {
      error = value.get_int64().get(e.transaction_id), ++found;
    } else if (key == "customer_id") {
      error = value.get_int64().get(e.customer_id), ++found;
    } else if (key == "terminal_id") {
      error = value.get_int64().get(e.terminal_id);
    } else if (key == "score") {
      error = value.get_double().get(e.score), ++found;
    } else if (key == "is_fraud") {
      error = value.get_bool().get(e.is_fraud), ++found;
    } else if (key == "threshold") {
      error = value.get_double().get(e.threshold);
    } else if (key == "processing_latency_ms") {
      error = value.get_double().get(e.latency_ms);
    } else if (key == "model") {
      error = value.get_string().get(text);
      e.model = text, model_seen = true;
    } else if (key == "model_version") {
      error = value.get_string().get(text);
      e.model_version = text, version_seen = true;
    } else if (key == "event_time") {
      error = value.get_string().get(text);
      e.event_time = text;
    }
    if (error) {
      return absl::InvalidArgumentError(
          fmt::format("prediction: field {}: {}", key, simdjson::error_message(error)));
    }
  }
  if (found < 4 || !model_seen || !version_seen) {
    return absl::InvalidArgumentError(
        "prediction: needs transaction_id, customer_id, score, is_fraud, model, model_version");
  }
  return e;
}

DashboardState::DashboardState(Options options) : options_(options), started_ms_(WallMs()) {}

void DashboardState::AddPredictions(const std::vector<PredictionEvent>& events) {
  std::lock_guard lock(mu_);
  for (const PredictionEvent& e : events) {
    ++predictions_;
    ++open_predictions_;
    ++versions_[e.model + " " + e.model_version];
    if (open_latencies_ms_.size() < 200'000) {
      open_latencies_ms_.push_back(static_cast<float>(e.latency_ms));
    }
    if (!e.is_fraud) continue;
    ++flagged_;
    ++open_flagged_;
    flagged_recent_.push_front(e);
    if (flagged_recent_.size() > options_.recent_flagged) flagged_recent_.pop_back();
  }
}

void DashboardState::AddUnreadable(int64_t count, std::string reason) {
  std::lock_guard lock(mu_);
  unreadable_ += count;
  unreadable_reason_ = std::move(reason);
}

void DashboardState::AddLag(const LagReport& report) {
  std::lock_guard lock(mu_);
  Point p;
  p.time_ms = report.time_ms;
  p.input_tps = report.input_rate;
  p.processed_tps = report.processing_rate;
  p.lag = report.lag;
  p.predictions = open_predictions_;
  p.flagged = open_flagged_;
  p.rates = !points_.empty();
  if (p.rates) {
    const double seconds = (p.time_ms - points_.back().time_ms) / 1000.0;
    p.predictions_per_s = seconds > 0 ? open_predictions_ / seconds : 0;
  }
  std::sort(open_latencies_ms_.begin(), open_latencies_ms_.end());
  p.p50_ms = Rank(open_latencies_ms_, 0.50);
  p.p90_ms = Rank(open_latencies_ms_, 0.90);
  p.p99_ms = Rank(open_latencies_ms_, 0.99);
  p.max_ms = open_latencies_ms_.empty() ? 0 : open_latencies_ms_.back();
  open_latencies_ms_.clear();
  open_predictions_ = open_flagged_ = 0;
  points_.push_back(p);
  if (points_.size() > options_.history_points) points_.pop_front();

  partitions_ = report.partitions;
  group_status_ = std::string(Name(report.status));
  for (const StatusChange& c : report.changes) {
    changes_.push_front({{"time_ms", report.time_ms},
                         {"partition", c.partition},
                         {"from", c.from},
                         {"to", c.to},
                         {"lag", c.lag}});
    if (changes_.size() > options_.recent_changes) changes_.pop_back();
  }
}

void DashboardState::SetModel(nlohmann::json model) {
  std::lock_guard lock(mu_);
  model_ = std::move(model);
}

void DashboardState::SetError(const std::string& source, std::string message) {
  std::lock_guard lock(mu_);
  if (message.empty()) {
    errors_.erase(source);
  } else {
    errors_[source] = std::move(message);
  }
}

nlohmann::json DashboardState::PointJson(const Point& p) {
  const bool scored = p.predictions > 0;
  return {{"time_ms", p.time_ms},
          {"input_tps", NullUnless(p.rates, p.input_tps)},
          {"processed_tps", NullUnless(p.rates, p.processed_tps)},
          {"predictions_per_s", NullUnless(p.rates, p.predictions_per_s)},
          {"lag", p.lag},
          {"predictions", p.predictions},
          {"flagged", p.flagged},
          {"fraud_rate", NullUnless(scored, scored ? double(p.flagged) / p.predictions : 0)},
          {"latency_ms",
           {{"p50", NullUnless(scored, p.p50_ms)},
            {"p90", NullUnless(scored, p.p90_ms)},
            {"p99", NullUnless(scored, p.p99_ms)},
            {"max", NullUnless(scored, p.max_ms)}}}};
}

nlohmann::json DashboardState::Snapshot(int64_t now_ms) const {
  std::lock_guard lock(mu_);
  nlohmann::json out;
  out["time_ms"] = now_ms;
  out["started_ms"] = started_ms_;
  out["totals"] = {{"predictions", predictions_},
                   {"flagged", flagged_},
                   {"unreadable", unreadable_},
                   {"unreadable_reason", unreadable_reason_}};
  nlohmann::json points = nlohmann::json::array();
  for (const Point& p : points_) points.push_back(PointJson(p));
  nlohmann::json current = points_.empty() ? PointJson(Point{}) : points.back();
  // The fraud share over the last rate_points points: one second is too few transactions
  // at 50 TPS for a readable rate.
  int64_t scored = 0, flagged = 0;
  for (size_t i = points_.size() > options_.rate_points ? points_.size() - options_.rate_points : 0;
       i < points_.size(); ++i) {
    scored += points_[i].predictions;
    flagged += points_[i].flagged;
  }
  current["fraud_rate"] = NullUnless(scored > 0, scored > 0 ? double(flagged) / scored : 0);
  current["fraud_rate_predictions"] = scored;
  out["current"] = std::move(current);
  out["points"] = std::move(points);
  nlohmann::json partitions = nlohmann::json::array();
  for (const PartitionReport& p : partitions_) {
    partitions.push_back({{"partition", p.partition},
                          {"committed", p.committed},
                          {"log_end", p.log_end},
                          {"lag", p.lag},
                          {"status", std::string(Name(p.status))}});
  }
  out["partitions"] = std::move(partitions);
  out["group_status"] = group_status_;
  out["changes"] = nlohmann::json(std::vector<nlohmann::json>(changes_.begin(), changes_.end()));
  nlohmann::json recent = nlohmann::json::array();
  for (const PredictionEvent& e : flagged_recent_) {
    recent.push_back({{"transaction_id", e.transaction_id},
                      {"customer_id", e.customer_id},
                      {"terminal_id", e.terminal_id},
                      {"score", e.score},
                      {"threshold", e.threshold},
                      {"event_time", e.event_time},
                      {"model_version", e.model_version},
                      {"latency_ms", e.latency_ms}});
  }
  out["flagged"] = std::move(recent);
  out["model"] = model_;
  out["versions"] = versions_;
  out["errors"] = errors_;
  return out;
}

nlohmann::json ModelCard(const LoadedModel& model, const std::string& reference) {
  const nlohmann::ordered_json& manifest = model.artifact.manifest;
  nlohmann::json card = {{"name", model.name},
                         {"version", model.version},
                         {"reference", reference},
                         {"threshold", model.artifact.threshold},
                         {"kind", model.artifact.kind()},
                         {"features", model.artifact.features.size()}};
  card["metrics"] =
      manifest.contains("metrics") ? nlohmann::json::parse(manifest["metrics"].dump()) : nullptr;
  return card;
}

LiveDashboard::LiveDashboard(DashboardOptions options, std::shared_ptr<LiveModel> model)
    : options_(std::move(options)),
      model_(std::move(model)),
      state_(DashboardState::Options{.history_points = options_.history_points}) {}

absl::StatusOr<std::unique_ptr<LiveDashboard>> LiveDashboard::Start(
    DashboardOptions options, std::shared_ptr<LiveModel> model) {
  std::unique_ptr<LiveDashboard> d(new LiveDashboard(std::move(options), std::move(model)));
  d->RefreshModel();
  d->sampler_ = std::thread([p = d.get()] { p->SampleLoop(); });
  d->reader_ = std::thread([p = d.get()] { p->ReadLoop(); });
  return d;
}

LiveDashboard::~LiveDashboard() {
  stop_ = true;
  if (sampler_.joinable()) sampler_.join();
  if (reader_.joinable()) reader_.join();
}

void LiveDashboard::RefreshModel() {
  if (model_ == nullptr) return;
  const absl::StatusOr<bool> moved = model_->Refresh();
  state_.SetError("model", moved.ok() ? "" : std::string(moved.status().message()));
  state_.SetModel(ModelCard(*model_->Current(), model_->reference()));
}

// The lag of the group on the input topic, one point per interval. Retries (showing the
// error) while the broker or the topic is not there yet.
void LiveDashboard::SampleLoop() {
  MonitorOptions monitor{.brokers = options_.brokers,
                         .group = options_.group,
                         .topic = options_.input_topic,
                         .kafka_settings = options_.kafka_settings,
                         .kafka_config_file = options_.kafka_config_file};
  std::unique_ptr<LagMonitor> lag;
  auto next = std::chrono::steady_clock::now();
  while (!stop_) {
    if (lag == nullptr) {
      absl::StatusOr<std::unique_ptr<LagMonitor>> created = LagMonitor::Create(monitor);
      if (created.ok()) {
        lag = *std::move(created);
      } else {
        state_.SetError("lag", std::string(created.status().message()));
      }
    }
    if (lag != nullptr) {
      const absl::StatusOr<LagReport> report = lag->Sample();
      if (report.ok()) {
        state_.AddLag(*report);
        state_.SetError("lag", "");
      } else {
        state_.SetError("lag", std::string(report.status().message()));
      }
    }
    RefreshModel();
    next += std::chrono::milliseconds(options_.interval_ms);
    while (!stop_ && std::chrono::steady_clock::now() < next) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

// The predictions topic from its end (what is produced from now on), every partition
// assigned directly: the dashboard is no member of any group and commits nothing.
absl::StatusOr<KafkaClient> LiveDashboard::OpenPredictions() const {
  // The partitions and their ends from the watermarks (LagMonitor reads them for any topic).
  MonitorOptions topic{.brokers = options_.brokers,
                       .group = "fraudstream-dashboard",
                       .topic = options_.predictions_topic,
                       .kafka_settings = options_.kafka_settings,
                       .kafka_config_file = options_.kafka_config_file};
  ASSIGN_OR_RETURN(const std::unique_ptr<LagMonitor> ends, LagMonitor::Create(topic));
  ASSIGN_OR_RETURN(const std::vector<PartitionOffsets> offsets, ends->Query());
  KafkaSettings settings = DefaultConsumerSettings(options_.brokers, topic.group);
  settings.Set("enable.auto.commit", "false");
  // A viewer that fell behind a topic's retention jumps to the end (the workers treat the
  // same event as data loss; here it only skips what nobody is waiting for).
  settings.Set("auto.offset.reset", "latest");
  if (!options_.kafka_config_file.empty()) {
    RETURN_IF_ERROR(settings.ApplyFile(options_.kafka_config_file));
  }
  RETURN_IF_ERROR(settings.Apply(options_.kafka_settings));
  ASSIGN_OR_RETURN(KafkaClient consumer, KafkaClient::Consumer(settings));
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(offsets.size());
  for (const PartitionOffsets& p : offsets) {
    rd_kafka_topic_partition_list_add(list, options_.predictions_topic.c_str(), p.partition)
        ->offset = p.log_end;
  }
  const rd_kafka_resp_err_t err = rd_kafka_assign(consumer.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(
        fmt::format("assign {}: {}", options_.predictions_topic, rd_kafka_err2str(err)));
  }
  return consumer;
}

void LiveDashboard::ReadLoop() {
  std::optional<KafkaClient> consumer;
  std::vector<PredictionEvent> events;
  int64_t unreadable = 0;
  std::string reason;
  auto flushed = std::chrono::steady_clock::now();
  while (!stop_) {
    if (!consumer) {
      absl::StatusOr<KafkaClient> opened = OpenPredictions();
      if (!opened.ok()) {
        state_.SetError("predictions", std::string(opened.status().message()));
        for (int i = 0; i < 50 && !stop_; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        continue;
      }
      consumer.emplace(*std::move(opened));
      state_.SetError("predictions", "");
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer->get(), 100);
    if (m != nullptr) {
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        absl::StatusOr<PredictionEvent> e =
            ParsePrediction(std::string_view(static_cast<const char*>(m->payload), m->len));
        if (e.ok()) {
          events.push_back(*std::move(e));
        } else {
          ++unreadable;
          reason = std::string(e.status().message());
        }
      } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        state_.SetError("predictions", rd_kafka_message_errstr(m));
      }
      rd_kafka_message_destroy(m);
    }
    const auto now = std::chrono::steady_clock::now();
    if (events.size() >= 10'000 || now - flushed >= std::chrono::milliseconds(100)) {
      state_.AddPredictions(events);
      if (unreadable > 0) state_.AddUnreadable(unreadable, reason);
      events.clear();
      unreadable = 0;
      flushed = now;
    }
  }
}

}  // namespace fraud
