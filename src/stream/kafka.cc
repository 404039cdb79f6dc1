#include "stream/kafka.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "fmt/format.h"
#include "fmt/ranges.h"

namespace fraud {
namespace {

// A conf owned until rd_kafka_new takes it.
struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

absl::StatusOr<ConfPtr> MakeConf(const KafkaSettings& settings) {
  ConfPtr conf(rd_kafka_conf_new());
  char error[512];
  for (const auto& [key, value] : settings.values()) {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), error, sizeof(error)) !=
        RD_KAFKA_CONF_OK) {
      // librdkafka's message may quote the value: keep secrets out of it.
      return absl::InvalidArgumentError(
          KafkaSettings::IsSecret(key) ? fmt::format("Kafka setting {}: invalid value", key)
                                       : fmt::format("Kafka setting {}={}: {}", key, value, error));
    }
  }
  return conf;
}

}  // namespace

struct DeliveryTrampoline {
  KafkaClient::DeliveryReport report;
  void* context;
};

namespace {

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* trampoline = static_cast<DeliveryTrampoline*>(opaque);
  if (trampoline != nullptr && trampoline->report != nullptr) {
    trampoline->report(message, trampoline->context);
  }
}

}  // namespace

void KafkaSettings::Set(std::string key, std::string value) {
  for (auto& [k, v] : values_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  values_.emplace_back(std::move(key), std::move(value));
}

absl::Status KafkaSettings::Apply(const std::vector<std::string>& items) {
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          fmt::format("Kafka setting '{}' is not key=value", IsSecret(item) ? "***" : item));
    }
    Set(std::string(Trim(std::string_view(item).substr(0, eq))), item.substr(eq + 1));
  }
  return absl::OkStatus();
}

absl::Status KafkaSettings::ApplyFile(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string text, ReadFile(path));
  int line_number = 0;
  for (const std::string_view raw : Split(text, '\n')) {
    ++line_number;
    const std::string_view line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == '!') continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return absl::InvalidArgumentError(
          fmt::format("{}:{}: not a key=value line", path, line_number));
    }
    Set(std::string(Trim(line.substr(0, eq))), std::string(Trim(line.substr(eq + 1))));
  }
  return absl::OkStatus();
}

bool KafkaSettings::IsSecret(const std::string& key) {
  for (const char* word : {"password", "secret", "sasl.jaas", "ssl.key", "token"}) {
    if (key.find(word) != std::string::npos) return true;
  }
  return false;
}

std::string KafkaSettings::Describe() const {
  std::string out;
  for (const auto& [key, value] : values_) {
    if (!out.empty()) out += ", ";
    out += key + "=" + (IsSecret(key) ? "***" : value);
  }
  return out;
}

void KafkaClient::Destroy::operator()(rd_kafka_t* handle) const { rd_kafka_destroy(handle); }

KafkaClient::KafkaClient() = default;
KafkaClient::KafkaClient(KafkaClient&&) noexcept = default;
KafkaClient& KafkaClient::operator=(KafkaClient&&) noexcept = default;
KafkaClient::~KafkaClient() = default;

absl::StatusOr<KafkaClient> KafkaClient::Producer(const KafkaSettings& settings,
                                                  DeliveryReport report, void* context) {
  ASSIGN_OR_RETURN(ConfPtr conf, MakeConf(settings));
  KafkaClient client;
  client.trampoline_ = std::make_unique<DeliveryTrampoline>(DeliveryTrampoline{report, context});
  rd_kafka_conf_set_opaque(conf.get(), client.trampoline_.get());
  rd_kafka_conf_set_dr_msg_cb(conf.get(), OnDelivery);
  char error[512];
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), error, sizeof(error));
  if (handle == nullptr) return absl::InvalidArgumentError(fmt::format("Kafka producer: {}", error));
  conf.release();  // rd_kafka_new owns it now
  client.handle_.reset(handle);
  return client;
}

absl::StatusOr<KafkaClient> KafkaClient::Consumer(const KafkaSettings& settings,
                                                  void* rebalance_context,
                                                  void (*rebalance)(rd_kafka_t*, int, void*,
                                                                    void*)) {
  ASSIGN_OR_RETURN(ConfPtr conf, MakeConf(settings));
  if (rebalance != nullptr) {
    rd_kafka_conf_set_opaque(conf.get(), rebalance_context);
    rd_kafka_conf_set_rebalance_cb(
        conf.get(), reinterpret_cast<void (*)(rd_kafka_t*, rd_kafka_resp_err_t,
                                              rd_kafka_topic_partition_list_t*, void*)>(rebalance));
  }
  char error[512];
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), error, sizeof(error));
  if (handle == nullptr) return absl::InvalidArgumentError(fmt::format("Kafka consumer: {}", error));
  conf.release();
  rd_kafka_poll_set_consumer(handle);
  KafkaClient client;
  client.handle_.reset(handle);
  return client;
}

absl::Status KafkaClient::Produce(const std::string& topic, std::string_view key,
                                  std::string_view value, void* opaque, int32_t partition) {
  while (true) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        get(), RD_KAFKA_V_TOPIC(topic.c_str()),
        RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(opaque),
        RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return absl::UnavailableError(
          fmt::format("Kafka produce to {}: {}", topic, rd_kafka_err2str(err)));
    }
    rd_kafka_poll(get(), 10);  // the local queue is full: serve delivery reports, then retry
  }
}

absl::Status KafkaClient::ProduceKeptBatch(const std::string& topic,
                                           std::span<const KeptMessage> messages,
                                           size_t* produced) {
  *produced = 0;
  if (messages.empty()) return absl::OkStatus();
  const std::unique_ptr<rd_kafka_topic_t, void (*)(rd_kafka_topic_t*)> handle(
      rd_kafka_topic_new(get(), topic.c_str(), nullptr), &rd_kafka_topic_destroy);
  if (handle == nullptr) {
    return absl::UnavailableError(fmt::format("Kafka topic {}: {}", topic,
                                              rd_kafka_err2str(rd_kafka_last_error())));
  }
  std::vector<rd_kafka_message_t> batch(messages.size());  // zeroed
  for (size_t i = 0; i < messages.size(); ++i) {
    rd_kafka_message_t& m = batch[i];
    m.payload = const_cast<char*>(messages[i].value.data());
    m.len = messages[i].value.size();
    m.key = const_cast<char*>(messages[i].key.data());
    m.key_len = messages[i].key.size();
    m._private = messages[i].opaque;
  }
  std::span<rd_kafka_message_t> left(batch);
  while (!left.empty()) {
    for (rd_kafka_message_t& m : left) m.err = RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_produce_batch(handle.get(), RD_KAFKA_PARTITION_UA, 0, left.data(),
                           static_cast<int>(left.size()));
    size_t refused = 0;  // moved to the front of left, in order
    rd_kafka_resp_err_t failed = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (rd_kafka_message_t& m : left) {
      if (m.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++*produced;  // also after a failed one: librdkafka took it and will report it
      } else if (m.err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        left[refused++] = m;
      } else if (failed == RD_KAFKA_RESP_ERR_NO_ERROR) {
        failed = m.err;
      }
    }
    if (failed != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnavailableError(
          fmt::format("Kafka produce to {}: {}", topic, rd_kafka_err2str(failed)));
    }
    left = left.first(refused);
    if (!left.empty()) rd_kafka_poll(get(), 10);  // the local queue is full: serve reports
  }
  return absl::OkStatus();
}

int KafkaClient::Poll(int timeout_ms) { return rd_kafka_poll(get(), timeout_ms); }

absl::Status KafkaClient::Flush(int timeout_ms) {
  const rd_kafka_resp_err_t err = rd_kafka_flush(get(), timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::DeadlineExceededError(fmt::format(
        "Kafka flush: {} messages still unacknowledged after {} ms ({})", rd_kafka_outq_len(get()),
        timeout_ms, rd_kafka_err2str(err)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<MockCluster>> MockCluster::Start(int brokers) {
  KafkaSettings settings;
  // The owner handle only hosts the cluster: no bootstrap servers, it connects nowhere (and
  // need not warn about it).
  settings.Set("log_level", "4");
  ASSIGN_OR_RETURN(ConfPtr conf, MakeConf(settings));
  char error[512];
  rd_kafka_t* owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), error, sizeof(error));
  if (owner == nullptr) return absl::InternalError(fmt::format("mock cluster owner: {}", error));
  conf.release();
  std::unique_ptr<MockCluster> cluster(new MockCluster());
  cluster->owner_ = owner;
  cluster->cluster_ = rd_kafka_mock_cluster_new(owner, brokers);
  if (cluster->cluster_ == nullptr) {
    return absl::InternalError(fmt::format("could not start a mock cluster of {} brokers", brokers));
  }
  cluster->bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster->cluster_);
  return cluster;
}

MockCluster::~MockCluster() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);  // before its owner
  if (owner_ != nullptr) rd_kafka_destroy(owner_);
}

absl::Status MockCluster::CreateTopic(const std::string& name, int partitions) {
  const rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::InternalError(fmt::format("mock topic {}: {}", name, rd_kafka_err2str(err)));
  }
  return absl::OkStatus();
}

namespace {

// Owners for the admin API's C handles.
template <typename T, void (*Free)(T*)>
struct Freer {
  void operator()(T* p) const {
    if (p != nullptr) Free(p);
  }
};
using HandlePtr = std::unique_ptr<rd_kafka_t, Freer<rd_kafka_t, rd_kafka_destroy>>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, Freer<rd_kafka_queue_t, rd_kafka_queue_destroy>>;
using EventPtr = std::unique_ptr<rd_kafka_event_t, Freer<rd_kafka_event_t, rd_kafka_event_destroy>>;
using OptionsPtr = std::unique_ptr<rd_kafka_AdminOptions_t,
                                   Freer<rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy>>;

absl::StatusOr<HandlePtr> AdminHandle(const std::string& brokers) {
  KafkaSettings settings;
  settings.Set("bootstrap.servers", brokers);
  settings.Set("log_level", "3");  // errors come back as Status
  ASSIGN_OR_RETURN(ConfPtr conf, MakeConf(settings));
  char error[512];
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), error, sizeof(error));
  if (handle == nullptr) return absl::InvalidArgumentError(fmt::format("Kafka admin: {}", error));
  conf.release();
  return HandlePtr(handle);
}

// Runs one admin request (`start` enqueues it on the queue) and returns its result event.
template <typename Start>
absl::StatusOr<EventPtr> AdminRequest(rd_kafka_t* handle, rd_kafka_admin_op_t op,
                                      int timeout_ms, const char* what, Start start) {
  OptionsPtr options(rd_kafka_AdminOptions_new(handle, op));
  char error[512];
  rd_kafka_AdminOptions_set_request_timeout(options.get(), timeout_ms, error, sizeof(error));
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), timeout_ms, error, sizeof(error));
  QueuePtr queue(rd_kafka_queue_new(handle));
  start(options.get(), queue.get());
  EventPtr event(rd_kafka_queue_poll(queue.get(), timeout_ms + 5000));
  if (event == nullptr) {
    return absl::UnavailableError(fmt::format("Kafka {}: no answer in {} ms", what, timeout_ms));
  }
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(
        fmt::format("Kafka {}: {}", what, rd_kafka_event_error_string(event.get())));
  }
  return event;
}

absl::Status TopicErrors(const rd_kafka_topic_result_t** results, size_t count,
                         rd_kafka_resp_err_t tolerated, const char* what) {
  for (size_t i = 0; i < count; ++i) {
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != tolerated) {
      const char* message = rd_kafka_topic_result_error_string(results[i]);
      return absl::FailedPreconditionError(
          fmt::format("Kafka {} {}: {}", what, rd_kafka_topic_result_name(results[i]),
                      message != nullptr ? message : rd_kafka_err2str(err)));
    }
  }
  return absl::OkStatus();
}

// True when every topic is in the metadata with a leader for each partition.
bool TopicsReady(rd_kafka_t* handle, const std::vector<std::string>& names) {
  const rd_kafka_metadata_t* metadata = nullptr;
  if (rd_kafka_metadata(handle, 1, nullptr, &metadata, 2000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return false;
  }
  size_t ready = 0;
  for (int t = 0; t < metadata->topic_cnt; ++t) {
    const rd_kafka_metadata_topic_t& topic = metadata->topics[t];
    if (topic.err != RD_KAFKA_RESP_ERR_NO_ERROR || topic.partition_cnt == 0 ||
        std::find(names.begin(), names.end(), topic.topic) == names.end()) {
      continue;
    }
    bool led = true;
    for (int p = 0; p < topic.partition_cnt; ++p) led = led && topic.partitions[p].leader >= 0;
    ready += led;
  }
  rd_kafka_metadata_destroy(metadata);
  return ready == names.size();
}

}  // namespace

absl::Status CreateTopics(const std::string& brokers, const std::vector<std::string>& names,
                          int partitions, int timeout_ms) {
  ASSIGN_OR_RETURN(HandlePtr handle, AdminHandle(brokers));
  std::vector<rd_kafka_NewTopic_t*> topics;
  char error[512];
  for (const std::string& name : names) {
    rd_kafka_NewTopic_t* topic =
        rd_kafka_NewTopic_new(name.c_str(), partitions, 1, error, sizeof(error));
    if (topic == nullptr) {
      rd_kafka_NewTopic_destroy_array(topics.data(), topics.size());
      return absl::InvalidArgumentError(fmt::format("Kafka topic {}: {}", name, error));
    }
    topics.push_back(topic);
  }
  auto event = AdminRequest(handle.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout_ms,
                            "create topics", [&](auto* options, auto* queue) {
                              rd_kafka_CreateTopics(handle.get(), topics.data(), topics.size(),
                                                    options, queue);
                            });
  rd_kafka_NewTopic_destroy_array(topics.data(), topics.size());
  if (!event.ok()) return event.status();
  size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(
      rd_kafka_event_CreateTopics_result(event->get()), &count);
  RETURN_IF_ERROR(
      TopicErrors(results, count, RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS, "create topic"));
  // The controller has them; wait until the broker's metadata has them too.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!TopicsReady(handle.get(), names)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return absl::UnavailableError(
          fmt::format("Kafka: topics {} created but without leaders after {} ms",
                      fmt::join(names, ", "), timeout_ms));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::OkStatus();
}

absl::Status DeleteTopics(const std::string& brokers, const std::vector<std::string>& names,
                          int timeout_ms) {
  ASSIGN_OR_RETURN(HandlePtr handle, AdminHandle(brokers));
  std::vector<rd_kafka_DeleteTopic_t*> topics;
  for (const std::string& name : names) topics.push_back(rd_kafka_DeleteTopic_new(name.c_str()));
  auto event = AdminRequest(handle.get(), RD_KAFKA_ADMIN_OP_DELETETOPICS, timeout_ms,
                            "delete topics", [&](auto* options, auto* queue) {
                              rd_kafka_DeleteTopics(handle.get(), topics.data(), topics.size(),
                                                    options, queue);
                            });
  rd_kafka_DeleteTopic_destroy_array(topics.data(), topics.size());
  if (!event.ok()) return event.status();
  size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_DeleteTopics_result_topics(
      rd_kafka_event_DeleteTopics_result(event->get()), &count);
  return TopicErrors(results, count, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, "delete topic");
}

KafkaSettings DefaultConsumerSettings(const std::string& brokers, const std::string& group) {
  KafkaSettings settings;
  settings.Set("bootstrap.servers", brokers);
  settings.Set("group.id", group);
  // How long the broker may hold a fetch for data: on the mock a fetch that starts on an
  // empty partition waits all of it, so this adds to every message's latency at low rates
  // (10 ms: p99 18 ms at 400 TPS; 2 ms: 6 ms, docs/PERFORMANCE.md, Stream). The default, 500,
  // starves the mock's consumers (KAFKA_MOCK.md).
  settings.Set("fetch.wait.max.ms", "2");
  // librdkafka stops fetching every partition for about a second once the consumer's queue
  // holds queued.min.messages (100,000 by default, counted over all partitions of the group
  // consumer), and one fetch brings a whole producer batch per partition: 16 partitions of
  // replay's 10,000-message batches overshoot it at once. A worker with a backlog then stalled
  // ~0.5 s of every second (350,508 TPS end to end instead of 180,533). The queue stays
  // bounded by queued.max.messages.kbytes (64 MiB).
  settings.Set("queued.min.messages", "1000000");
  // An out-of-range offset is data loss: an error, never a silent jump (the stream worker
  // starts a partition without a committed offset at its beginning itself).
  settings.Set("auto.offset.reset", "error");
  settings.Set("enable.auto.offset.store", "false");  // stored after the prediction is acked
  settings.Set("enable.auto.commit", "true");
  settings.Set("auto.commit.interval.ms", "1000");
  settings.Set("session.timeout.ms", "6000");
  settings.Set("partition.assignment.strategy", "cooperative-sticky");
  return settings;
}

KafkaSettings DefaultProducerSettings(const std::string& brokers) {
  KafkaSettings settings;
  settings.Set("bootstrap.servers", brokers);
  settings.Set("linger.ms", "5");
  settings.Set("enable.idempotence", "true");
  settings.Set("compression.codec", "lz4");
  settings.Set("queue.buffering.max.messages", "1000000");
  return settings;
}

}  // namespace fraud
