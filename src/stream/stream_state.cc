#include "stream/stream_state.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <set>

#include "core/file.h"
#include "core/status.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace fraud {
namespace {

constexpr int64_t kNever = kAbsent;
constexpr int64_t kSecondsPerDay = 86'400;
// Partitions are scored in event-time order up to the terminal delay apart (the worker's
// Select), and the feed reads a little ahead (what its fetch queue holds, see Create): a
// transaction may be that much older than the newest one in the state, and its windows must
// still be whole. Windows never depend on retention beyond them, only on what is kept.
constexpr int64_t kLatenessSeconds = 10 * kSecondsPerDay;
// Only scoring moves the event time the windows evict by: a partition rebuilt up to where a
// faster worker left it, or the feed reading ahead, must not evict what the transactions
// still to be scored here need.
constexpr StateOptions kStateOptions{.allowed_lateness_seconds = kLatenessSeconds,
                                     .history_moves_time = false};
// How long a read may wait for a broker before the worker gives up.
constexpr auto kReadTimeout = std::chrono::seconds(30);
// A read that got nothing for this long while messages were due starts over on a new reader
// (librdkafka 2.0.2 can leave a partition that was re-assigned while it was being stopped
// without a fetcher: seen about once in ten rebalances on the mock cluster).
constexpr auto kStallTimeout = std::chrono::seconds(5);
// How far the terminal feed reads past what the next batch needs before it pauses a partition
// (see CatchUp): 1 day took a two-worker backlog of 127 k messages from 7.2 to 4.1 s, 3 days
// to 2.4 s (one worker alone: 1.9 s). The terminal windows hold 3 more days of the other
// partitions at most.
constexpr int64_t kFeedReadAheadSeconds = 3 * kSecondsPerDay;

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

std::string MessageParser::Describe() const { return empty_ ? "empty message" : last_->Describe(); }

struct StreamState::Reader {
  explicit Reader(KafkaClient c) : consumer(std::move(c)) {}

  KafkaClient consumer;
  MessageParser parser;
  std::map<int32_t, int64_t> handed;

  rd_kafka_t* get() const { return consumer.get(); }

  // The next message or event; remembers where each partition's last message was handed out.
  MessagePtr Poll(int timeout_ms) {
    MessagePtr m(rd_kafka_consumer_poll(consumer.get(), timeout_ms));
    if (m != nullptr && m->err == RD_KAFKA_RESP_ERR_NO_ERROR) handed[m->partition] = m->offset + 1;
    return m;
  }
  // Offset after the last message of the partition handed out, or -1.
  int64_t Handed(int32_t partition) const {
    const auto it = handed.find(partition);
    return it == handed.end() ? -1 : it->second;
  }

  // Decodes a data message; false for one that breaks a rule (its owner dead-letters it).
  bool Decode(const rd_kafka_message_t& m, Transaction* tx) {
    return parser.Parse({static_cast<const char*>(m.payload), m.len}, tx) == Fault::kNone;
  }
};

StreamState::StreamState(StreamStateOptions options, std::unique_ptr<Reader> reader, int partitions)
    : options_(std::move(options)),
      reader_(std::move(reader)),
      customers_(options_.spec, kStateOptions),
      warm_customers_(options_.spec),
      terminals_(options_.spec, kStateOptions),
      terminal_next_(partitions, 0),
      terminal_time_(partitions, kNever),
      feed_at_end_(partitions, false),
      feed_paused_(partitions, false),
      customer_next_(partitions, 0),
      checkpointed_(partitions, -1) {}

StreamState::~StreamState() = default;

absl::StatusOr<std::unique_ptr<StreamState::Reader>> StreamState::NewReader(
    const StreamStateOptions& options) {
  KafkaSettings settings = options.reader_settings;
  settings.Set("enable.auto.commit", "false");  // it never commits: the group does
  settings.Set("enable.partition.eof", "true");
  // A small fetch queue bounds how far ahead of the scored transactions the feed can read.
  settings.Set("queued.max.messages.kbytes", "2048");
  ASSIGN_OR_RETURN(KafkaClient consumer, KafkaClient::Consumer(settings));
  return std::make_unique<Reader>(std::move(consumer));
}

absl::StatusOr<std::unique_ptr<StreamState>> StreamState::Create(StreamStateOptions options) {
  ASSIGN_OR_RETURN(auto reader, NewReader(options));
  ASSIGN_OR_RETURN(const int partitions, PartitionCount(reader->get(), options.topic));
  std::unique_ptr<StreamState> state(
      new StreamState(std::move(options), std::move(reader), partitions));
  std::vector<int64_t> lows;
  for (int p = 0; p < partitions; ++p) {
    int64_t low = 0, high = 0;
    const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
        state->reader_->get(), state->options_.topic.c_str(), p, &low, &high, 10'000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnavailableError(
          fmt::format("offsets of {} [{}]: {}", state->options_.topic, p, rd_kafka_err2str(err)));
    }
    state->terminal_next_[p] = low;
    lows.push_back(low);
  }
  RETURN_IF_ERROR(state->LoadTerminalCheckpoint(lows));
  RETURN_IF_ERROR(state->RestartFeed());
  return state;
}

void StreamState::WarmUp(const std::vector<Transaction>& history) {
  for (const Transaction& tx : history) {
    customers_.Update(tx);
    warm_customers_.Update(tx);
    if (!terminals_restored_) terminals_.Update(tx);
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

absl::Status StreamState::ReplaceReader(const rd_kafka_topic_partition_list_t* list,
                                        std::string_view what) {
  ++stats_.reader_restarts;
  std::fprintf(stderr,
               "fraudstream stream: warning: %s of %s: no message for %lld s while some were "
               "due; reading again on a new connection\n",
               std::string(what).c_str(), options_.topic.c_str(),
               static_cast<long long>(
                   std::chrono::duration_cast<std::chrono::seconds>(kStallTimeout).count()));
  reader_.reset();  // closed before its replacement joins
  ASSIGN_OR_RETURN(reader_, NewReader(options_));
  if (list == nullptr) return RestartFeed();
  return AssignReader(list, what);
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
          "restart the workers)",
          options_.topic, terminal_next_.size(), p));
    }
    partitions.insert(p);
    owned_[p] = true;
  }
  // Customers as this worker last saw them are stale: they go, and come back rebuilt.
  absl::flat_hash_map<int64_t, bool> keys;
  for (const auto& [customer, p] : partition_of_) {
    if (partitions.contains(p)) keys[customer] = true;
  }

  // Each partition from its newest usable snapshot, or else its oldest message, up to its
  // next offset.
  CustomerState rebuilt(options_.spec, kStateOptions);
  absl::flat_hash_map<int64_t, bool> snapshot_keys;  // their --warm-up history is in already
  std::map<int32_t, int64_t> customer_from;          // first offset the customers lack
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
    customer_next_[p] = next;
    int64_t start = low;
    auto snapshot = ReadCheckpoint(p, next);
    if (!snapshot.ok()) {
      std::fprintf(stderr, "fraudstream stream: warning: %s; rebuilding from the topic\n",
                   std::string(snapshot.status().message()).c_str());
    } else if (snapshot->has_value()) {
      const auto& [offset, customers] = **snapshot;
      if (offset < low) {
        std::fprintf(stderr,
                     "fraudstream stream: warning: %s [%d]: the snapshot is at offset %lld, "
                     "the oldest message at %lld: the windows lack the messages between\n",
                     options_.topic.c_str(), p, static_cast<long long>(offset),
                     static_cast<long long>(low));
      }
      start = std::max(offset, low);
      customers.ForEachKey([&](CustomerId c) {
        partition_of_[c.value()] = p;
        keys[c.value()] = true;
        snapshot_keys[c.value()] = true;
      });
      stats_.restored += static_cast<int64_t>(customers.num_keys());
      rebuilt.Merge(customers);
    }
    customer_from[p] = start;
    // The terminal windows may lack messages before the snapshot too (those the feed had not
    // read yet): they are read as well, for the terminals only.
    start = std::min(start, std::max(terminal_next_[p], low));
    if (start >= next) continue;
    remaining[p] = next;
    rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), p)->offset = start;
  }
  if (!remaining.empty()) {
    RETURN_IF_ERROR(AssignReader(list.get(), "rebuild"));
    std::map<int32_t, int64_t> position;  // the next offset each partition is read from
    for (int i = 0; i < list->cnt; ++i) position[list->elems[i].partition] = list->elems[i].offset;
    auto last_message = std::chrono::steady_clock::now();
    auto last_start = last_message;
    Transaction tx;
    while (!remaining.empty()) {
      MessagePtr m = reader_->Poll(200);
      const auto now = std::chrono::steady_clock::now();
      if (m == nullptr) {
        if (now - last_message > kReadTimeout) {
          return absl::UnavailableError(
              fmt::format("rebuilding the customers of {}: no message for {} s", options_.topic,
                          std::chrono::duration_cast<std::chrono::seconds>(kReadTimeout).count()));
        }
        if (now - last_start > kStallTimeout) {
          PartitionList again(
              rd_kafka_topic_partition_list_new(static_cast<int>(remaining.size())));
          for (const auto& [p, next] : remaining) {
            rd_kafka_topic_partition_list_add(again.get(), options_.topic.c_str(), p)->offset =
                position[p];
          }
          RETURN_IF_ERROR(ReplaceReader(again.get(), "rebuild"));
          last_start = now;
        }
        continue;
      }
      last_message = last_start = now;
      const auto it = remaining.find(m->partition);
      if (it == remaining.end()) continue;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) position[m->partition] = m->offset + 1;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        remaining.erase(it);
        continue;
      }
      if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
          m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
        // Retention removed messages while they were read: the windows lack them.
        if (!options_.allow_offset_reset) {
          return absl::DataLossError(
              fmt::format("rebuilding the customers of {} [{}]: {} (--allow-offset-reset to go on)",
                          options_.topic, m->partition, rd_kafka_message_errstr(m.get())));
        }
        std::fprintf(stderr, "fraudstream stream: error: rebuilding %s [%d]: %s (data loss)\n",
                     options_.topic.c_str(), m->partition, rd_kafka_message_errstr(m.get()));
        remaining.erase(it);
        continue;
      }
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
      if (m->offset < it->second && reader_->Decode(*m, &tx)) {
        FeedTerminal(tx, m->partition, m->offset);
        if (m->offset >= customer_from[m->partition]) {
          rebuilt.Update(tx);
          partition_of_[tx.customer_id.value()] = m->partition;
          keys[tx.customer_id.value()] = true;
          ++stats_.rebuilt;
        }
      }
      if (m->offset + 1 >= it->second) remaining.erase(it);
    }
  }
  customers_.ExtractIf([&](CustomerId c) { return keys.contains(c.value()); });
  if (warm_customers_.num_keys() > 0 && !keys.empty()) {
    ASSIGN_OR_RETURN(CustomerState warm,
                     CustomerState::Deserialize(warm_customers_.Serialize([&](CustomerId c) {
                       return keys.contains(c.value()) && !snapshot_keys.contains(c.value());
                     }),
                                                options_.spec));
    rebuilt.Merge(warm);
  }
  customers_.Merge(rebuilt);
  return RestartFeed();
}

absl::Status StreamState::Revoke(const std::vector<int32_t>& partitions) {
  std::set<int32_t> revoked;
  for (int32_t p : partitions) {
    if (!owned_.contains(p)) continue;
    // Handed over with the offset it is complete up to (committed just before, by the
    // worker); the next owner reads only what follows. A failure costs it a longer rebuild.
    if (absl::Status s = WriteCheckpoint(p); !s.ok()) {
      std::fprintf(stderr, "fraudstream stream: warning: %s\n", std::string(s.message()).c_str());
    }
    owned_.erase(p);
    revoked.insert(p);
  }
  if (revoked.empty()) return absl::OkStatus();
  customers_.ExtractIf([&](CustomerId c) {
    const auto it = partition_of_.find(c.value());
    return it != partition_of_.end() && revoked.contains(it->second);
  });
  return RestartFeed();
}

std::string StreamState::CheckpointDir(int32_t partition) const {
  return fmt::format("{}/{}/{}", options_.checkpoint_dir, options_.topic, partition);
}

absl::Status StreamState::Checkpoint() {
  for (const auto& [p, owned] : owned_) RETURN_IF_ERROR(WriteCheckpoint(p));
  return WriteTerminalCheckpoint();
}

namespace {

// Writes DIR/NAME.state (NAME zero-padded, so names sort as numbers) and keeps the three
// newest snapshots of DIR.
absl::Status WriteSnapshot(const std::string& dir, int64_t name, const std::string& contents) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::UnavailableError(fmt::format("checkpoint {}: {}", dir, error.message()));
  RETURN_IF_ERROR(WriteFile(fmt::format("{}/{:020}.state", dir, name), contents));
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.path().extension() == ".state") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (size_t i = 0; i + 3 < files.size(); ++i) std::filesystem::remove(files[i], error);
  return absl::OkStatus();
}

// The snapshots of DIR as (name, path), names at most `limit`.
std::vector<std::pair<int64_t, std::filesystem::path>> Snapshots(const std::string& dir,
                                                                 int64_t limit) {
  std::vector<std::pair<int64_t, std::filesystem::path>> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.path().extension() != ".state") continue;
    char* end = nullptr;
    const std::string stem = entry.path().stem().string();
    const long long name = std::strtoll(stem.c_str(), &end, 10);
    if (end != nullptr && *end == '\0' && name <= limit) files.emplace_back(name, entry.path());
  }
  return files;
}

// The JSON header line of a snapshot and where its blob starts; kDataLoss when it is not one of
// `format`, kFailedPrecondition when it was written for other features.
absl::StatusOr<std::pair<nlohmann::json, size_t>> SnapshotHeader(const std::string& contents,
                                                                 const std::string& path,
                                                                 std::string_view format,
                                                                 const FeatureSpec& spec) {
  const size_t newline = contents.find('\n');
  nlohmann::json header =
      nlohmann::json::parse(contents.substr(0, newline), nullptr, /*allow_exceptions=*/false);
  if (newline == std::string::npos || !header.is_object() || header.value("format", "") != format) {
    return absl::DataLossError(fmt::format("checkpoint {}: not a snapshot", path));
  }
  if (header.value("features", "") != spec.name ||
      header.value("features_version", 0) != spec.version) {
    return absl::FailedPreconditionError(
        fmt::format("checkpoint {}: written for the features {}, this stream computes {}", path,
                    header.value("features", ""), spec.name));
  }
  return std::make_pair(std::move(header), newline + 1);
}

}  // namespace

absl::Status StreamState::WriteTerminalCheckpoint() {
  if (options_.checkpoint_dir.empty()) return absl::OkStatus();
  int64_t total = 0;
  for (const int64_t next : terminal_next_) total += next;
  const nlohmann::ordered_json header = {{"format", "fraudstream-terminal-state"},
                                         {"topic", options_.topic},
                                         {"next", terminal_next_},
                                         {"time", terminal_time_},
                                         {"features", options_.spec.name},
                                         {"features_version", options_.spec.version}};
  RETURN_IF_ERROR(
      WriteSnapshot(fmt::format("{}/{}/terminals", options_.checkpoint_dir, options_.topic), total,
                    header.dump() + "\n" + terminals_.Serialize()));
  ++stats_.checkpoints;
  return absl::OkStatus();
}

absl::Status StreamState::LoadTerminalCheckpoint(const std::vector<int64_t>& low) {
  if (options_.checkpoint_dir.empty()) return absl::OkStatus();
  auto files = Snapshots(fmt::format("{}/{}/terminals", options_.checkpoint_dir, options_.topic),
                         std::numeric_limits<int64_t>::max());
  std::sort(files.rbegin(), files.rend());  // the most advanced first
  for (const auto& [name, path] : files) {
    auto contents = ReadFile(path.string());
    absl::StatusOr<std::pair<nlohmann::json, size_t>> header =
        contents.ok()
            ? SnapshotHeader(*contents, path.string(), "fraudstream-terminal-state", options_.spec)
            : absl::StatusOr<std::pair<nlohmann::json, size_t>>(contents.status());
    std::vector<int64_t> next, time;
    if (header.ok()) {
      next = header->first.value("next", std::vector<int64_t>());
      time = header->first.value("time", std::vector<int64_t>());
      if (next.size() != low.size() || time.size() != low.size()) {
        header = absl::FailedPreconditionError(
            fmt::format("checkpoint {}: written for {} partitions, the topic has {}", path.string(),
                        next.size(), low.size()));
      }
    }
    absl::StatusOr<TerminalState> terminals =
        header.ok() ? TerminalState::Deserialize(std::string_view(*contents).substr(header->second),
                                                 options_.spec, kStateOptions)
                    : absl::StatusOr<TerminalState>(header.status());
    if (!terminals.ok()) {
      std::fprintf(stderr, "fraudstream stream: warning: %s; passed over\n",
                   std::string(terminals.status().message()).c_str());
      continue;
    }
    terminals_ = *std::move(terminals);
    for (size_t p = 0; p < low.size(); ++p) {
      if (next[p] < low[p]) {
        std::fprintf(stderr,
                     "fraudstream stream: warning: %s [%zu]: the terminal snapshot is at offset "
                     "%lld, the oldest message at %lld: the windows lack the messages between\n",
                     options_.topic.c_str(), p, static_cast<long long>(next[p]),
                     static_cast<long long>(low[p]));
      }
      terminal_next_[p] = std::max(next[p], low[p]);
      terminal_time_[p] = time[p];
    }
    terminals_restored_ = true;
    return absl::OkStatus();
  }
  return absl::OkStatus();
}

// DIR/TOPIC/PARTITION/OFFSET.state: a JSON header line, then CustomerState's binary blob.
// The three newest snapshots of a partition are kept.
absl::Status StreamState::WriteCheckpoint(int32_t partition) {
  const int64_t offset = customer_next_[partition];
  if (options_.checkpoint_dir.empty() || checkpointed_[partition] == offset) {
    return absl::OkStatus();
  }
  const nlohmann::ordered_json header = {{"format", "fraudstream-customer-state"},
                                         {"topic", options_.topic},
                                         {"partition", partition},
                                         {"offset", offset},
                                         {"features", options_.spec.name},
                                         {"features_version", options_.spec.version}};
  RETURN_IF_ERROR(WriteSnapshot(CheckpointDir(partition), offset,
                                header.dump() + "\n" + customers_.Serialize([&](CustomerId c) {
                                  const auto it = partition_of_.find(c.value());
                                  return it != partition_of_.end() && it->second == partition;
                                })));
  checkpointed_[partition] = offset;
  ++stats_.checkpoints;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::pair<int64_t, CustomerState>>> StreamState::ReadCheckpoint(
    int32_t partition, int64_t next) const {
  if (options_.checkpoint_dir.empty()) return std::nullopt;
  const auto files = Snapshots(CheckpointDir(partition), next);
  if (files.empty()) return std::nullopt;
  const auto& [offset, path] = *std::max_element(files.begin(), files.end());
  ASSIGN_OR_RETURN(const std::string contents, ReadFile(path.string()));
  ASSIGN_OR_RETURN(const auto header, SnapshotHeader(contents, path.string(),
                                                     "fraudstream-customer-state", options_.spec));
  if (header.first.value("offset", int64_t{-1}) != offset) {
    return absl::DataLossError(fmt::format("checkpoint {}: not a snapshot", path.string()));
  }
  auto customers = CustomerState::Deserialize(std::string_view(contents).substr(header.second),
                                              options_.spec, kStateOptions);
  if (!customers.ok()) {
    return absl::Status(
        customers.status().code(),
        fmt::format("checkpoint {}: {}", path.string(), std::string(customers.status().message())));
  }
  return std::make_optional(std::make_pair(offset, *std::move(customers)));
}

absl::Status StreamState::CatchUp(int64_t newest_event_time) {
  if (owned_.size() == terminal_next_.size()) return absl::OkStatus();  // no feed
  const int64_t need = newest_event_time - options_.spec.terminal_delay_days * kSecondsPerDay;
  auto last_message = std::chrono::steady_clock::now();
  auto last_start = last_message;
  Transaction tx;
  while (true) {
    bool waiting = false;
    for (size_t p = 0; p < terminal_time_.size(); ++p) {
      if (owned_.contains(static_cast<int32_t>(p))) continue;
      const bool satisfied = terminal_time_[p] >= need;
      waiting |= !satisfied && !feed_at_end_[p];
      // Paused once well ahead of the need, resumed once behind it: pausing as soon as it was
      // satisfied paused and resumed partitions every batch on a backlog, each resume waiting
      // for a fetch, and two workers then scored in lockstep (~15 k TPS).
      const bool pause =
          feed_paused_[p] ? satisfied : terminal_time_[p] >= need + kFeedReadAheadSeconds;
      if (pause == feed_paused_[p]) continue;
      PartitionList one(rd_kafka_topic_partition_list_new(1));
      rd_kafka_topic_partition_list_add(one.get(), options_.topic.c_str(), static_cast<int32_t>(p))
          ->offset = terminal_next_[p];
      if (pause) {
        // A pause moves the fetch position to just after the last message handed out by this
        // client, which can be beyond the feed (read while the partition was rebuilt or
        // owned, and passed over): then the position is set back, or the feed would skip.
        rd_kafka_pause_partitions(reader_->get(), one.get());
        if (reader_->Handed(static_cast<int32_t>(p)) > terminal_next_[p]) {
          rd_kafka_error_t* error = rd_kafka_seek_partitions(reader_->get(), one.get(), 10'000);
          const rd_kafka_resp_err_t err =
              error != nullptr ? rd_kafka_error_code(error) : one->elems[0].err;
          if (error != nullptr) rd_kafka_error_destroy(error);
          if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            return absl::UnavailableError(fmt::format("terminal feed of {} [{}]: seek: {}",
                                                      options_.topic, p, rd_kafka_err2str(err)));
          }
          ++stats_.feed_seeks;
        }
      } else {
        rd_kafka_resume_partitions(reader_->get(), one.get());
      }
      feed_paused_[p] = pause;
    }
    MessagePtr m = reader_->Poll(waiting ? 100 : 0);
    const auto now = std::chrono::steady_clock::now();
    if (m == nullptr) {
      if (!waiting) return absl::OkStatus();
      if (now - last_message > kReadTimeout) {
        return absl::UnavailableError(
            fmt::format("terminal feed of {}: no message for {} s", options_.topic,
                        std::chrono::duration_cast<std::chrono::seconds>(kReadTimeout).count()));
      }
      if (now - last_start > kStallTimeout) {
        RETURN_IF_ERROR(ReplaceReader(nullptr, "terminal feed"));
        last_start = now;
      }
      continue;
    }
    last_message = last_start = now;
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

void StreamState::ProcessBatch(std::span<const Message> messages, float* rows) {
  const size_t cols = options_.spec.size();
  const size_t n = messages.size();
  const auto customer_at = [&](size_t j) { return messages[j].tx->customer_id; };
  const auto terminal_at = [&](size_t j) { return messages[j].tx->terminal_id; };
  for (size_t i = 0; i < n; ++i) {
    PrefetchAhead(customers_, i, n, customer_at);
    const Message& m = messages[i];
    float* row = rows + i * cols;
    ComputeTransactionFeatures(*m.tx, row);
    customers_.Process(*m.tx, row);
    partition_of_[m.tx->customer_id.value()] = m.partition;
    customer_next_[m.partition] = m.offset + 1;
  }
  for (size_t i = 0; i < n; ++i) {
    PrefetchAhead(terminals_, i, n, terminal_at);
    const Message& m = messages[i];
    float* row = rows + i * cols;
    if (m.offset >= terminal_next_[m.partition]) {
      terminals_.Process(*m.tx, row);
      terminal_next_[m.partition] = m.offset + 1;
      terminal_time_[m.partition] = std::max(terminal_time_[m.partition], m.tx->tx_datetime);
    } else {
      terminals_.Compute(*m.tx, row);
    }
  }
}

}  // namespace fraud
