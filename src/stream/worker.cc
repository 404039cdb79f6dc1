#include "stream/worker.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "core/clock.h"
#include "core/progress.h"
#include "core/status.h"
#include "core/time.h"
#include "data/reader.h"
#include "data/row_parser.h"
#include "fmt/compile.h"
#include "fmt/format.h"
#include "metrics/metrics.h"
#include "model/forest.h"
#include "nlohmann/json.hpp"
#include "stream/stream_state.h"

namespace fraud {
namespace {

// What was produced for one micro-batch, and the input offsets it covers. Its offsets are
// stored once every message produced for it and for every earlier batch is acknowledged.
struct PendingBatch {
  // Delivery reports count it down on whichever thread polls the producer.
  std::atomic<int64_t> outstanding = 0;
  bool failed = false;  // a produce was refused: neither this batch's offsets nor later ones
  std::vector<std::pair<int32_t, int64_t>> next_offset;  // input partition -> last offset + 1
  // The produced values (at-least-once): librdkafka points at them, without a copy, until
  // the batch is acknowledged. Blocks of kBlock bytes, so a value never moves once kept.
  std::vector<std::unique_ptr<char[]>> blocks;
  size_t used = 0;  // of the last block
  static constexpr size_t kBlock = 256 * 1024;

  // Covers offset of partition (a few partitions, one lookup per message: a flat list).
  void Cover(int32_t partition, int64_t offset) {
    for (auto& [p, next] : next_offset) {
      if (p == partition) {
        next = std::max(next, offset + 1);
        return;
      }
    }
    next_offset.emplace_back(partition, offset + 1);
  }

  // A copy of value that lives as long as the batch.
  std::string_view Keep(std::string_view value) {
    if (blocks.empty() || used + value.size() > kBlock) {
      blocks.push_back(std::make_unique_for_overwrite<char[]>(std::max(kBlock, value.size())));
      used = 0;
    }
    char* at = blocks.back().get() + used;
    std::memcpy(at, value.data(), value.size());
    used += value.size();
    return {at, value.size()};
  }
};

struct MessageDeleter {
  void operator()(rd_kafka_message_t* message) const { rd_kafka_message_destroy(message); }
};
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

// What a message that broke the rules needs for its DLQ record.
struct Rejected {
  std::string detail;  // what broke the rule
  std::string payload;
  std::string key;
};

// A fetched message, decoded, waiting for its turn in event time. The librdkafka message is
// released as soon as it is decoded: what scoring needs is copied here.
struct Held {
  Transaction tx;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;  // the message's (CreateTime or LogAppendTime), 0 if none
  int32_t partition = 0;
  Fault fault = Fault::kNone;
  std::unique_ptr<Rejected> rejected;  // fault != kNone
};

// A micro-batch between its two stages: features computed on the consuming thread (which
// alone touches the window state), then scored, formatted and produced on the emitting one.
struct Job {
  std::vector<Held> items;          // in the order taken
  std::vector<const Held*> scored;  // the items without a fault, in the order of rows
  std::vector<float> rows;          // their features, scored.size() x columns
  std::shared_ptr<const LoadedModel> model;
  std::unique_ptr<PendingBatch> batch;
};

// Prepared batches the consuming thread may be ahead of the emitting one.
constexpr size_t kQueuedJobs = 2;

// A partition whose queue of held messages grows past this is paused until it shrinks to a
// quarter (its event time is far ahead of another partition's).
constexpr size_t kMaxHeld = 20'000;

std::string_view Payload(const rd_kafka_message_t& m) {
  return {static_cast<const char*>(m.payload), m.len};
}
std::string_view Key(const rd_kafka_message_t& m) {
  return m.key == nullptr ? std::string_view()
                          : std::string_view(static_cast<const char*>(m.key), m.key_len);
}

// The worker's Prometheus series (StreamOptions::metrics), looked up once. The counters follow
// StreamStats: each update adds what the stats gained since the previous one.
struct WorkerMetrics {
  explicit WorkerMetrics(MetricsRegistry& r, std::string topic)
      : registry(r),
        input_topic(std::move(topic)),
        scored(Messages("scored")),
        invalid(Messages("invalid")),
        fraud(Predictions("fraud")),
        legit(Predictions("legit")),
        offset_resets(r.GetCounter("fraudstream_stream_offset_resets_total",
                                   "Input partitions whose offset was reset (data loss).")),
        batch_size(r.GetHistogram("fraudstream_batch_size", "Messages per micro-batch.",
                                  {1, 10, 50, 100, 500, 1000, 2000, 5000, 10000})),
        latency(r.GetHistogram(
            "fraudstream_stream_latency_seconds",
            "Message timestamp (producer or broker) to prediction produced, in seconds.",
            LatencyBuckets())) {}

  Counter& Messages(std::string_view result) {
    return registry.GetCounter("fraudstream_stream_messages_total",
                               "Input messages taken for scoring, by result (scored, or "
                               "invalid: sent to the DLQ).",
                               {{"result", std::string(result)}});
  }
  Counter& Predictions(std::string_view outcome) {
    return registry.GetCounter("fraudstream_predictions_total",
                               "Predictions produced, by outcome (score >= threshold: fraud).",
                               {{"outcome", std::string(outcome)}});
  }
  // One series per DLQ reason (a fault of data/row_parser.h: a dozen at most).
  Counter& DeadLetters(std::string_view reason) {
    const auto it = dead_letters.find(reason);
    if (it != dead_letters.end()) return *it->second;
    Counter& counter = registry.GetCounter(
        "fraudstream_stream_dead_letters_total",
        "Messages sent to the DLQ, by reason (the reason field of the DLQ record).",
        {{"reason", std::string(reason)}});
    dead_letters.emplace(std::string(reason), &counter);
    return counter;
  }
  Gauge& LagGauge(int32_t partition) {
    return registry.GetGauge("fraudstream_stream_lag_messages",
                             "Messages in this worker's input partitions not scored yet (log end "
                             "minus next offset to score); 0 once a partition is handed over.",
                             {{"topic", input_topic}, {"partition", std::to_string(partition)}});
  }
  // 1 for the model version scoring now, 0 for those it replaced.
  void ModelServing(const std::string& name, const std::string& version) {
    if (model_info != nullptr && name == model_name && version == model_version) return;
    if (model_info != nullptr) model_info->Set(0);
    model_info = &registry.GetGauge("fraudstream_model_info",
                                    "The model scoring now (1) and those it replaced (0).",
                                    {{"name", name}, {"version", version}});
    model_info->Set(1);
    model_name = name;
    model_version = version;
  }

  MetricsRegistry& registry;
  std::string input_topic;
  Counter& scored;
  Counter& invalid;
  Counter& fraud;
  Counter& legit;
  Counter& offset_resets;
  Histogram& batch_size;
  Histogram& latency;
  Gauge* model_info = nullptr;
  std::string model_name, model_version;
  std::map<std::string, Counter*, std::less<>> dead_letters;
  std::map<int32_t, Gauge*> lag;  // the partitions reported so far
  StreamStats reported;           // the stats as of the last update
  int64_t lag_at = 0;             // when the lag was last updated
};

double Percentile(std::vector<float> values, double q) {
  if (values.empty()) return 0;
  const size_t k = std::min(values.size() - 1, static_cast<size_t>(q * values.size()));
  std::nth_element(values.begin(), values.begin() + k, values.end());
  return values[k];
}

}  // namespace

struct StreamWorker::Impl {
  StreamOptions options;
  std::shared_ptr<LiveModel> live;
  std::shared_ptr<const LoadedModel> serving;  // for the whole batch
  std::string refused_version;                 // a version with other features, refused
  std::unique_ptr<StreamState> state;
  MessageParser parser;
  // Declared before the producer, so destroyed after it: librdkafka may point into a batch's
  // values until it lets go of the message.
  std::mutex pending_mu;  // the emitting thread queues, the consuming one stores and pops
  std::deque<std::unique_ptr<PendingBatch>> pending;
  std::unique_ptr<KafkaClient> consumer;
  std::unique_ptr<KafkaClient> producer;
  std::map<int32_t, std::deque<Held>> held;  // per owned partition, in offset order
  std::map<int32_t, bool> at_end;            // the partition's fetch reached its log end
  std::map<int32_t, bool> paused;
  // The first permanent delivery failure (at-least-once); reports arrive on whichever
  // thread polls the producer.
  std::mutex delivery_mu;
  absl::Status delivery_error;
  absl::Status rebalance_error;  // a partition's state could not be rebuilt
  bool produce_failed = false;   // a batch's produce was refused: no offset stored after it
  StreamStats stats;
  std::mutex latency_mu;
  std::vector<float> latencies_ms;  // a sample, for the percentiles (under latency_mu)
  // Kept by the emitting thread, copied into stats by SyncStats().
  struct {
    std::atomic<int64_t> predicted = 0, flagged = 0, dead_lettered = 0, batches = 0;
  } emitted;
  // The emitting thread (at-least-once) and its queue of prepared batches.
  std::thread emitter;
  std::mutex emit_mu;
  std::condition_variable emit_cv;  // a job queued or done, or stopping
  std::deque<std::unique_ptr<Job>> jobs;
  bool emitting = false;    // a job is out of the queue, being emitted
  bool emit_stop = false;
  absl::Status emit_error;  // the first failed Emit (under emit_mu)
  int64_t last_activity = 0;        // last message or assignment (for idle_exit_seconds)
  int64_t progress_at = 0;          // when the progress line was last drawn
  int64_t progress_consumed = 0;
  int64_t progress_produced = 0;  // predictions and DLQ records
  int64_t checkpoint_at = 0;      // when the last periodic snapshot was written
  bool selectable = false;        // Select() left held messages it could take now
  double tokens = 0;              // --max-rate: messages that may be taken now
  int64_t tokens_at = 0;          // when tokens was last refilled

  std::unique_ptr<WorkerMetrics> metrics;  // when options.metrics is set

  Impl(const StreamOptions& o, std::shared_ptr<LiveModel> m)
      : options(o), live(std::move(m)), serving(live->Current()) {
    if (options.metrics != nullptr) {
      metrics = std::make_unique<WorkerMetrics>(*options.metrics, options.input_topic);
    }
  }

  ~Impl() { StopEmitter(); }

  const ModelArtifact& model() const { return serving->artifact; }

  // Between batches: the version the registry points at now, if it computes the features the
  // window state was built for.
  void FollowRegistry() {
    const absl::StatusOr<bool> moved = live->MaybeRefresh();
    if (!moved.ok()) {
      std::fprintf(stderr, "fraudstream stream: warning: %s; still scoring with %s version %s\n",
                   std::string(moved.status().message()).c_str(), serving->name.c_str(),
                   serving->version.c_str());
    }
    std::shared_ptr<const LoadedModel> next = live->Current();
    if (next == serving || next->version == refused_version) return;
    const FeatureSpec& now = serving->artifact.features;
    const FeatureSpec& then = next->artifact.features;
    if (now.name != then.name || now.version != then.version || now.names != then.names) {
      std::fprintf(stderr,
                   "fraudstream stream: warning: %s version %s computes the features %s, this "
                   "stream %s: not used (restart the workers to score with it)\n",
                   next->name.c_str(), next->version.c_str(), then.name.c_str(), now.name.c_str());
      refused_version = next->version;
      return;
    }
    std::fprintf(stderr, "fraudstream stream: %s version %s -> %s\n", next->name.c_str(),
                 serving->version.c_str(), next->version.c_str());
    serving = std::move(next);
    ++stats.model_swaps;
  }

  // Snapshots of the owned partitions' customers; a failure costs the next owner a longer
  // rebuild, so it is a warning.
  void Checkpoint() {
    if (absl::Status s = state->Checkpoint(); !s.ok()) {
      std::fprintf(stderr, "fraudstream stream: warning: %s\n", std::string(s.message()).c_str());
    }
  }

  static void OnDelivery(const rd_kafka_message_t* message, void* context) {
    auto* self = static_cast<Impl*>(context);
    auto* batch = static_cast<PendingBatch*>(message->_private);
    // Under --exactly-once a failed delivery fails the transaction's commit instead.
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR && !self->options.exactly_once) {
      std::lock_guard lock(self->delivery_mu);
      if (self->delivery_error.ok()) self->delivery_error = absl::UnavailableError(
          fmt::format("a prediction was not delivered: {}", rd_kafka_err2str(message->err)));
    }
    if (batch != nullptr) --batch->outstanding;
  }

  static void OnRebalance(rd_kafka_t* rk, int err, void* partitions, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    auto* list = static_cast<rd_kafka_topic_partition_list_t*>(partitions);
    const bool cooperative = std::string_view(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE";
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      self->last_activity = Clock::Real().NowNanos();  // idle time counts from here
      // Scoring resumes at the committed offsets; the customers of each partition are
      // rebuilt up to there first (StreamState::Assign).
      if (absl::Status s = self->ResolveCommitted(list); !s.ok() && self->rebalance_error.ok()) {
        self->rebalance_error = s;
      }
      if (self->rebalance_error.ok()) {
        std::map<int32_t, int64_t> next;
        for (int i = 0; i < list->cnt; ++i) next[list->elems[i].partition] = list->elems[i].offset;
        self->rebalance_error = self->state->Assign(next);
      }
      if (cooperative) {
        rd_kafka_error_t* error = rd_kafka_incremental_assign(rk, list);
        if (error != nullptr) rd_kafka_error_destroy(error);
      } else {
        rd_kafka_assign(rk, list);
      }
      // A partition paused while this worker last owned it (too much held) stays paused
      // through an assign (librdkafka 2.0): resumed, as the bookkeeping forgot it.
      rd_kafka_resume_partitions(rk, list);
      for (int i = 0; i < list->cnt; ++i) self->paused.erase(list->elems[i].partition);
      return;
    }
    // Revoked: what was scored for these partitions is acknowledged and committed before
    // another worker takes them over (under --exactly-once every batch is committed already).
    if (!self->options.exactly_once) {
      self->Drain(/*timeout_ms=*/10'000);
      rd_kafka_commit(rk, nullptr, /*async=*/0);
    }
    std::vector<int32_t> revoked;
    for (int i = 0; i < list->cnt; ++i) revoked.push_back(list->elems[i].partition);
    if (absl::Status s = self->state->Revoke(revoked); !s.ok() && self->rebalance_error.ok()) {
      self->rebalance_error = s;
    }
    if (cooperative) {
      rd_kafka_error_t* error = rd_kafka_incremental_unassign(rk, list);
      if (error != nullptr) rd_kafka_error_destroy(error);
    } else {
      rd_kafka_assign(rk, nullptr);
    }
  }

  // Sets each partition of list to the group's committed offset, or to the partition's
  // oldest message when the group never committed one (auto.offset.reset=error makes every
  // other "offset out of range" an error we see).
  absl::Status ResolveCommitted(rd_kafka_topic_partition_list_t* list) {
    const rd_kafka_resp_err_t err = rd_kafka_committed(consumer->get(), list, 10'000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnavailableError(
          fmt::format("committed offsets of {}: {}", options.input_topic, rd_kafka_err2str(err)));
    }
    for (int i = 0; i < list->cnt; ++i) {
      rd_kafka_topic_partition_t& tp = list->elems[i];
      if (tp.offset >= 0) continue;
      int64_t low = 0, high = 0;
      const rd_kafka_resp_err_t w = rd_kafka_query_watermark_offsets(
          consumer->get(), tp.topic, tp.partition, &low, &high, 10'000);
      if (w != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return absl::UnavailableError(
            fmt::format("offsets of {} [{}]: {}", tp.topic, tp.partition, rd_kafka_err2str(w)));
      }
      tp.offset = low;
    }
    return absl::OkStatus();
  }

  absl::Status Connect() {
    KafkaSettings consumer_settings = DefaultConsumerSettings(options.brokers, options.group);
    consumer_settings.Set("enable.partition.eof", "true");  // see Select()
    KafkaSettings producer_settings = DefaultProducerSettings(options.brokers);
    // The terminal feed and partition rebuilds: group-less, never committing.
    KafkaSettings reader_settings =
        DefaultConsumerSettings(options.brokers, options.group + ".state-reader");
    if (options.exactly_once) {
      consumer_settings.Set("enable.auto.commit", "false");  // offsets go in the transaction
      consumer_settings.Set("isolation.level", "read_committed");
      producer_settings.Set("transactional.id", options.transactional_id);
      // A worker killed mid-transaction holds back read_committed readers of its partitions
      // until the broker aborts it: keep that short (-X overrides it).
      producer_settings.Set("transaction.timeout.ms", "10000");
    }
    for (KafkaSettings* settings : {&consumer_settings, &producer_settings, &reader_settings}) {
      if (!options.kafka_config_file.empty()) {
        RETURN_IF_ERROR(settings->ApplyFile(options.kafka_config_file));
      }
      RETURN_IF_ERROR(settings->Apply(options.kafka_settings));
    }
    ASSIGN_OR_RETURN(KafkaClient c,
                     KafkaClient::Consumer(consumer_settings, this, &Impl::OnRebalance));
    consumer = std::make_unique<KafkaClient>(std::move(c));
    ASSIGN_OR_RETURN(KafkaClient p,
                     KafkaClient::Producer(producer_settings, &Impl::OnDelivery, this));
    producer = std::make_unique<KafkaClient>(std::move(p));
    if (options.exactly_once) {
      RETURN_IF_ERROR(TransactionCall("init_transactions",
                                      rd_kafka_init_transactions(producer->get(), 30'000)));
    }
    ASSIGN_OR_RETURN(state, StreamState::Create({.spec = model().features,
                                                 .topic = options.input_topic,
                                                 .reader_settings = reader_settings,
                                                 .allow_offset_reset = options.allow_offset_reset,
                                                 .checkpoint_dir = options.checkpoint_dir}));
    state->WarmUp(history);
    history.clear();
    history.shrink_to_fit();
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, options.input_topic.c_str(), RD_KAFKA_PARTITION_UA);
    const rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer->get(), topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnavailableError(
          fmt::format("subscribe to {}: {}", options.input_topic, rd_kafka_err2str(err)));
    }
    return absl::OkStatus();
  }

  std::vector<Transaction> history;  // --warm-up, until the state takes it (Connect)

  // A transactional call's error as a Status (fatal or not, the caller decides before).
  static absl::Status TransactionCall(std::string_view what, rd_kafka_error_t* error) {
    if (error == nullptr) return absl::OkStatus();
    absl::Status status =
        absl::UnavailableError(fmt::format("{}: {}{}", what, rd_kafka_error_string(error),
                                           rd_kafka_error_is_fatal(error) ? " (fatal)" : ""));
    rd_kafka_error_destroy(error);
    return status;
  }

  absl::Status WarmUp() {
    if (options.warm_up.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(history, ReadHistory(options.warm_up));
    stats.warmed_up = static_cast<int64_t>(history.size());
    return absl::OkStatus();
  }

  // Stores the offsets of every acknowledged batch at the front of the queue.
  void StoreAcknowledged() {
    const bool delivered = DeliveryError().ok();
    std::lock_guard lock(pending_mu);
    while (!pending.empty() && pending.front()->outstanding == 0) {
      const PendingBatch& batch = *pending.front();
      if (batch.failed) produce_failed = true;  // nothing from here on is stored
      if (!batch.next_offset.empty() && delivered && !produce_failed) {
        rd_kafka_topic_partition_list_t* list =
            rd_kafka_topic_partition_list_new(static_cast<int>(batch.next_offset.size()));
        for (const auto& [partition, offset] : batch.next_offset) {
          rd_kafka_topic_partition_list_add(list, options.input_topic.c_str(), partition)->offset =
              offset;
        }
        // Fails only for partitions no longer assigned (revoked meanwhile): their new owner
        // scores those messages again, as at-least-once allows.
        rd_kafka_offsets_store(consumer->get(), list);
        rd_kafka_topic_partition_list_destroy(list);
      }
      pending.pop_front();
    }
  }

  absl::Status DeliveryError() {
    std::lock_guard lock(delivery_mu);
    return delivery_error;
  }

  // Everything prepared is produced, acknowledged (up to timeout) and its offsets stored.
  void Drain(int timeout_ms) {
    WaitEmitted();
    producer->Flush(timeout_ms).IgnoreError();  // a timeout leaves those offsets unstored
    producer->Poll(0);
    StoreAcknowledged();
  }

  void DeadLetter(const Held& item, PendingBatch* batch) {
    const Rejected& rejected = *item.rejected;
    const std::string_view reason = FaultName(item.fault);
    nlohmann::ordered_json record = {{"reason", reason},
                                     {"detail", rejected.detail},
                                     {"topic", options.input_topic},
                                     {"partition", item.partition},
                                     {"offset", item.offset},
                                     {"payload", rejected.payload}};
    const std::string value = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    ++batch->outstanding;
    if (!producer->Produce(options.dlq_topic, rejected.key, value, Opaque(batch)).ok()) {
      --batch->outstanding;
    }
    ++emitted.dead_lettered;
    if (metrics != nullptr) metrics->DeadLetters(reason).Inc();
  }

  // Delivery reports count down a batch under at-least-once only.
  void* Opaque(PendingBatch* batch) const { return options.exactly_once ? nullptr : batch; }

  // Stage one, on the consuming thread (which alone touches the window state): the
  // batch's input offsets, and the features of every message without a fault.
  absl::StatusOr<std::unique_ptr<Job>> Prepare(std::vector<Held> items) {
    auto job = std::make_unique<Job>();
    job->items = std::move(items);
    job->model = serving;
    job->batch = std::make_unique<PendingBatch>();
    const size_t cols = model().features.names.size();
    int64_t newest = kAbsent;
    job->scored.reserve(job->items.size());
    for (const Held& item : job->items) {
      job->batch->Cover(item.partition, item.offset);
      if (item.fault != Fault::kNone) continue;
      newest = std::max(newest, item.tx.tx_datetime);
      job->scored.push_back(&item);
    }
    if (!job->scored.empty()) RETURN_IF_ERROR(state->CatchUp(newest));
    job->rows.resize(job->scored.size() * cols);
    std::vector<StreamState::Message> messages;
    messages.reserve(job->scored.size());
    for (const Held* item : job->scored) {
      messages.push_back({&item->tx, item->partition, item->offset});
    }
    state->ProcessBatch(messages, job->rows.data());
    return job;
  }

  // Stage two, on the emitting thread (at-least-once) or inline (--exactly-once): DLQ
  // records, scores, predictions produced; then the batch waits for its acknowledgements
  // (at-least-once) or commits as one transaction.
  absl::Status Emit(Job& job) {
    const LoadedModel& scorer = *job.model;
    PendingBatch* batch = job.batch.get();
    if (options.exactly_once) {
      RETURN_IF_ERROR(
          TransactionCall("begin_transaction", rd_kafka_begin_transaction(producer->get())));
    }
    for (const Held& item : job.items) {
      if (item.fault != Fault::kNone) DeadLetter(item, batch);
    }
    const size_t n = job.scored.size();
    std::vector<float> scores(n);
    scorer.forest.PredictBatch(job.rows.data(), n, scorer.artifact.features.names.size(),
                               scores.data());

    // Message timestamps are wall-clock milliseconds (CreateTime or LogAppendTime).
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    // DESIGN §7's prediction, built by hand: what is the same for the whole batch once, the
    // score with std::to_chars, the rest with compiled format strings (a third of the
    // per-message cost of one runtime fmt::format, measured).
    const double threshold = scorer.artifact.threshold;
    const std::string middle =
        fmt::format(R"(, "threshold": {}, "model": {}, "model_version": {}, "event_time": ")",
                    threshold, nlohmann::json(scorer.name).dump(),
                    nlohmann::json(scorer.version).dump());
    // fmt's own buffer: appending to a std::string through fmt resizes it (zero-filling)
    // for every piece.
    fmt::memory_buffer value;
    char time[kDateTimeLength];
    char score[32];
    int64_t flagged = 0;
    std::vector<float> latencies(n);
    std::vector<KafkaClient::KeptMessage> kept;  // at-least-once: produced together below
    if (!options.exactly_once) kept.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      const Held& item = *job.scored[i];
      const Transaction& tx = item.tx;
      const double latency_ms =
          item.timestamp_ms > 0 ? static_cast<double>(now_ms - item.timestamp_ms) : 0.0;
      latencies[i] = static_cast<float>(latency_ms);
      if (metrics != nullptr) metrics->latency.Observe(latency_ms * 1e-3);
      FormatDateTime(tx.tx_datetime, time);
      value.clear();
      fmt::format_to(std::back_inserter(value),
                     FMT_COMPILE(R"({{"transaction_id": {}, "customer_id": {}, "terminal_id": {}, )"
                                 R"("score": )"),
                     tx.transaction_id.value(), tx.customer_id.value(), tx.terminal_id.value());
      const std::to_chars_result scored_chars =
          std::to_chars(score, score + sizeof(score), scores[i], std::chars_format::general, 9);
      value.append(score, scored_chars.ptr);
      const bool is_fraud = scores[i] >= threshold;
      flagged += is_fraud;
      const std::string_view decision =
          is_fraud ? R"(, "is_fraud": true)" : R"(, "is_fraud": false)";
      value.append(decision.data(), decision.data() + decision.size());
      value.append(middle.data(), middle.data() + middle.size());
      value.append(time, time + kDateTimeLength);
      fmt::format_to(std::back_inserter(value),
                     FMT_COMPILE(R"(", "processing_latency_ms": {}, "partition": {}, )"
                                 R"("offset": {}}})"),
                     latency_ms, item.partition, item.offset);
      const fmt::format_int key(tx.customer_id.value());  // no allocation per message
      const std::string_view key_view(key.data(), key.size());
      if (!options.exactly_once) {
        // librdkafka will point into the batch's blocks for the value (no copy of its own, no
        // allocation freed by another thread); the key waits there for the call, which copies it.
        kept.push_back({batch->Keep(key_view), batch->Keep({value.data(), value.size()}), batch});
        continue;
      }
      RETURN_IF_ERROR(producer->Produce(options.output_topic, key_view,
                                        {value.data(), value.size()}, nullptr));
    }
    if (!options.exactly_once) {
      // Counted before: a delivery report may come before the call returns.
      batch->outstanding += static_cast<int64_t>(kept.size());
      size_t produced = 0;
      const absl::Status status = producer->ProduceKeptBatch(options.output_topic, kept, &produced);
      if (!status.ok()) {
        batch->outstanding -= static_cast<int64_t>(kept.size() - produced);
        // Nothing of this batch is stored (it is scored again); it stays queued until what
        // it produced is acknowledged, as librdkafka still points at its values.
        batch->failed = true;
        Queue(std::move(job.batch));
        return status;
      }
    }
    {
      std::lock_guard lock(latency_mu);
      const size_t room = std::min(n, size_t{1'000'000} - std::min<size_t>(latencies_ms.size(),
                                                                            1'000'000));
      latencies_ms.insert(latencies_ms.end(), latencies.begin(), latencies.begin() + room);
    }
    emitted.predicted += static_cast<int64_t>(n);
    emitted.flagged += flagged;
    ++emitted.batches;
    if (options.exactly_once) return CommitTransaction(*batch);
    Queue(std::move(job.batch));
    return absl::OkStatus();
  }

  // A produced batch joins the queue of those waiting for their acknowledgements.
  void Queue(std::unique_ptr<PendingBatch> batch) {
    std::lock_guard lock(pending_mu);
    pending.push_back(std::move(batch));
  }

  // Hands a prepared batch to stage two: inline under --exactly-once (a transaction that
  // aborts rewinds the window state, which must not have moved on meanwhile); otherwise to
  // the emitting thread, at most kQueuedJobs ahead of it. Returns the emitting thread's first
  // error, if any.
  absl::Status Submit(std::unique_ptr<Job> job) {
    if (options.exactly_once) return Emit(*job);
    std::unique_lock lock(emit_mu);
    emit_cv.wait(lock, [&] { return jobs.size() < kQueuedJobs || !emit_error.ok(); });
    if (!emit_error.ok()) return emit_error;
    jobs.push_back(std::move(job));
    emit_cv.notify_all();
    return absl::OkStatus();
  }

  // The emitting thread: takes jobs in order until stopped and idle. After an error it
  // emits nothing more (the offsets of what is not produced are never stored).
  void EmitLoop() {
    std::unique_lock lock(emit_mu);
    while (true) {
      emit_cv.wait(lock, [&] { return !jobs.empty() || emit_stop; });
      if (jobs.empty()) return;
      std::unique_ptr<Job> job = std::move(jobs.front());
      jobs.pop_front();
      emitting = true;
      const bool failed = !emit_error.ok();
      lock.unlock();
      absl::Status status = failed ? absl::OkStatus() : Emit(*job);
      job.reset();
      lock.lock();
      emitting = false;
      if (!status.ok() && emit_error.ok()) emit_error = std::move(status);
      emit_cv.notify_all();
    }
  }

  // Waits until every submitted batch is produced (or given up after an error).
  void WaitEmitted() {
    std::unique_lock lock(emit_mu);
    emit_cv.wait(lock, [&] { return jobs.empty() && !emitting; });
  }

  void StartEmitter() {
    if (!options.exactly_once) emitter = std::thread([this] { EmitLoop(); });
  }
  void StopEmitter() {
    if (!emitter.joinable()) return;
    {
      std::lock_guard lock(emit_mu);
      emit_stop = true;
    }
    emit_cv.notify_all();
    emitter.join();
  }

  // The counters the emitting thread keeps, into stats.
  void SyncStats() {
    stats.predicted = emitted.predicted.load();
    stats.flagged = emitted.flagged.load();
    stats.dead_lettered = emitted.dead_lettered.load();
    stats.batches = emitted.batches.load();
  }

  // --exactly-once: the batch's input offsets join its predictions in one transaction
  // (librdkafka's examples/transactions.c contract). A retriable error is retried; an
  // abortable one aborts the transaction and rewinds: the consumer and the customer state go
  // back to the committed offsets, and those messages are scored again. Fatal: an error.
  absl::Status CommitTransaction(const PendingBatch& batch) {
    rd_kafka_topic_partition_list_t* offsets =
        rd_kafka_topic_partition_list_new(static_cast<int>(batch.next_offset.size()));
    for (const auto& [partition, offset] : batch.next_offset) {
      rd_kafka_topic_partition_list_add(offsets, options.input_topic.c_str(), partition)->offset =
          offset;
    }
    rd_kafka_consumer_group_metadata_t* group = rd_kafka_consumer_group_metadata(consumer->get());
    rd_kafka_error_t* error = nullptr;
    for (int attempt = 0; attempt < 10; ++attempt) {
      error = rd_kafka_send_offsets_to_transaction(producer->get(), offsets, group, 30'000);
      if (error == nullptr || !rd_kafka_error_is_retriable(error)) break;
      rd_kafka_error_destroy(error);
      error = nullptr;
    }
    rd_kafka_consumer_group_metadata_destroy(group);
    rd_kafka_topic_partition_list_destroy(offsets);
    for (int attempt = 0; error == nullptr && attempt < 10; ++attempt) {
      error = rd_kafka_commit_transaction(producer->get(), 30'000);
      if (error == nullptr) {
        ++stats.transactions;
        return absl::OkStatus();
      }
      if (!rd_kafka_error_is_retriable(error)) break;
      rd_kafka_error_destroy(error);
      error = nullptr;
    }
    if (error == nullptr) {
      return absl::DeadlineExceededError("commit_transaction: still retriable after 10 tries");
    }
    if (!rd_kafka_error_txn_requires_abort(error)) {
      return TransactionCall("commit_transaction", error);
    }
    std::fprintf(stderr,
                 "fraudstream stream: warning: transaction aborted (%s); rewinding to the "
                 "committed offsets\n",
                 rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    ++stats.aborted_transactions;
    RETURN_IF_ERROR(
        TransactionCall("abort_transaction", rd_kafka_abort_transaction(producer->get(), 30'000)));
    return Rewind();
  }

  // Every owned partition back to its committed offset, its customers rebuilt to match.
  absl::Status Rewind() {
    rd_kafka_topic_partition_list_t* assigned = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_assignment(consumer->get(), &assigned);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnavailableError(fmt::format("assignment: {}", rd_kafka_err2str(err)));
    }
    absl::Status status = ResolveCommitted(assigned);
    std::map<int32_t, int64_t> next;
    for (int i = 0; status.ok() && i < assigned->cnt; ++i) {
      next[assigned->elems[i].partition] = assigned->elems[i].offset;
    }
    if (status.ok()) status = state->Assign(next);
    held.clear();  // fetched after the committed offsets: fetched again
    at_end.clear();
    if (status.ok() && assigned->cnt > 0) {
      rd_kafka_error_t* error = rd_kafka_seek_partitions(consumer->get(), assigned, 10'000);
      if (error != nullptr) status = TransactionCall("seek", error);
    }
    rd_kafka_topic_partition_list_destroy(assigned);
    return status;
  }

  // Per assigned partition whose position and log end are known: log end (as of the last
  // fetch) minus position.
  std::map<int32_t, int64_t> PartitionLags() const {
    std::map<int32_t, int64_t> lags;
    rd_kafka_topic_partition_list_t* assigned = nullptr;
    if (rd_kafka_assignment(consumer->get(), &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) return lags;
    rd_kafka_position(consumer->get(), assigned);
    for (int i = 0; i < assigned->cnt; ++i) {
      const rd_kafka_topic_partition_t& tp = assigned->elems[i];
      int64_t low = 0, high = 0;
      if (tp.offset < 0 ||
          rd_kafka_get_watermark_offsets(consumer->get(), tp.topic, tp.partition, &low, &high) !=
              RD_KAFKA_RESP_ERR_NO_ERROR ||
          high < 0) {
        continue;
      }
      lags[tp.partition] = std::max<int64_t>(0, high - tp.offset);
    }
    rd_kafka_topic_partition_list_destroy(assigned);
    return lags;
  }

  // The group's lag over this worker's partitions. -1 before the first fetch.
  int64_t Lag() const {
    const std::map<int32_t, int64_t> lags = PartitionLags();
    if (lags.empty()) return -1;
    int64_t lag = 0;
    for (const auto& [partition, partition_lag] : lags) lag += partition_lag;
    return lag;
  }

  // StreamOptions::metrics: the counters by what the stats gained since the last call, the
  // model serving, and at most once a second (or when `final`) the lag per partition, the
  // messages fetched but not taken yet included.
  void PublishMetrics(size_t batch_size, bool final) {
    if (metrics == nullptr) return;
    SyncStats();
    WorkerMetrics& m = *metrics;
    StreamStats& last = m.reported;
    m.scored.Inc(static_cast<double>(stats.predicted - last.predicted));
    m.invalid.Inc(static_cast<double>(stats.dead_lettered - last.dead_lettered));
    m.fraud.Inc(static_cast<double>(stats.flagged - last.flagged));
    m.legit.Inc(
        static_cast<double>((stats.predicted - stats.flagged) - (last.predicted - last.flagged)));
    m.offset_resets.Inc(static_cast<double>(stats.offset_resets - last.offset_resets));
    last.predicted = stats.predicted;
    last.dead_lettered = stats.dead_lettered;
    last.flagged = stats.flagged;
    last.offset_resets = stats.offset_resets;
    if (batch_size > 0) m.batch_size.Observe(static_cast<double>(batch_size));
    m.ModelServing(serving->name, serving->version);

    const int64_t now = Clock::Real().NowNanos();
    if (!final && now - m.lag_at < 1'000'000'000) return;
    m.lag_at = now;
    std::map<int32_t, int64_t> lags = PartitionLags();
    for (auto& [partition, lag] : lags) {
      const auto it = held.find(partition);
      if (it != held.end()) lag += static_cast<int64_t>(it->second.size());
      if (!m.lag.contains(partition)) m.lag[partition] = &m.LagGauge(partition);
    }
    for (const auto& [partition, gauge] : m.lag) {
      const auto it = lags.find(partition);
      gauge->Set(it == lags.end() ? 0.0 : static_cast<double>(it->second));
    }
  }

  // Takes held messages in event-time order across this worker's partitions (faults first,
  // they have no time) while that order is safe: a partition with nothing held must be at its
  // log end or have reached the candidate's time minus the terminal delay, so that the
  // terminal windows hold every transaction they need. Pauses partitions far ahead.
  std::vector<Held> Select() {
    std::vector<Held> out;
    const int64_t delay = int64_t{model().features.terminal_delay_days} * 86'400;
    std::map<int32_t, int64_t> terminal;  // newest time per owned partition
    for (const int32_t p : state->Owned()) {
      terminal[p] = state->TerminalTime(p);
      held[p];  // an owned partition with nothing held yet still counts in the safe rule
    }
    // One lane per partition, its flags looked up once: the loop below runs per message.
    struct Lane {
      std::deque<Held>* queue;
      bool at_end;
      int64_t reached;  // newest time, this batch included
    };
    std::vector<Lane> lanes;
    lanes.reserve(held.size());
    for (auto& [p, queue] : held) {
      const auto end = at_end.find(p);
      const auto time = terminal.find(p);
      lanes.push_back(
          {&queue, end != at_end.end() && end->second, time == terminal.end() ? 0 : time->second});
    }
    // --max-messages counts the messages taken here (scored or dead-lettered): what is
    // fetched beyond is dropped uncommitted at the end, for the next owner.
    size_t limit = options.max_batch;
    if (options.max_rate > 0) {
      RefillTokens();
      limit = std::min<size_t>(limit, static_cast<size_t>(tokens));
    }
    if (options.max_messages > 0) {
      limit = std::min<size_t>(
          limit, static_cast<size_t>(std::max<int64_t>(0, options.max_messages - stats.consumed)));
    }
    out.reserve(limit);
    while (out.size() < limit) {
      Lane* best = nullptr;
      int64_t best_time = 0;
      for (Lane& lane : lanes) {
        if (lane.queue->empty()) continue;
        const Held& front = lane.queue->front();
        const int64_t t = front.fault == Fault::kNone ? front.tx.tx_datetime : kAbsent;
        if (best == nullptr || t < best_time) {
          best = &lane;
          best_time = t;
        }
      }
      if (best == nullptr) break;
      if (best_time != kAbsent) {
        bool safe = true;
        for (const Lane& lane : lanes) {
          safe &= &lane == best || !lane.queue->empty() || lane.at_end ||
                  lane.reached >= best_time - delay;
        }
        if (!safe) break;
        best->reached = std::max(best->reached, best_time);
      }
      out.push_back(std::move(best->queue->front()));
      best->queue->pop_front();
      ++stats.consumed;
    }
    // Stopped at a full batch, not at the event-time rule or an empty hold.
    selectable = out.size() == options.max_batch &&
                 std::ranges::any_of(lanes, [](const Lane& lane) { return !lane.queue->empty(); });
    if (options.max_rate > 0) tokens -= static_cast<double>(out.size());
    for (auto& [p, queue] : held) {
      const bool pause = queue.size() > kMaxHeld || (paused[p] && queue.size() > kMaxHeld / 4);
      if (pause == paused[p]) continue;
      rd_kafka_topic_partition_list_t* one = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(one, options.input_topic.c_str(), p);
      pause ? rd_kafka_pause_partitions(consumer->get(), one)
            : rd_kafka_resume_partitions(consumer->get(), one);
      rd_kafka_topic_partition_list_destroy(one);
      paused[p] = pause;
    }
    return out;
  }

  // --max-rate: tokens accrue at max_rate per second, up to 100 ms' worth (at least one), so
  // the rate holds over any second while a backlog lasts and an idle spell gives no burst.
  // Returns how long until the next token (0: one is there now; 100 when unthrottled).
  int RefillTokens() {
    if (options.max_rate <= 0) return 100;
    const int64_t now = Clock::Real().NowNanos();
    const double capacity = std::max(1.0, options.max_rate * 0.1);
    tokens = std::min(capacity, tokens + (now - tokens_at) * 1e-9 * options.max_rate);
    tokens_at = now;
    if (tokens >= 1) return 0;
    return static_cast<int>(std::clamp((1 - tokens) * 1000 / options.max_rate + 1, 1.0, 100.0));
  }

  // consumed/s, produced/s, predictions, DLQ, batch size, p99 latency of the last second, lag:
  // on a terminal
  // only (InteractiveStderr), at most once a second.
  void DrawProgress(size_t batch_size) {
    FILE* out = options.progress ? InteractiveStderr() : nullptr;
    const int64_t now = Clock::Real().NowNanos();
    if (out == nullptr || now - progress_at < 1'000'000'000) return;
    const double seconds = progress_at == 0 ? 1.0 : (now - progress_at) * 1e-9;
    SyncStats();
    std::vector<float> recent;
    {
      std::lock_guard lock(latency_mu);
      recent.assign(latencies_ms.end() - static_cast<ptrdiff_t>(
                                             std::min<size_t>(latencies_ms.size(), 10'000)),
                    latencies_ms.end());
    }
    const double p99 = Percentile(std::move(recent), 0.99);
    const int64_t lag = Lag();
    std::fprintf(out,
                 "\r\033[Kstream: %.0f consumed/s, %.0f produced/s, %lld predicted, %lld to DLQ, "
                 "batch %zu, p99 %.1f ms, lag %s",
                 (stats.consumed - progress_consumed) / seconds,
                 (stats.predicted + stats.dead_lettered - progress_produced) / seconds,
                 static_cast<long long>(stats.predicted),
                 static_cast<long long>(stats.dead_lettered), batch_size, p99,
                 lag < 0 ? "-" : std::to_string(lag).c_str());
    std::fflush(out);
    progress_at = now;
    progress_consumed = stats.consumed;
    progress_produced = stats.predicted + stats.dead_lettered;
  }

  absl::Status Run(const std::atomic<bool>& stop) {
    Clock& clock = Clock::Real();
    const int64_t start = clock.NowNanos();
    checkpoint_at = start;
    tokens_at = start;
    StartEmitter();
    // Idle time counts from the first assignment (a group join takes seconds); without
    // one, from the start, with 30 s more.
    last_activity = start + 30'000'000'000LL;
    absl::Status result;
    while (!stop.load() && result.ok()) {
      if (options.max_messages > 0 && stats.consumed >= options.max_messages) break;
      size_t fetched = 0;
      // A full batch was taken and more held messages can be taken now: the first poll does
      // not wait (a backlog is scored from what is held while librdkafka fetches more).
      // Throttled with messages held: it waits no longer than the next token.
      const bool holding =
          std::ranges::any_of(held, [](const auto& e) { return !e.second.empty(); });
      const int first_wait_ms = selectable ? 0 : holding ? RefillTokens() : 100;
      // The first message is waited for; after it, only what librdkafka has fetched already is
      // taken, for at most linger_ms: a fetch that brought few messages is scored at once
      // (waiting for more would only add latency), a backlog fills the batch. The clock is
      // read every 64 messages.
      const int64_t deadline = clock.NowNanos() + int64_t{options.linger_ms} * 1'000'000;
      int64_t polled = 0;
      while (fetched < options.max_batch) {
        if (++polled % 64 == 0 && clock.NowNanos() >= deadline) break;
        rd_kafka_message_t* raw =
            rd_kafka_consumer_poll(consumer->get(), fetched == 0 ? first_wait_ms : 0);
        if (raw == nullptr) break;
        MessagePtr message(raw);
        if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          at_end[message->partition] = true;
          continue;
        }
        if (message->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
            message->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
          ++stats.offset_resets;
          std::fprintf(stderr,
                       "fraudstream stream: error: offset reset on %s [%d]: %s (data "
                       "loss)\n",
                       options.input_topic.c_str(), message->partition,
                       rd_kafka_message_errstr(message.get()));
          if (!options.allow_offset_reset) {
            result = absl::DataLossError(fmt::format(
                "offset reset on {} partition {}: messages were lost (--allow-offset-reset to go "
                "on)",
                options.input_topic, message->partition));
            break;
          }
          // Go on from the oldest message the broker still has: the partition is in an
          // error state that a seek cannot leave, so it is assigned again at that offset.
          int64_t low = 0, high = 0;
          rd_kafka_query_watermark_offsets(consumer->get(), options.input_topic.c_str(),
                                           message->partition, &low, &high, 5'000);
          rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
          rd_kafka_topic_partition_list_add(list, options.input_topic.c_str(), message->partition)
              ->offset = low;
          if (std::string_view(rd_kafka_rebalance_protocol(consumer->get())) == "COOPERATIVE") {
            for (auto* change : {rd_kafka_incremental_unassign(consumer->get(), list),
                                 rd_kafka_incremental_assign(consumer->get(), list)}) {
              if (change != nullptr) rd_kafka_error_destroy(change);
            }
          } else {  // eager: the whole assignment again, the others from their positions
            rd_kafka_topic_partition_list_t* current = nullptr;
            if (rd_kafka_assignment(consumer->get(), &current) == RD_KAFKA_RESP_ERR_NO_ERROR) {
              rd_kafka_position(consumer->get(), current);
              rd_kafka_topic_partition_t* reset = rd_kafka_topic_partition_list_find(
                  current, options.input_topic.c_str(), message->partition);
              if (reset != nullptr) reset->offset = low;
              rd_kafka_assign(consumer->get(), current);
              rd_kafka_topic_partition_list_destroy(current);
            }
          }
          rd_kafka_topic_partition_list_destroy(list);
          continue;
        }
        if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
          std::fprintf(stderr, "fraudstream stream: warning: %s\n",
                       rd_kafka_message_errstr(message.get()));
          continue;
        }
        Held item;
        item.fault = parser.Parse(Payload(*message), &item.tx);
        item.partition = message->partition;
        item.offset = message->offset;
        item.timestamp_ms =
            std::max<int64_t>(0, rd_kafka_message_timestamp(message.get(), nullptr));
        if (item.fault != Fault::kNone) {
          item.rejected = std::make_unique<Rejected>(Rejected{
              parser.Describe(), std::string(Payload(*message)), std::string(Key(*message))});
        }
        at_end[message->partition] = false;
        held[message->partition].push_back(std::move(item));
        ++fetched;
      }
      if (!rebalance_error.ok()) {
        result = rebalance_error;
        break;
      }
      // Messages fetched before their partition was revoked belong to its new owner now.
      std::erase_if(held, [&](const auto& entry) { return !state->Owns(entry.first); });
      std::erase_if(paused, [&](const auto& entry) { return !state->Owns(entry.first); });
      std::vector<Held> selected = Select();
      const size_t taken = selected.size();
      if (fetched > 0 || taken > 0) last_activity = clock.NowNanos();
      if (taken > 0) {
        FollowRegistry();
        absl::StatusOr<std::unique_ptr<Job>> job = Prepare(std::move(selected));
        absl::Status s = job.ok() ? Submit(*std::move(job)) : job.status();
        if (!s.ok() && result.ok()) result = s;
      } else if (options.idle_exit_seconds > 0 &&
                 (clock.NowNanos() - last_activity) * 1e-9 >= options.idle_exit_seconds) {
        break;
      }
      producer->Poll(0);
      StoreAcknowledged();
      if (!options.checkpoint_dir.empty() &&
          (clock.NowNanos() - checkpoint_at) * 1e-9 >= options.checkpoint_interval_seconds) {
        Checkpoint();
        checkpoint_at = clock.NowNanos();
      }
      if (absl::Status s = DeliveryError(); !s.ok() && result.ok()) result = s;
      DrawProgress(taken);
      PublishMetrics(taken, /*final=*/false);
    }
    // Stop fetching, finish what is in flight, flush, store, commit.
    StopEmitter();
    Drain(/*timeout_ms=*/30'000);
    if (!pending.empty() && result.ok()) {
      result = absl::DeadlineExceededError(fmt::format(
          "{} batches of predictions were not acknowledged; their offsets were not committed",
          pending.size()));
    }
    const rd_kafka_resp_err_t committed = options.exactly_once
                                              ? RD_KAFKA_RESP_ERR__NO_OFFSET
                                              : rd_kafka_commit(consumer->get(), nullptr, 0);
    // The group moved on meanwhile (a worker joined or left): these partitions have a new
    // owner, which scores again what was scored here since the last commit. At-least-once as
    // designed, so a warning, not a failed shutdown.
    const bool rebalanced = committed == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
                            committed == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
                            committed == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS;
    if (rebalanced) {
      std::fprintf(stderr,
                   "fraudstream stream: warning: the last commit failed (%s): a rebalance was "
                   "in progress; the next owner of these partitions scores again what was "
                   "scored since the previous commit\n",
                   rd_kafka_err2str(committed));
    } else if (committed != RD_KAFKA_RESP_ERR_NO_ERROR &&
               committed != RD_KAFKA_RESP_ERR__NO_OFFSET && result.ok()) {
      result = absl::UnavailableError(
          fmt::format("commit of the input offsets failed: {}", rd_kafka_err2str(committed)));
    }
    if (committed == RD_KAFKA_RESP_ERR_NO_ERROR || options.exactly_once) Checkpoint();
    PublishMetrics(0, /*final=*/true);
    rd_kafka_consumer_close(consumer->get());
    if (progress_at != 0) std::fputs("\r\033[K", stderr);
    SyncStats();
    stats.seconds = (clock.NowNanos() - start) * 1e-9;
    stats.rebuilt = state->stats().rebuilt;
    stats.fed = state->stats().fed;
    stats.reader_restarts = state->stats().reader_restarts;
    stats.feed_seeks = state->stats().feed_seeks;
    stats.restored = state->stats().restored;
    stats.checkpoints = state->stats().checkpoints;
    stats.model_version = serving->version;
    stats.latency_p50_ms = Percentile(latencies_ms, 0.50);
    stats.latency_p99_ms = Percentile(latencies_ms, 0.99);
    return result;
  }
};

StreamWorker::StreamWorker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StreamWorker::~StreamWorker() = default;

absl::StatusOr<std::unique_ptr<StreamWorker>> StreamWorker::Create(
    const StreamOptions& options, std::shared_ptr<LiveModel> model) {
  if (options.brokers.empty()) return absl::InvalidArgumentError("no Kafka brokers given");
  if (options.exactly_once && options.transactional_id.empty()) {
    return absl::InvalidArgumentError("--exactly-once needs a transactional id");
  }
  auto impl = std::make_unique<Impl>(options, std::move(model));
  RETURN_IF_ERROR(impl->WarmUp());
  RETURN_IF_ERROR(impl->Connect());
  return std::unique_ptr<StreamWorker>(new StreamWorker(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<StreamWorker>> StreamWorker::Create(const StreamOptions& options,
                                                                   const ModelArtifact& model) {
  ASSIGN_OR_RETURN(std::unique_ptr<LiveModel> live, LiveModel::FromDirectory(model.dir));
  return Create(options, std::move(live));
}

absl::Status StreamWorker::Run(const std::atomic<bool>& stop) { return impl_->Run(stop); }
const StreamStats& StreamWorker::stats() const { return impl_->stats; }

}  // namespace fraud
