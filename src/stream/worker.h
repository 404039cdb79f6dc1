#pragma once

// One stream-scoring worker (DESIGN §7): consumes transactions from Kafka in a consumer group,
// computes their features with the shared keyed window state, scores micro-batches with the
// forest evaluator and produces predictions; malformed messages go to the DLQ with their
// reason. Any number of workers in one group split the partitions.
//
// Delivery: at-least-once by default. A message's offset is stored for commit only after the broker
// has acknowledged everything produced for it and for every earlier message of the batch (batches
// are acknowledged in order), so a worker killed at any moment loses nothing; after a crash the
// uncommitted messages are scored again (duplicates carry the same transaction_id). An offset reset
// ("offset out of range") is data loss: it is counted, logged and makes Run() fail unless
// allow_offset_reset. exactly_once: a transactional producer; each micro-batch's predictions, DLQ
// records and input offsets commit in one transaction, so a read_committed reader sees every
// prediction once. The feature state follows the partitions (stream/stream_state.h).
//
// The model is a registry::LiveModel: when the registry alias it follows moves, the new
// version scores from the next micro-batch on, without stopping consumption, if it computes
// the same features (the window state is built for one feature spec; another is refused with
// a warning, once per version). Each prediction carries the name and version that scored it.
//
//   ASSIGN_OR_RETURN(auto live, LiveModel::FromRegistry(std::move(store), "fraud@Production"));
//   ASSIGN_OR_RETURN(auto worker, StreamWorker::Create(options, std::move(live)));
//   std::atomic<bool> stop = false;      // set from a signal handler
//   RETURN_IF_ERROR(worker->Run(stop));  // returns after draining: flush, store, commit
//
// Not thread-safe: one thread calls Run(); stop may be set from anywhere. Run() scores and
// produces on a second thread of its own while the calling thread computes the next batch's
// features (docs/STREAMING.md, "A micro-batch").

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/artifact.h"
#include "registry/live_model.h"
#include "stream/kafka.h"

namespace fraud {

class MetricsRegistry;

struct StreamOptions {
  std::string brokers;
  std::string input_topic = kInputTopic;
  std::string output_topic = kPredictionsTopic;
  std::string dlq_topic = kDlqTopic;
  std::string group = kDefaultGroup;
  std::vector<std::string> kafka_settings;  // -X key=value, over the defaults
  std::string kafka_config_file;            // properties file, applied before -X
  size_t max_batch = 5000;                  // messages per micro-batch
  int linger_ms = 2;  // the longest a batch takes what was fetched already; it never waits
                      // for more once it has a message (a backlog fills it, a trickle goes now)
  bool allow_offset_reset = false;
  // Transactional producer: predictions and input offsets commit together (see above).
  bool exactly_once = false;
  std::string transactional_id;  // required with exactly_once; stable per worker fences the
                                 // previous incarnation's open transaction at start
  std::string warm_up;           // a file or directory of history replayed into the state first
  // Snapshots of the customer windows per partition (stream/stream_state.h), written on
  // revocation, every checkpoint_interval_seconds and at shutdown. Empty: none.
  std::string checkpoint_dir;
  double checkpoint_interval_seconds = 60;
  int64_t max_messages = 0;  // stop after this many messages (0: until stopped)
  // Throttle: at most this many messages per second taken for scoring (0: unlimited), a token
  // bucket on the monotonic clock holding at most 100 ms of tokens. It protects downstream
  // systems; what is not taken yet stays in Kafka as lag (fetching pauses, see kMaxHeld).
  double max_rate = 0;
  double idle_exit_seconds = 0;  // stop after this long without a message or an
                                 // assignment (0: never)
  bool progress = false;         // a progress line on stderr
  // Prometheus series (metrics/metrics.h; names in src/stream/README.md), updated once per
  // micro-batch and the lag once a second. Owned by the caller (who serves it, e.g. with
  // metrics/metrics_server.h); it must outlive the worker. Null: none.
  MetricsRegistry* metrics = nullptr;
};

struct StreamStats {
  int64_t consumed = 0;  // taken in event-time order: scored or dead-lettered
  int64_t predicted = 0;
  int64_t flagged = 0;  // predictions with is_fraud true
  int64_t dead_lettered = 0;
  int64_t offset_resets = 0;
  int64_t batches = 0;
  int64_t warmed_up = 0;             // transactions replayed from --warm-up
  int64_t transactions = 0;          // committed (--exactly-once)
  int64_t aborted_transactions = 0;  // aborted and scored again
  int64_t rebuilt = 0;               // messages read again to rebuild customers on assignment
  int64_t fed = 0;                   // other workers' messages read for the terminal windows
  int64_t reader_restarts = 0;       // state reads that stalled and started over
  int64_t feed_seeks = 0;            // terminal feed positions set back after a pause
  int64_t restored = 0;              // customers loaded from checkpoints
  int64_t checkpoints = 0;           // snapshots written
  int64_t model_swaps = 0;           // new versions swapped in while running
  std::string model_version;         // the version serving at the end
  double seconds = 0;
  double latency_p50_ms = 0;  // message timestamp -> prediction produced
  double latency_p99_ms = 0;
};

class StreamWorker {
 public:
  static absl::StatusOr<std::unique_ptr<StreamWorker>> Create(const StreamOptions& options,
                                                              std::shared_ptr<LiveModel> model);
  // A fixed model directory (LiveModel::FromDirectory).
  static absl::StatusOr<std::unique_ptr<StreamWorker>> Create(const StreamOptions& options,
                                                              const ModelArtifact& model);
  ~StreamWorker();

  absl::Status Run(const std::atomic<bool>& stop);
  const StreamStats& stats() const;

 private:
  struct Impl;
  explicit StreamWorker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fraud
