#pragma once

// The feature state of one stream worker (docs/STREAMING.md, "Partitions and state").
//
// The input topic is its own changelog: every transaction of a customer is in one partition
// (keyed by customer_id), in order, so the customer windows of a partition at offset C are a
// function of the partition's messages before C. On assignment, the customers of a partition
// are rebuilt from its oldest retained message up to the offset scoring resumes at (the
// committed one), on top of the --warm-up history; on revocation they are dropped. A
// partition therefore moves between workers with exactly the transactions its committed
// offset covers: none lost, none counted twice.
//
// Terminal windows only use transactions at least the delay (7 days) old, from every
// partition. Each worker keeps the whole terminal state: its own partitions' messages as it
// scores them, and the other partitions' from a feed (a second, group-less consumer of the
// input topic). Before a batch whose newest event time is t is scored, the feed has passed
// t - delay in every partition it reads, or reached that partition's end. Each partition's
// messages enter the terminal state once, in offset order, whoever reads them
// (terminal_next_ per partition).
//
//   ASSIGN_OR_RETURN(auto state, StreamState::Create(options));
//   RETURN_IF_ERROR(state->Assign({{0, committed0}, {1, committed1}}));   // rebalance
//   RETURN_IF_ERROR(state->CatchUp(newest_event_time_of_batch));
//   state->ProcessBatch(messages, rows);                                  // per micro-batch
//
// Checkpoints (options.checkpoint_dir): a snapshot of a partition's customer windows with
// the offset they are complete up to, written on revocation, by Checkpoint() (periodically)
// and at shutdown. On assignment the newest snapshot at or below the resume offset is loaded
// and only the messages after it are read, so the topic's retention need not cover the
// customer windows. Checkpoint() also writes the terminal windows with the offset each
// partition is in them up to; a worker starts from the newest of those and its feed reads on
// from there. A snapshot beyond the resume offset (written before its offsets were
// committed) is never used: it would count transactions that will be scored again.
//
// Not thread-safe: the worker's polling thread (and its rebalance callback) use it.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/transaction.h"
#include "data/row_parser.h"
#include "features/feature_spec.h"
#include "features/window_state.h"
#include "stream/kafka.h"

namespace fraud {

// Decodes one input message: JSON when it starts with '{', otherwise a CSV row in the Otus
// column order; trailing newlines are ignored.
class MessageParser {
 public:
  Fault Parse(std::string_view payload, Transaction* tx);
  // What broke the rule, for the DLQ.
  std::string Describe() const;

 private:
  RowParser json_{Layout::JsonLines(), kAbsent};
  RowParser csv_{Layout::Otus(false), kAbsent};
  RowParser* last_ = &csv_;
  bool empty_ = false;
};

struct StreamStateOptions {
  FeatureSpec spec;
  std::string topic;
  // Client settings of the group-less reader (bootstrap, TLS/SASL pass-through); Create adds
  // what the reader needs.
  KafkaSettings reader_settings;
  bool allow_offset_reset = false;
  // Where the customer snapshots are: DIR/TOPIC/PARTITION/OFFSET.state; a directory every
  // worker of the group can read (a shared volume). Empty: no checkpoints.
  std::string checkpoint_dir;
};

struct StreamStateStats {
  int64_t rebuilt = 0;          // messages read again to rebuild customer windows
  int64_t fed = 0;              // messages of other workers' partitions in the terminal windows
  int64_t reader_restarts = 0;  // reads that stalled and started over on a new connection
  int64_t feed_seeks = 0;       // feed positions set back after a pause (see CatchUp)
  int64_t rebuilds = 0;
  int64_t restored = 0;     // customers loaded from checkpoints
  int64_t checkpoints = 0;  // snapshots written
};

class StreamState {
 public:
  static absl::StatusOr<std::unique_ptr<StreamState>> Create(StreamStateOptions options);
  ~StreamState();

  // History before the topic's first message, in event-time order (--warm-up).
  void WarmUp(const std::vector<Transaction>& history);

  // These partitions are scored by this worker from the given offsets on (a partition
  // already owned is rebuilt: its customers as of that offset, e.g. after an aborted
  // transaction). Reads each from its oldest message up to that offset.
  absl::Status Assign(const std::map<int32_t, int64_t>& next_offsets);
  // No longer scored here: their customers are dropped, the feed reads them.
  absl::Status Revoke(const std::vector<int32_t>& partitions);

  // Writes a snapshot of each owned partition whose customers changed since its last one.
  // Cheapest right after a commit: a snapshot is usable once its offset is committed.
  absl::Status Checkpoint();

  // Terminal windows complete for transactions up to newest_event_time (see above).
  absl::Status CatchUp(int64_t newest_event_time);

  // One message of an owned partition.
  struct Message {
    const Transaction* tx;
    int32_t partition;
    int64_t offset;
  };
  // Features of each message, in order, into rows (options.spec.size() floats a message); each
  // transaction joins the state as it is reached. The customer windows of all, then the
  // terminal windows of all (they share nothing): each pass touches half the state, with the
  // next keys' histories fetched into the cache ahead.
  void ProcessBatch(std::span<const Message> messages, float* rows);

  bool Owns(int32_t partition) const { return owned_.contains(partition); }
  std::vector<int32_t> Owned() const;
  // Newest event time of the partition's transactions in the terminal windows (or kAbsent).
  int64_t TerminalTime(int32_t partition) const;
  const StreamStateStats& stats() const { return stats_; }

 private:
  struct Reader;
  StreamState(StreamStateOptions options, std::unique_ptr<Reader> reader, int partitions);

  static absl::StatusOr<std::unique_ptr<Reader>> NewReader(const StreamStateOptions& options);
  // A new reader in place of one that stalled, assigned `list` (nullptr: the feed).
  absl::Status ReplaceReader(const rd_kafka_topic_partition_list_t* list, std::string_view what);
  // Reassigns the feed: every partition not owned, from terminal_next_.
  absl::Status RestartFeed();
  absl::Status AssignReader(const rd_kafka_topic_partition_list_t* list, std::string_view what);
  absl::Status WriteCheckpoint(int32_t partition);
  // The terminal windows with the offset each partition is in them up to; the newest is
  // loaded at start (their --warm-up history is in it).
  absl::Status WriteTerminalCheckpoint();
  absl::Status LoadTerminalCheckpoint(const std::vector<int64_t>& low);
  // The newest snapshot of `partition` at or below `next`, with its offset; nullopt if none.
  absl::StatusOr<std::optional<std::pair<int64_t, CustomerState>>> ReadCheckpoint(
      int32_t partition, int64_t next) const;
  std::string CheckpointDir(int32_t partition) const;
  // Adds tx, message `offset` of `partition`, to the terminal windows unless it is there.
  void FeedTerminal(const Transaction& tx, int32_t partition, int64_t offset);

  StreamStateOptions options_;
  std::unique_ptr<Reader> reader_;
  CustomerState customers_;
  CustomerState warm_customers_;  // --warm-up history, copied into rebuilt partitions
  TerminalState terminals_;
  absl::flat_hash_map<int64_t, int32_t> partition_of_;  // customer -> partition seen in
  std::map<int32_t, bool> owned_;                       // partitions scored here
  std::vector<int64_t> terminal_next_;  // per partition: first offset not in terminals_
  std::vector<int64_t> terminal_time_;  // per partition: newest event time in terminals_
  std::vector<bool> feed_at_end_;       // per partition: the feed reached the log end
  std::vector<bool> feed_paused_;
  std::vector<int64_t> customer_next_;  // per owned partition: first offset not in customers_
  std::vector<int64_t> checkpointed_;   // per partition: offset of the last snapshot written
  bool terminals_restored_ = false;     // from a snapshot: --warm-up is in them already
  StreamStateStats stats_;
};

}  // namespace fraud
