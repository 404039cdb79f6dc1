#include "stream/worker.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>

#include "core/clock.h"
#include "core/progress.h"
#include "core/status.h"
#include "core/time.h"
#include "data/reader.h"
#include "data/row_parser.h"
#include "features/window_state.h"
#include "fmt/format.h"
#include "model/forest.h"
#include "nlohmann/json.hpp"

namespace fraud {
namespace {

// What was produced for one micro-batch, and the input offsets it covers. Its offsets are
// stored once every message produced for it and for every earlier batch is acknowledged.
struct PendingBatch {
  int64_t outstanding = 0;
  std::map<int32_t, int64_t> next_offset;  // input partition -> last offset + 1
};

// Messages of one poll, owned until the batch is processed.
struct MessageDeleter {
  void operator()(rd_kafka_message_t* message) const { rd_kafka_message_destroy(message); }
};
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

std::string_view Payload(const rd_kafka_message_t& m) {
  return {static_cast<const char*>(m.payload), m.len};
}
std::string_view Key(const rd_kafka_message_t& m) {
  return m.key == nullptr ? std::string_view() : std::string_view(static_cast<const char*>(m.key),
                                                                    m.key_len);
}

double Percentile(std::vector<float> values, double q) {
  if (values.empty()) return 0;
  const size_t k = std::min(values.size() - 1, static_cast<size_t>(q * values.size()));
  std::nth_element(values.begin(), values.begin() + k, values.end());
  return values[k];
}

}  // namespace

struct StreamWorker::Impl {
  StreamOptions options;
  ModelArtifact model;
  Forest forest;
  FeatureState state;
  RowParser json_parser{Layout::JsonLines(), kAbsent};
  RowParser csv_parser{Layout::Otus(false), kAbsent};
  std::unique_ptr<KafkaClient> consumer;
  std::unique_ptr<KafkaClient> producer;
  std::deque<std::unique_ptr<PendingBatch>> pending;
  absl::Status delivery_error;  // the first permanent delivery failure
  StreamStats stats;
  std::vector<float> latencies_ms;  // a sample, for the percentiles
  int64_t last_activity = 0;  // last message or assignment (for idle_exit_seconds)
  int64_t progress_at = 0;  // when the progress line was last drawn
  int64_t progress_consumed = 0;

  Impl(const StreamOptions& o, const ModelArtifact& m, Forest f)
      : options(o), model(m), forest(std::move(f)), state(m.features) {}

  static void OnDelivery(const rd_kafka_message_t* message, void* context) {
    auto* self = static_cast<Impl*>(context);
    auto* batch = static_cast<PendingBatch*>(message->_private);
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR && self->delivery_error.ok()) {
      self->delivery_error = absl::UnavailableError(
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
      // auto.offset.reset=error makes every "offset out of range" an error we see; a
      // partition the group never committed starts at its beginning instead.
      if (rd_kafka_committed(rk, list, 10'000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < list->cnt; ++i) {
          if (list->elems[i].offset == RD_KAFKA_OFFSET_INVALID) {
            list->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
          }
        }
      }
      if (cooperative) {
        rd_kafka_error_t* error = rd_kafka_incremental_assign(rk, list);
        if (error != nullptr) rd_kafka_error_destroy(error);
      } else {
        rd_kafka_assign(rk, list);
      }
      return;
    }
    // Revoked: what was scored for these partitions is acknowledged and committed before
    // another worker takes them over.
    self->Drain(/*timeout_ms=*/10'000);
    rd_kafka_commit(rk, nullptr, /*async=*/0);
    if (cooperative) {
      rd_kafka_error_t* error = rd_kafka_incremental_unassign(rk, list);
      if (error != nullptr) rd_kafka_error_destroy(error);
    } else {
      rd_kafka_assign(rk, nullptr);
    }
  }

  absl::Status Connect() {
    KafkaSettings consumer_settings = DefaultConsumerSettings(options.brokers, options.group);
    KafkaSettings producer_settings = DefaultProducerSettings(options.brokers);
    for (KafkaSettings* settings : {&consumer_settings, &producer_settings}) {
      if (!options.kafka_config_file.empty()) {
        RETURN_IF_ERROR(settings->ApplyFile(options.kafka_config_file));
      }
      RETURN_IF_ERROR(settings->Apply(options.kafka_settings));
    }
    ASSIGN_OR_RETURN(KafkaClient c, KafkaClient::Consumer(consumer_settings, this,
                                                          &Impl::OnRebalance));
    consumer = std::make_unique<KafkaClient>(std::move(c));
    ASSIGN_OR_RETURN(KafkaClient p, KafkaClient::Producer(producer_settings, &Impl::OnDelivery,
                                                          this));
    producer = std::make_unique<KafkaClient>(std::move(p));
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

  absl::Status WarmUp() {
    if (options.warm_up.empty()) return absl::OkStatus();
    std::vector<std::string> files;
    if (std::filesystem::is_directory(options.warm_up)) {
      for (const auto& entry : std::filesystem::directory_iterator(options.warm_up)) {
        if (entry.is_regular_file()) files.push_back(entry.path().string());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(options.warm_up);
    }
    std::vector<Transaction> history;
    for (const std::string& file : files) {
      ASSIGN_OR_RETURN(std::vector<Transaction> txs, ReadTransactions(file));
      history.insert(history.end(), txs.begin(), txs.end());
    }
    std::stable_sort(history.begin(), history.end(), [](const Transaction& a, const Transaction& b) {
      return a.tx_datetime < b.tx_datetime;
    });
    for (const Transaction& tx : history) state.Update(tx);
    stats.warmed_up = static_cast<int64_t>(history.size());
    return absl::OkStatus();
  }

  // Stores the offsets of every acknowledged batch at the front of the queue.
  void StoreAcknowledged() {
    while (!pending.empty() && pending.front()->outstanding == 0) {
      const PendingBatch& batch = *pending.front();
      if (!batch.next_offset.empty() && delivery_error.ok()) {
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

  void Drain(int timeout_ms) {
    producer->Flush(timeout_ms).IgnoreError();  // a timeout leaves those offsets unstored
    producer->Poll(0);
    StoreAcknowledged();
  }

  void DeadLetter(const rd_kafka_message_t& m, std::string_view reason, const std::string& detail,
                  PendingBatch* batch) {
    nlohmann::ordered_json record = {
        {"reason", reason},       {"detail", detail},    {"topic", options.input_topic},
        {"partition", m.partition}, {"offset", m.offset}, {"payload", std::string(Payload(m))}};
    const std::string value = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    ++batch->outstanding;
    if (!producer->Produce(options.dlq_topic, Key(m), value, batch).ok()) --batch->outstanding;
    ++stats.dead_lettered;
  }

  absl::Status ProcessBatch(std::vector<MessagePtr>& messages) {
    auto batch = std::make_unique<PendingBatch>();
    const size_t cols = model.features.names.size();
    std::vector<Transaction> txs;
    std::vector<const rd_kafka_message_t*> sources;
    std::vector<float> rows;
    txs.reserve(messages.size());
    rows.reserve(messages.size() * cols);
    for (const MessagePtr& message : messages) {
      const rd_kafka_message_t& m = *message;
      batch->next_offset[m.partition] = std::max(batch->next_offset[m.partition], m.offset + 1);
      std::string_view payload = Payload(m);
      while (!payload.empty() && (payload.back() == '\n' || payload.back() == '\r')) {
        payload.remove_suffix(1);
      }
      RowParser& parser = !payload.empty() && payload.front() == '{' ? json_parser : csv_parser;
      Transaction tx;
      const Fault fault = payload.empty() ? Fault::kWrongFieldCount : parser.Parse(payload, &tx);
      if (fault != Fault::kNone) {
        DeadLetter(m, FaultName(fault), payload.empty() ? "empty message" : parser.Describe(),
                   batch.get());
        continue;
      }
      rows.resize(rows.size() + cols);
      state.Process(tx, rows.data() + rows.size() - cols);
      txs.push_back(tx);
      sources.push_back(&m);
    }
    std::vector<float> scores(txs.size());
    forest.PredictBatch(rows.data(), txs.size(), cols, scores.data());

    // Message timestamps are wall-clock milliseconds (CreateTime or LogAppendTime).
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    std::string value;
    char time[32];
    for (size_t i = 0; i < txs.size(); ++i) {
      const Transaction& tx = txs[i];
      const rd_kafka_message_t& m = *sources[i];
      rd_kafka_timestamp_type_t type;
      const int64_t produced_ms = rd_kafka_message_timestamp(&m, &type);
      const double latency_ms = produced_ms > 0 ? static_cast<double>(now_ms - produced_ms) : 0.0;
      if (latencies_ms.size() < 1'000'000) latencies_ms.push_back(static_cast<float>(latency_ms));
      FormatDateTime(tx.tx_datetime, time);
      value.clear();
      fmt::format_to(
          std::back_inserter(value),
          R"({{"transaction_id": {}, "customer_id": {}, "terminal_id": {}, "score": {:.9g}, )"
          R"("is_fraud": {}, "threshold": {:.9g}, "model": "{}", "model_version": "{}", )"
          R"("event_time": "{}", "processing_latency_ms": {}, "partition": {}, "offset": {}}})",
          tx.transaction_id.value(), tx.customer_id.value(), tx.terminal_id.value(), scores[i],
          scores[i] >= model.threshold ? "true" : "false", model.threshold, options.model_name,
          options.model_version, time, latency_ms, m.partition, m.offset);
      const fmt::format_int key(tx.customer_id.value());  // no allocation per message
      ++batch->outstanding;
      const absl::Status produced = producer->Produce(
          options.output_topic, std::string_view(key.data(), key.size()), value, batch.get());
      if (!produced.ok()) {
        --batch->outstanding;
        return produced;  // nothing of this batch is stored: it is scored again
      }
    }
    stats.predicted += static_cast<int64_t>(txs.size());
    ++stats.batches;
    pending.push_back(std::move(batch));
    return absl::OkStatus();
  }

  // consumed/s, predictions, DLQ, batch size, p99 latency of the last second: on a terminal
  // only (InteractiveStderr), at most once a second.
  void DrawProgress(size_t batch_size) {
    FILE* out = options.progress ? InteractiveStderr() : nullptr;
    const int64_t now = Clock::Real().NowNanos();
    if (out == nullptr || now - progress_at < 1'000'000'000) return;
    const double seconds = progress_at == 0 ? 1.0 : (now - progress_at) * 1e-9;
    const size_t recent = std::min<size_t>(latencies_ms.size(), 10'000);
    const double p99 = Percentile(
        std::vector<float>(latencies_ms.end() - static_cast<ptrdiff_t>(recent), latencies_ms.end()),
        0.99);
    std::fprintf(out, "\r\033[Kstream: %.0f msg/s, %lld predicted, %lld to DLQ, batch %zu, p99 "
                 "%.1f ms", (stats.consumed - progress_consumed) / seconds,
                 static_cast<long long>(stats.predicted),
                 static_cast<long long>(stats.dead_lettered), batch_size, p99);
    std::fflush(out);
    progress_at = now;
    progress_consumed = stats.consumed;
  }

  absl::Status Run(const std::atomic<bool>& stop) {
    Clock& clock = Clock::Real();
    const int64_t start = clock.NowNanos();
    // Idle time counts from the first assignment (a group join takes seconds); without
    // one, from the start, with 30 s more.
    last_activity = start + 30'000'000'000LL;
    absl::Status result;
    std::vector<MessagePtr> messages;
    while (!stop.load() && result.ok()) {
      if (options.max_messages > 0 && stats.consumed >= options.max_messages) break;
      messages.clear();
      const int64_t deadline = clock.NowNanos() + int64_t{options.linger_ms} * 1'000'000;
      while (messages.size() < options.max_batch) {
        const int wait_ms =
            messages.empty() ? 100
                             : static_cast<int>(std::max<int64_t>(
                                   0, (deadline - clock.NowNanos()) / 1'000'000));
        rd_kafka_message_t* raw = rd_kafka_consumer_poll(consumer->get(), wait_ms);
        if (raw == nullptr) {
          if (messages.empty() || clock.NowNanos() >= deadline) break;
          continue;
        }
        MessagePtr message(raw);
        if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
        if (message->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
            message->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
          ++stats.offset_resets;
          std::fprintf(stderr, "fraudstream stream: error: offset reset on %s [%d]: %s (data "
                       "loss)\n", options.input_topic.c_str(), message->partition,
                       rd_kafka_message_errstr(message.get()));
          if (!options.allow_offset_reset) {
            result = absl::DataLossError(fmt::format(
                "offset reset on {} partition {}: messages were lost (--allow-offset-reset to go "
                "on)", options.input_topic, message->partition));
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
        ++stats.consumed;
        messages.push_back(std::move(message));
        if (options.max_messages > 0 && stats.consumed >= options.max_messages) break;
        if (clock.NowNanos() >= deadline) break;
      }
      if (!messages.empty()) {
        last_activity = clock.NowNanos();
        if (absl::Status s = ProcessBatch(messages); !s.ok() && result.ok()) result = s;
      } else if (options.idle_exit_seconds > 0 &&
                 (clock.NowNanos() - last_activity) * 1e-9 >= options.idle_exit_seconds) {
        break;
      }
      producer->Poll(0);
      StoreAcknowledged();
      if (!delivery_error.ok() && result.ok()) result = delivery_error;
      DrawProgress(messages.size());
    }
    // Stop fetching, finish what is in flight, flush, store, commit.
    Drain(/*timeout_ms=*/30'000);
    if (!pending.empty() && result.ok()) {
      result = absl::DeadlineExceededError(fmt::format(
          "{} batches of predictions were not acknowledged; their offsets were not committed",
          pending.size()));
    }
    const rd_kafka_resp_err_t committed = rd_kafka_commit(consumer->get(), nullptr, 0);
    if (committed != RD_KAFKA_RESP_ERR_NO_ERROR &&
        committed != RD_KAFKA_RESP_ERR__NO_OFFSET && result.ok()) {
      result = absl::UnavailableError(
          fmt::format("commit of the input offsets failed: {}", rd_kafka_err2str(committed)));
    }
    rd_kafka_consumer_close(consumer->get());
    if (progress_at != 0) std::fputs("\r\033[K", stderr);
    stats.seconds = (clock.NowNanos() - start) * 1e-9;
    stats.latency_p50_ms = Percentile(latencies_ms, 0.50);
    stats.latency_p99_ms = Percentile(latencies_ms, 0.99);
    return result;
  }
};

StreamWorker::StreamWorker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StreamWorker::~StreamWorker() = default;

absl::StatusOr<std::unique_ptr<StreamWorker>> StreamWorker::Create(const StreamOptions& options,
                                                                   const ModelArtifact& model) {
  if (options.brokers.empty()) return absl::InvalidArgumentError("no Kafka brokers given");
  ASSIGN_OR_RETURN(Forest forest, Forest::LoadFile(model.booster_path()));
  if (forest.num_features() != model.features.names.size()) {
    return absl::FailedPreconditionError(
        fmt::format("{}: the booster has {} features, the feature spec {}", model.booster_path(),
                    forest.num_features(), model.features.names.size()));
  }
  auto impl = std::make_unique<Impl>(options, model, std::move(forest));
  RETURN_IF_ERROR(impl->WarmUp());
  RETURN_IF_ERROR(impl->Connect());
  return std::unique_ptr<StreamWorker>(new StreamWorker(std::move(impl)));
}

absl::Status StreamWorker::Run(const std::atomic<bool>& stop) { return impl_->Run(stop); }
const StreamStats& StreamWorker::stats() const { return impl_->stats; }

}  // namespace fraud
