#pragma once

// librdkafka (Debian librdkafka-dev, the C API) behind RAII handles and Status errors, and
// its mock cluster: a real Kafka-protocol broker in-process on loopback (DESIGN §7; read
// ../shared/KAFKA_MOCK.md for the settings it needs).
//
//   KafkaSettings settings;
//   settings.Set("bootstrap.servers", brokers);
//   RETURN_IF_ERROR(settings.Apply({"linger.ms=5"}));        // -X key=value pass-through
//   ASSIGN_OR_RETURN(KafkaClient producer, KafkaClient::Producer(settings));
//
// Handles are owned (rd_kafka_destroy on scope exit). A KafkaClient is used from one thread
// except where librdkafka documents otherwise (produce and poll are thread-safe).

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

extern "C" {
typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_conf_s rd_kafka_conf_t;
typedef struct rd_kafka_message_s rd_kafka_message_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;
typedef struct rd_kafka_topic_partition_list_s rd_kafka_topic_partition_list_t;
}

namespace fraud {

// The topics of DESIGN §7.
inline constexpr char kInputTopic[] = "transactions-input";
inline constexpr char kPredictionsTopic[] = "fraud-predictions";
inline constexpr char kDlqTopic[] = "transactions-dlq";
inline constexpr char kDefaultGroup[] = "fraud-detection-group";

// Client properties in the order given; later values win. Values whose key names a secret
// (password, secret, sasl.jaas, ssl.key) never appear in Describe() or error messages.
class KafkaSettings {
 public:
  void Set(std::string key, std::string value);
  // "key=value" items (-X flags); InvalidArgument on an item without '='.
  absl::Status Apply(const std::vector<std::string>& items);
  // A Java-style properties file: key=value lines, '#' or '!' comments, blank lines.
  absl::Status ApplyFile(const std::string& path);

  const std::vector<std::pair<std::string, std::string>>& values() const { return values_; }
  std::string Describe() const;  // "k=v, k=v" with secrets as "***"
  static bool IsSecret(const std::string& key);

 private:
  std::vector<std::pair<std::string, std::string>> values_;
};

struct DeliveryTrampoline;  // kafka.cc

class KafkaClient {
 public:
  KafkaClient(KafkaClient&&) noexcept;
  KafkaClient& operator=(KafkaClient&&) noexcept;
  ~KafkaClient();

  // Delivery reports: called from Poll()/Flush() on the polling thread with the message
  // (err, partition, offset, and the opaque passed to Produce).
  using DeliveryReport = void (*)(const rd_kafka_message_t* message, void* context);

  static absl::StatusOr<KafkaClient> Producer(const KafkaSettings& settings,
                                              DeliveryReport report = nullptr,
                                              void* context = nullptr);
  // A high-level (group) consumer; its main queue is redirected to the consumer queue.
  static absl::StatusOr<KafkaClient> Consumer(const KafkaSettings& settings,
                                              void* rebalance_context = nullptr,
                                              void (*rebalance)(rd_kafka_t*, int, void*,
                                                                void*) = nullptr);

  rd_kafka_t* get() const { return handle_.get(); }

  // Copies key and value. opaque comes back in the delivery report. Retries while the local
  // queue is full (serving delivery reports meanwhile).
  absl::Status Produce(const std::string& topic, std::string_view key, std::string_view value,
                       void* opaque = nullptr, int32_t partition = -1);
  // Many messages of one topic at once, each to the partition of its key, with one
  // rd_kafka_produce_batch call (one topic lookup and clock read for all, against one each per
  // message). Keys are copied, values are not: librdkafka points at each value until its
  // delivery report, so it must stay valid and unchanged until then (no copy, no allocation
  // per message). What a full local queue refused is retried, in order, serving delivery
  // reports meanwhile. Returns the first other error; *produced counts the messages librdkafka
  // took (their delivery reports will come), also on error.
  struct KeptMessage {
    std::string_view key;
    std::string_view value;
    void* opaque = nullptr;
  };
  absl::Status ProduceKeptBatch(const std::string& topic, std::span<const KeptMessage> messages,
                                size_t* produced);
  int Poll(int timeout_ms);
  // Waits until every produced message is acknowledged (or failed), up to timeout.
  absl::Status Flush(int timeout_ms);

 private:
  struct Destroy {
    void operator()(rd_kafka_t* handle) const;
  };
  // Declared before handle_ so that it outlives it (delivery reports point to it).
  KafkaClient();
  std::unique_ptr<DeliveryTrampoline> trampoline_;
  std::unique_ptr<rd_kafka_t, Destroy> handle_;
};

// librdkafka's mock cluster, owned with the client handle it lives in (destroyed first).
class MockCluster {
 public:
  static absl::StatusOr<std::unique_ptr<MockCluster>> Start(int brokers);
  ~MockCluster();

  absl::Status CreateTopic(const std::string& name, int partitions);
  const std::string& bootstrap_servers() const { return bootstraps_; }

 private:
  MockCluster() = default;
  rd_kafka_t* owner_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstraps_;
};

// Creates topics (replication factor 1) through the admin API, for tests and tools against
// a real broker (the mock has MockCluster::CreateTopic). A topic that exists already is fine,
// whatever its partitions. Returns once every partition has a leader in the metadata, so
// producers and consumers that start next find the topics; Unavailable on a broker that does
// not answer within timeout_ms.
//
//   RETURN_IF_ERROR(CreateTopics("127.0.0.1:9092", {"in-1", "out-1"}, 3));
absl::Status CreateTopics(const std::string& brokers, const std::vector<std::string>& names,
                          int partitions, int timeout_ms = 30000);
// Deletes topics; one that does not exist is fine.
absl::Status DeleteTopics(const std::string& brokers, const std::vector<std::string>& names,
                          int timeout_ms = 30000);

// Settings every client of ours needs against the mock and real Kafka alike (KAFKA_MOCK.md):
// consumers fetch.wait.max.ms=2, producers linger.ms=5 (replay 2); callers' -X values override
// them.
KafkaSettings DefaultConsumerSettings(const std::string& brokers, const std::string& group);
KafkaSettings DefaultProducerSettings(const std::string& brokers);

}  // namespace fraud
