#include "stream/stream_state.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <set>

#include "core/status.h"
#include "fmt/format.h"

namespace fraud {
namespace {

constexpr int64_t kNever = kAbsent;
constexpr int64_t kSecondsPerDay = 86'400;
// Partitions are scored in event-time order up to the terminal delay apart (the worker's
// Select), and the feed reads a little ahead (what its fetch queue holds, see Create): a
// transaction may be that much older than the newest one in the state, and its windows must
// still be whole. Windows never depend on retention beyond them, only on what is kept.
constexpr int64_t kLatenessSeconds = 10 * kSecondsPerDay;
// How long a read may wait for a broker before the worker gives up.
constexpr auto kReadTimeout = std::chrono::seconds(30);

struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;

struct MessageDeleter {
  void operator()(rd_kafka_message_t* message) const { rd_kafka_message_destroy(message); }
};
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

absl::StatusOr<int> PartitionCount(rd_kafka_t* rk, const std::string& topic) {
  rd_kafka_topic_t* handle = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, handle, &metadata, 10'000);
  rd_kafka_topic_destroy(handle);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(
        fmt::format("metadata of topic {}: {}", topic, rd_kafka_err2str(err)));
  }
  const rd_kafka_resp_err_t topic_err =
      metadata->topic_cnt == 1 ? metadata->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
  const int count = metadata->topic_cnt == 1 ? metadata->topics[0].partition_cnt : 0;
  rd_kafka_metadata_destroy(metadata);
  if (topic_err != RD_KAFKA_RESP_ERR_NO_ERROR || count == 0) {
    return absl::NotFoundError(fmt::format("topic {}: {}", topic, rd_kafka_err2str(topic_err)));
  }
  return count;
}

}  // namespace

Fault MessageParser::Parse(std::string_view payload, Transaction* tx) {
  while (!payload.empty() && (payload.back() == '\n' || payload.back() == '\r')) {
    payload.remove_suffix(1);
  }
  empty_ = payload.empty();
  if (empty_) return Fault::kWrongFieldCount;
  last_ = payload.front() == '{' ? &json_ : &csv_;
  return last_->Parse(payload, tx);
}

std::string MessageParser::Describe() const {
  return empty_ ? "empty message" : last_->Describe();
}

struct StreamState::Reader {
  explicit Reader(KafkaClient c) : consumer(std::move(c)) {}

  KafkaClient consumer;
  MessageParser parser;

  rd_kafka_t* get() const { return consumer.get(); }

  // Decodes a data message; false for one that breaks a rule (its owner dead-letters it).
  bool Decode(const rd_kafka_message_t& m, Transaction* tx) {
    return parser.Parse({static_cast<const char*>(m.payload), m.len}, tx) == Fault::kNone;
  }
};

StreamState::StreamState(StreamStateOptions options, std::unique_ptr<Reader> reader,
                         int partitions)
    : options_(std::move(options)),
      reader_(std::move(reader)),
      customers_(options_.spec, StateOptions{.allowed_lateness_seconds = kLatenessSeconds}),
      warm_customers_(options_.spec),
      terminals_(options_.spec, StateOptions{.allowed_lateness_seconds = kLatenessSeconds}),
      terminal_next_(partitions, 0),
      terminal_time_(partitions, kNever),
      feed_at_end_(partitions, false),
      feed_paused_(partitions, false) {}

StreamState::~StreamState() = default;

absl::StatusOr<std::unique_ptr<StreamState>> StreamState::Create(StreamStateOptions options) {
  KafkaSettings settings = options.reader_settings;
  settings.Set("enable.auto.commit", "false");  // it never commits: the group does
  settings.Set("enable.partition.eof", "true");
  // A small fetch queue bounds how far ahead of the scored transactions the feed can read.
  settings.Set("queued.max.messages.kbytes", "2048");
  ASSIGN_OR_RETURN(KafkaClient consumer, KafkaClient::Consumer(settings));
  ASSIGN_OR_RETURN(const int partitions, PartitionCount(consumer.get(), options.topic));
  auto reader = std::make_unique<Reader>(std::move(consumer));
  std::unique_ptr<StreamState> state(
      new StreamState(std::move(options), std::move(reader), partitions));
  for (int p = 0; p < partitions; ++p) {
    int64_t low = 0, high = 0;
    const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
        state->reader_->get(), state->options_.topic.c_str(), p, &low, &high, 10'000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnavailableError(fmt::format("offsets of {} [{}]: {}", state->options_.topic,
                                                p, rd_kafka_err2str(err)));
    }
    state->terminal_next_[p] = low;
  }
  RETURN_IF_ERROR(state->RestartFeed());
  return state;
}

void StreamState::WarmUp(const std::vector<Transaction>& history) {
  for (const Transaction& tx : history) {
    customers_.Update(tx);
    warm_customers_.Update(tx);
    terminals_.Update(tx);
  }
}

// A partition the feed paused stays paused through rd_kafka_assign (the pause flag belongs to
// the partition, not to the assignment): each assign resumes what it assigns.
absl::Status StreamState::AssignReader(const rd_kafka_topic_partition_list_t* list,
                                       std::string_view what) {
  rd_kafka_resp_err_t err = rd_kafka_assign(reader_->get(), list);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR && list->cnt > 0) {
    PartitionList copy(rd_kafka_topic_partition_list_copy(list));
    err = rd_kafka_resume_partitions(reader_->get(), copy.get());
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(fmt::format("{}: {}", what, rd_kafka_err2str(err)));
  }
  return absl::OkStatus();
}

absl::Status StreamState::RestartFeed() {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(terminal_next_.size())));
  for (size_t p = 0; p < terminal_next_.size(); ++p) {
    if (owned_.contains(static_cast<int32_t>(p))) continue;
    rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), static_cast<int32_t>(p))
        ->offset = terminal_next_[p];
    feed_at_end_[p] = false;
    feed_paused_[p] = false;
  }
  return AssignReader(list.get(), "terminal feed");
}

void StreamState::FeedTerminal(const Transaction& tx, int32_t partition, int64_t offset) {
  if (offset < terminal_next_[partition]) return;  // already in
  terminals_.Update(tx);
  terminal_next_[partition] = offset + 1;
  terminal_time_[partition] = std::max(terminal_time_[partition], tx.tx_datetime);
}

absl::Status StreamState::Assign(const std::map<int32_t, int64_t>& next_offsets) {
  if (next_offsets.empty()) return absl::OkStatus();
  ++stats_.rebuilds;
  std::set<int32_t> partitions;
  for (const auto& [p, offset] : next_offsets) {
    if (p < 0 || static_cast<size_t>(p) >= terminal_next_.size()) {
      return absl::OutOfRangeError(fmt::format(
          "{} has {} partitions; partition {} was assigned (partitions added while running: "
          "restart the workers)", options_.topic, terminal_next_.size(), p));
    }
    partitions.insert(p);
    owned_[p] = true;
  }
  // Customers as this worker last saw them are stale: they go, and come back rebuilt.
  absl::flat_hash_map<int64_t, bool> keys;
  for (const auto& [customer, p] : partition_of_) {
    if (partitions.contains(p)) keys[customer] = true;
  }

  // Read each partition from its oldest message up to its next offset.
  std::map<int32_t, int64_t> remaining;
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& [p, next] : next_offsets) {
    int64_t low = 0, high = 0;
    const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
        reader_->get(), options_.topic.c_str(), p, &low, &high, 10'000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnavailableError(
          fmt::format("offsets of {} [{}]: {}", options_.topic, p, rd_kafka_err2str(err)));
    }
    if (low >= next) continue;
    remaining[p] = next;
    rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), p)->offset = low;
  }
  CustomerState rebuilt(options_.spec,
                        StateOptions{.allowed_lateness_seconds = kLatenessSeconds});
  if (!remaining.empty()) {
    RETURN_IF_ERROR(AssignReader(list.get(), "rebuild"));
    auto last_message = std::chrono::steady_clock::now();
    Transaction tx;
    while (!remaining.empty()) {
      MessagePtr m(rd_kafka_consumer_poll(reader_->get(), 200));
      const auto now = std::chrono::steady_clock::now();
      if (m == nullptr) {
        if (now - last_message > kReadTimeout) {
          return absl::UnavailableError(fmt::format(
              "rebuilding the customers of {}: no message for {} s", options_.topic,
              std::chrono::duration_cast<std::chrono::seconds>(kReadTimeout).count()));
        }
        continue;
      }
      last_message = now;
      const auto it = remaining.find(m->partition);
      if (it == remaining.end()) continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        remaining.erase(it);
        continue;
      }
      if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
          m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
        // Retention removed messages while they were read: the windows lack them.
        if (!options_.allow_offset_reset) {
          return absl::DataLossError(fmt::format(
              "rebuilding the customers of {} [{}]: {} (--allow-offset-reset to go on)",
              options_.topic, m->partition, rd_kafka_message_errstr(m.get())));
        }
        std::fprintf(stderr, "fraudstream stream: error: rebuilding %s [%d]: %s (data loss)\n",
                     options_.topic.c_str(), m->partition, rd_kafka_message_errstr(m.get()));
        remaining.erase(it);
        continue;
      }
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
      if (m->offset < it->second && reader_->Decode(*m, &tx)) {
        rebuilt.Update(tx);
        FeedTerminal(tx, m->partition, m->offset);
        partition_of_[tx.customer_id.value()] = m->partition;
        keys[tx.customer_id.value()] = true;
        ++stats_.rebuilt;
      }
      if (m->offset + 1 >= it->second) remaining.erase(it);
    }
  }
  customers_.ExtractIf([&](CustomerId c) { return keys.contains(c.value()); });
  if (warm_customers_.num_keys() > 0 && !keys.empty()) {
    ASSIGN_OR_RETURN(CustomerState warm,
                     CustomerState::Deserialize(warm_customers_.Serialize([&](CustomerId c) {
                       return keys.contains(c.value());
                     }), options_.spec));
    rebuilt.Merge(warm);
  }
  customers_.Merge(rebuilt);
  return RestartFeed();
}

absl::Status StreamState::Revoke(const std::vector<int32_t>& partitions) {
  std::set<int32_t> revoked;
  for (int32_t p : partitions) {
    if (owned_.erase(p) > 0) revoked.insert(p);
  }
  if (revoked.empty()) return absl::OkStatus();
  customers_.ExtractIf([&](CustomerId c) {
    const auto it = partition_of_.find(c.value());
    return it != partition_of_.end() && revoked.contains(it->second);
  });
  return RestartFeed();
}

absl::Status StreamState::CatchUp(int64_t newest_event_time) {
  if (owned_.size() == terminal_next_.size()) return absl::OkStatus();  // no feed
  const int64_t need = newest_event_time - options_.spec.terminal_delay_days * kSecondsPerDay;
  auto last_message = std::chrono::steady_clock::now();
  Transaction tx;
  while (true) {
    bool waiting = false;
    for (size_t p = 0; p < terminal_time_.size(); ++p) {
      if (owned_.contains(static_cast<int32_t>(p))) continue;
      const bool satisfied = terminal_time_[p] >= need;
      waiting |= !satisfied && !feed_at_end_[p];
      if (satisfied == feed_paused_[p]) continue;
      PartitionList one(rd_kafka_topic_partition_list_new(1));
      rd_kafka_topic_partition_list_add(one.get(), options_.topic.c_str(), static_cast<int32_t>(p));
      if (satisfied) {
        rd_kafka_pause_partitions(reader_->get(), one.get());
      } else {
        rd_kafka_resume_partitions(reader_->get(), one.get());
      }
      feed_paused_[p] = satisfied;
    }
    MessagePtr m(rd_kafka_consumer_poll(reader_->get(), waiting ? 100 : 0));
    const auto now = std::chrono::steady_clock::now();
    if (m == nullptr) {
      if (!waiting) return absl::OkStatus();
      if (now - last_message > kReadTimeout) {
        return absl::UnavailableError(fmt::format(
            "terminal feed of {}: no message for {} s", options_.topic,
            std::chrono::duration_cast<std::chrono::seconds>(kReadTimeout).count()));
      }
      continue;
    }
    last_message = now;
    const int32_t p = m->partition;
    if (p < 0 || static_cast<size_t>(p) >= terminal_time_.size() || owned_.contains(p)) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      feed_at_end_[p] = true;
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
        m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
      // Messages of another worker's partition expired before the feed read them: the
      // terminal windows lack them. Go on from the oldest one left.
      std::fprintf(stderr, "fraudstream stream: warning: terminal feed %s [%d]: %s\n",
                   options_.topic.c_str(), p, rd_kafka_message_errstr(m.get()));
      int64_t low = 0, high = 0;
      rd_kafka_query_watermark_offsets(reader_->get(), options_.topic.c_str(), p, &low, &high,
                                       10'000);
      terminal_next_[p] = std::max(terminal_next_[p], low);
      RETURN_IF_ERROR(RestartFeed());
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    feed_at_end_[p] = false;
    if (reader_->Decode(*m, &tx)) {
      FeedTerminal(tx, p, m->offset);
      ++stats_.fed;
    } else {
      terminal_next_[p] = std::max(terminal_next_[p], m->offset + 1);
    }
  }
}

std::vector<int32_t> StreamState::Owned() const {
  std::vector<int32_t> out;
  for (const auto& [p, owned] : owned_) out.push_back(p);
  return out;
}

int64_t StreamState::TerminalTime(int32_t partition) const {
  return partition >= 0 && static_cast<size_t>(partition) < terminal_time_.size()
             ? terminal_time_[partition]
             : kAbsent;
}

void StreamState::Process(const Transaction& tx, int32_t partition, int64_t offset, float* row) {
  ComputeTransactionFeatures(tx, row);
  customers_.Process(tx, row);
  partition_of_[tx.customer_id.value()] = partition;
  if (offset >= terminal_next_[partition]) {
    terminals_.Process(tx, row);
    terminal_next_[partition] = offset + 1;
    terminal_time_[partition] = std::max(terminal_time_[partition], tx.tx_datetime);
  } else {
    terminals_.Compute(tx, row);
  }
}

}  // namespace fraud
