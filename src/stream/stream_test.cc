// The stream path end to end: replay -> stream worker -> predictions and DLQ, read back by an
// independent consumer; parity with `fraudstream predict` on the same file; restart from the
// committed offsets; an offset reset is an error. One suite, two brokers:
//   Mock/*   librdkafka's mock cluster (in-process, loopback): the unit tests (stream_test);
//   Kafka/*  the genuine Apache Kafka broker at $FRAUDSTREAM_TEST_KAFKA (scripts/kafka-up.sh,
//            set by `make test`): stream_kafka_test, label integration; fails when unset.
// On the real broker, which is shared and keeps its data, every test makes its own topics and
// groups (unique names) and deletes its topics at the end.

#include <gtest/gtest.h>
#include <httplib.h>
#include <librdkafka/rdkafka.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "core/file.h"
#include "core/strings.h"
#include "core/testing.h"
#include "fmt/format.h"
#include "metrics/metrics.h"
#include "metrics/metrics_server.h"
#include "model/artifact.h"
#include "model/testing.h"
#include "nlohmann/json.hpp"
#include "stream/kafka.h"
#include "stream/replay.h"
#include "stream/worker.h"

namespace fraud {
namespace {

// Lines that break a cleaning rule each, with the reason the DLQ must give.
const std::vector<std::pair<std::string, std::string>> kBadLines = {
    {"900000001,2018-05-01 10:00:00,12,34,abc,2628000,30,0,0", "bad_tx_amount"},
    {"900000002,2018-05-01 10:00:00,12,34,-5.00,2628000,30,0,0", "nonpositive_tx_amount"},
    {"900000003,2018-05-01 10:00:00,12", "wrong_field_count"},
    {"{\"transaction_id\": 900000004, \"tx_datetime\": ", "bad_json"},
};

// The value of one series in a Prometheus text (`name{labels}` exactly as rendered); NaN when
// it is not there.
double Sample(const std::string& text, const std::string& series) {
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return std::nan("");
  return std::stod(text.substr(at + series.size() + 2));
}

class StreamTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScopedTempDir();
    SimulatorConfig simulator;
    simulator.customers = 300;
    simulator.terminals = 600;
    simulator.days = 40;
    simulator.seed = 11;
    // A model, and what `fraudstream predict` gives for the same file.
    auto set = MakeScoredDataSet(dir_->Path("set"), simulator);
    ASSERT_TRUE(set.ok()) << set.status();
    set_ = new ScoredDataSet(std::move(*set));
    model_ = &set_->model;
    expected_ = &set_->scores;
    // The replayed file: the data set with the bad lines among its rows.
    std::string replayed = *ReadFile(set_->data_path);
    for (const auto& [line, reason] : kBadLines) replayed += line + "\n";
    ASSERT_TRUE(WriteFile(dir_->Path("replayed.txt"), replayed).ok());
  }
  static void TearDownTestSuite() {
    delete set_;
    delete dir_;
  }

  bool RealKafka() const { return GetParam() == "kafka"; }

  // The broker and the three topics (input_partitions for the input, 3 for the predictions,
  // 1 for the DLQ so that its order is the replay's): a fresh mock cluster with DESIGN §7's
  // names, or fresh topics and group on the real broker. FAILS (never skips) when the real
  // broker is asked for and $FRAUDSTREAM_TEST_KAFKA is unset.
  void Start(int input_partitions) {
    if (!RealKafka()) {
      auto cluster = MockCluster::Start(1);
      ASSERT_TRUE(cluster.ok()) << cluster.status();
      cluster_ = std::move(*cluster);
      ASSERT_TRUE(cluster_->CreateTopic(kInputTopic, input_partitions).ok());
      ASSERT_TRUE(cluster_->CreateTopic(kPredictionsTopic, 3).ok());
      ASSERT_TRUE(cluster_->CreateTopic(kDlqTopic, 1).ok());
      brokers_ = cluster_->bootstrap_servers();
      return;
    }
    const char* env = std::getenv("FRAUDSTREAM_TEST_KAFKA");
    ASSERT_TRUE(env != nullptr && *env != '\0')
        << "FRAUDSTREAM_TEST_KAFKA is not set: these tests need a real Apache Kafka broker "
           "(HOST:PORT). `make test` starts one with scripts/kafka-up.sh and sets it; or run "
           "FRAUDSTREAM_TEST_KAFKA=$(scripts/kafka-up.sh) ctest -L integration";
    brokers_ = env;
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '-');
    const std::string suffix = fmt::format(
        "{}-{}-{}", name, getpid(),
        std::chrono::system_clock::now().time_since_epoch() / std::chrono::milliseconds(1));
    input_ = "transactions-input-" + suffix;
    predictions_ = "fraud-predictions-" + suffix;
    dlq_ = "transactions-dlq-" + suffix;
    group_ = "fraud-detection-group-" + suffix;
    created_ = {input_, predictions_, dlq_};
    ASSERT_TRUE(CreateTopics(brokers_, {input_}, input_partitions).ok());
    ASSERT_TRUE(CreateTopics(brokers_, {predictions_}, 3).ok());
    ASSERT_TRUE(CreateTopics(brokers_, {dlq_}, 1).ok());
  }

  void TearDown() override {
    if (!created_.empty()) {
      const absl::Status deleted = DeleteTopics(brokers_, created_);
      EXPECT_TRUE(deleted.ok()) << deleted;
    }
  }

  // Deletes the input partition's messages before `offset` (real Kafka's DeleteRecords: what
  // retention does, on demand).
  void DeleteInputBefore(int64_t offset) {
    auto admin = KafkaClient::Producer(DefaultProducerSettings(brokers_));
    ASSERT_TRUE(admin.ok()) << admin.status();
    rd_kafka_topic_partition_list_t* before = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(before, input_.c_str(), 0)->offset = offset;
    rd_kafka_DeleteRecords_t* request = rd_kafka_DeleteRecords_new(before);
    rd_kafka_topic_partition_list_destroy(before);
    rd_kafka_queue_t* queue = rd_kafka_queue_new(admin->get());
    rd_kafka_DeleteRecords(admin->get(), &request, 1, nullptr, queue);
    rd_kafka_DeleteRecords_destroy(request);
    rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 30000);
    ASSERT_NE(event, nullptr);
    EXPECT_EQ(rd_kafka_event_error(event), RD_KAFKA_RESP_ERR_NO_ERROR)
        << rd_kafka_event_error_string(event);
    const rd_kafka_topic_partition_list_t* result =
        rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(event));
    ASSERT_EQ(result->cnt, 1);
    EXPECT_EQ(result->elems[0].err, RD_KAFKA_RESP_ERR_NO_ERROR)
        << rd_kafka_err2str(result->elems[0].err);
    EXPECT_EQ(result->elems[0].offset, offset);  // the new low watermark
    rd_kafka_event_destroy(event);
    rd_kafka_queue_destroy(queue);
  }

  // Every message of a topic from the beginning, until `expected` or no message for 3 s.
  static std::vector<std::string> ReadTopic(const std::string& brokers, const std::string& topic,
                                            size_t expected) {
    KafkaSettings settings = DefaultConsumerSettings(brokers, "reader-" + topic);
    settings.Set("enable.auto.commit", "false");
    settings.Set("auto.offset.reset", "earliest");
    auto consumer = KafkaClient::Consumer(settings);
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(consumer->get(), topics);
    rd_kafka_topic_partition_list_destroy(topics);
    std::vector<std::string> out;
    int idle_polls = 0;  // 10 s for the group join and the first message, then 3 s
    while (out.size() < expected && idle_polls < (out.empty() ? 100 : 30)) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer->get(), 100);
      if (m == nullptr) {
        ++idle_polls;
        continue;
      }
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        idle_polls = 0;
        out.emplace_back(static_cast<const char*>(m->payload), m->len);
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(consumer->get());
    return out;
  }

  // A producer with one setting over the defaults that counts its acknowledged messages.
  absl::StatusOr<KafkaClient> CountingProducer(
      std::pair<std::string, std::string> setting, std::atomic<int>* acknowledged) {
    KafkaSettings settings = DefaultProducerSettings(brokers_);
    settings.Set(setting.first, setting.second);
    return KafkaClient::Producer(
        settings,
        [](const rd_kafka_message_t* m, void* count) {
          if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) ++*static_cast<std::atomic<int>*>(count);
        },
        acknowledged);
  }

  ReplaySummary ReplayAll(int64_t loop_limit = 0) {
    ReplayOptions options;
    options.brokers = brokers_;
    options.topic = input_;
    options.rate = 0;  // as fast as the broker takes it
    options.loop = loop_limit > 0;
    options.limit = loop_limit;
    std::atomic<bool> stop = false;
    auto summary = Replay(dir_->Path("replayed.txt"), options, stop);
    EXPECT_TRUE(summary.ok()) << summary.status();
    return *summary;
  }

  StreamOptions WorkerOptions() {
    StreamOptions options;
    options.brokers = brokers_;
    options.input_topic = input_;
    options.output_topic = predictions_;
    options.dlq_topic = dlq_;
    options.group = group_;
    options.idle_exit_seconds = 3;
    return options;
  }

  static ScopedTempDir* dir_;
  static ScoredDataSet* set_;
  static const ModelArtifact* model_;
  static const std::map<int64_t, double>* expected_;

  std::unique_ptr<MockCluster> cluster_;  // the mock only
  std::string brokers_;
  std::string input_ = kInputTopic;
  std::string predictions_ = kPredictionsTopic;
  std::string dlq_ = kDlqTopic;
  std::string group_ = kDefaultGroup;
  std::vector<std::string> created_;  // topics to delete from the real broker
};

ScopedTempDir* StreamTest::dir_ = nullptr;
ScoredDataSet* StreamTest::set_ = nullptr;
const ModelArtifact* StreamTest::model_ = nullptr;
const std::map<int64_t, double>* StreamTest::expected_ = nullptr;

// One input partition: the worker sees the rows in file order, as `predict` does, so every
// feature and score must be the same.
TEST_P(StreamTest, ScoresEveryTransactionAsPredictDoesAndDeadLettersTheRest) {
  ASSERT_NO_FATAL_FAILURE(Start(1));
  const ReplaySummary replayed = ReplayAll();
  EXPECT_EQ(replayed.sent, static_cast<int64_t>(expected_->size() + kBadLines.size()));
  EXPECT_EQ(replayed.acknowledged, replayed.sent);
  EXPECT_EQ(replayed.unparsed, static_cast<int64_t>(kBadLines.size()));

  // Served as `stream --metrics-port` does.
  MetricsRegistry registry;
  auto server = MetricsServer::Start("127.0.0.1", 0, registry);
  ASSERT_TRUE(server.ok()) << server.status();
  StreamOptions options = WorkerOptions();
  options.metrics = &registry;
  auto worker = StreamWorker::Create(options, *model_);
  ASSERT_TRUE(worker.ok()) << worker.status();
  std::atomic<bool> stop = false;
  ASSERT_TRUE((*worker)->Run(stop).ok());
  const StreamStats& stats = (*worker)->stats();
  EXPECT_EQ(stats.consumed, replayed.sent);
  EXPECT_EQ(stats.predicted, static_cast<int64_t>(expected_->size()));
  EXPECT_EQ(stats.dead_lettered, static_cast<int64_t>(kBadLines.size()));
  EXPECT_EQ(stats.offset_resets, 0);

  const std::vector<std::string> predictions =
      ReadTopic(brokers_, predictions_, expected_->size());
  ASSERT_EQ(predictions.size(), expected_->size());
  std::set<int64_t> seen;
  size_t flagged = 0;
  for (const std::string& text : predictions) {
    const auto p = nlohmann::json::parse(text);
    const int64_t id = p["transaction_id"];
    ASSERT_TRUE(expected_->count(id)) << text;
    EXPECT_TRUE(seen.insert(id).second) << "twice: " << id;
    // predict writes 6 decimals.
    EXPECT_NEAR(p["score"].get<double>(), expected_->at(id), 6e-7) << text;
    // The artifact's threshold itself (the shortest text that reads back as the same double),
    // and the decision made with it: a reader can check is_fraud from the other two fields.
    EXPECT_EQ(p["threshold"].get<double>(), model_->threshold) << text;
    EXPECT_EQ(p["is_fraud"].get<bool>(), p["score"].get<double>() >= model_->threshold) << text;
    EXPECT_EQ(p["model"], model_->dir);
    EXPECT_EQ(p["model_version"], model_->manifest["model"]["booster_checksum"]);
    EXPECT_GE(p["processing_latency_ms"].get<double>(), 0.0);
    flagged += p["is_fraud"].get<bool>();
  }
  EXPECT_GT(flagged, 0u);
  EXPECT_EQ(stats.flagged, static_cast<int64_t>(flagged));

  // GET /metrics: the counters are what was scored, dead-lettered and flagged.
  httplib::Client client("127.0.0.1", (*server)->port());
  const auto scraped = client.Get("/metrics");
  ASSERT_TRUE(scraped) << httplib::to_string(scraped.error());
  ASSERT_EQ(scraped->status, 200);
  const std::string& text = scraped->body;
  const double predicted = static_cast<double>(expected_->size());
  EXPECT_EQ(Sample(text, R"(fraudstream_stream_messages_total{result="scored"})"), predicted);
  EXPECT_EQ(Sample(text, R"(fraudstream_stream_messages_total{result="invalid"})"),
            static_cast<double>(kBadLines.size()));
  EXPECT_EQ(Sample(text, R"(fraudstream_predictions_total{outcome="fraud"})"),
            static_cast<double>(flagged));
  EXPECT_EQ(Sample(text, R"(fraudstream_predictions_total{outcome="legit"})"),
            predicted - static_cast<double>(flagged));
  for (const auto& [line, reason] : kBadLines) {
    EXPECT_EQ(Sample(text, fmt::format(R"(fraudstream_stream_dead_letters_total{{reason="{}"}})",
                                       reason)),
              1)
        << reason;
  }
  EXPECT_EQ(Sample(text, "fraudstream_stream_offset_resets_total"), 0);
  EXPECT_EQ(Sample(text, "fraudstream_stream_latency_seconds_count"), predicted);
  EXPECT_EQ(Sample(text, "fraudstream_batch_size_count"), static_cast<double>(stats.batches));
  EXPECT_EQ(Sample(text, "fraudstream_batch_size_sum"), static_cast<double>(stats.consumed));
  EXPECT_EQ(Sample(text, fmt::format(R"(fraudstream_model_info{{name="{}",version="{}"}})",
                                     model_->dir, stats.model_version)),
            1);
  // Every message scored: nothing left in the one input partition.
  EXPECT_EQ(
      Sample(text,
             fmt::format(R"(fraudstream_stream_lag_messages{{topic="{}",partition="0"}})", input_)),
      0);
  EXPECT_GT(Sample(text, "process_resident_memory_bytes"), 0);

  const std::vector<std::string> dlq = ReadTopic(brokers_, dlq_, kBadLines.size());
  ASSERT_EQ(dlq.size(), kBadLines.size());
  for (size_t i = 0; i < dlq.size(); ++i) {
    const auto d = nlohmann::json::parse(dlq[i]);
    EXPECT_EQ(d["payload"], kBadLines[i].first);
    EXPECT_EQ(d["reason"], kBadLines[i].second) << dlq[i];
    EXPECT_FALSE(d["detail"].get<std::string>().empty());
    EXPECT_EQ(d["topic"], input_);
  }
}

// A worker that stops half way commits what it scored; the next one in the group goes on
// from there: every transaction is scored, none lost.
TEST_P(StreamTest, ANewWorkerResumesFromTheCommittedOffsets) {
  ASSERT_NO_FATAL_FAILURE(Start(3));
  const ReplaySummary replayed = ReplayAll();
  std::atomic<bool> stop = false;
  StreamOptions first_options = WorkerOptions();
  first_options.max_messages = replayed.sent / 2;
  first_options.max_batch = 500;
  int64_t first_consumed = 0;
  {
    auto first = StreamWorker::Create(first_options, *model_);
    ASSERT_TRUE(first.ok()) << first.status();
    ASSERT_TRUE((*first)->Run(stop).ok());
    first_consumed = (*first)->stats().consumed;
    EXPECT_GE(first_consumed, replayed.sent / 2);
    EXPECT_LT(first_consumed, replayed.sent);
  }
  auto second = StreamWorker::Create(WorkerOptions(), *model_);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE((*second)->Run(stop).ok());
  // Committed at the end of the first run: the second starts exactly there.
  EXPECT_EQ(first_consumed + (*second)->stats().consumed, replayed.sent);

  const std::vector<std::string> predictions =
      ReadTopic(brokers_, predictions_, expected_->size());
  std::set<int64_t> seen;
  for (const std::string& text : predictions) {
    seen.insert(nlohmann::json::parse(text)["transaction_id"].get<int64_t>());
  }
  EXPECT_EQ(seen.size(), expected_->size());
}

// A worker whose committed offset was deleted meanwhile must fail with DataLoss (not jump
// silently), or go on from the oldest message when allowed. The mock deletes what is beyond
// its ~5 MiB per partition; real Kafka deletes on request (DeleteRecords), as retention would.
TEST_P(StreamTest, AnOffsetResetIsAnErrorNotASilentJump) {
  ASSERT_NO_FATAL_FAILURE(Start(1));
  ReplayAll(/*loop_limit=*/3000);
  std::atomic<bool> stop = false;
  StreamOptions options = WorkerOptions();
  options.max_messages = 500;
  options.max_batch = 100;
  {
    auto first = StreamWorker::Create(options, *model_);
    ASSERT_TRUE(first.ok()) << first.status();
    ASSERT_TRUE((*first)->Run(stop).ok());
  }
  if (RealKafka()) {
    ASSERT_NO_FATAL_FAILURE(DeleteInputBefore(1500));  // the committed offset is ~500
  } else {
    ReplayAll(/*loop_limit=*/180'000);  // ~9 MiB more: the committed offset (~500) is gone
  }
  options.max_messages = 0;
  {
    auto second = StreamWorker::Create(options, *model_);
    ASSERT_TRUE(second.ok()) << second.status();
    const absl::Status run = (*second)->Run(stop);
    EXPECT_EQ(run.code(), absl::StatusCode::kDataLoss) << run;
    EXPECT_EQ((*second)->stats().offset_resets, 1);
    EXPECT_EQ((*second)->stats().consumed, 0);
  }
  options.allow_offset_reset = true;
  options.max_messages = 1000;
  auto third = StreamWorker::Create(options, *model_);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_TRUE((*third)->Run(stop).ok());
  EXPECT_EQ((*third)->stats().offset_resets, 1);
  EXPECT_EQ((*third)->stats().consumed, 1000);
}

// --max-rate: 1,500 messages waiting at 500/s are scored over 3 s however fast the worker is, so
// their latencies (message timestamp -> prediction) spread: p99 - p50 = 0.49 x 3 s ~ 1.47 s.
// Unthrottled they are scored within milliseconds of each other once the group is joined.
TEST_P(StreamTest, MaxRateThrottlesScoring) {
  ASSERT_NO_FATAL_FAILURE(Start(1));
  ReplayAll(/*loop_limit=*/1500);
  StreamOptions options = WorkerOptions();
  options.max_rate = 500;
  options.max_messages = 1500;
  auto worker = StreamWorker::Create(options, *model_);
  ASSERT_TRUE(worker.ok()) << worker.status();
  std::atomic<bool> stop = false;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE((*worker)->Run(stop).ok());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const StreamStats& stats = (*worker)->stats();
  EXPECT_EQ(stats.consumed, 1500);
  EXPECT_GE(stats.latency_p99_ms - stats.latency_p50_ms, 1200) << stats.latency_p50_ms;
  EXPECT_LE(stats.latency_p99_ms - stats.latency_p50_ms, 1700) << stats.latency_p50_ms;
  EXPECT_GE(seconds, (1500 - 50) / 500.0);
  EXPECT_LT(seconds, 15.0);  // the group join and the drain, with the 3 s of scoring
}

// The worker produces a batch's predictions with one call: a batch larger than the
// producer's local queue is retried (serving delivery reports) until librdkafka took all of
// it, in order, each message to its key's partition.
TEST_P(StreamTest, ABatchLargerThanTheLocalQueueIsProducedWholeAndInOrder) {
  ASSERT_NO_FATAL_FAILURE(Start(1));
  std::atomic<int> acknowledged = 0;
  auto producer = CountingProducer({"queue.buffering.max.messages", "10"}, &acknowledged);
  ASSERT_TRUE(producer.ok()) << producer.status();
  std::vector<std::string> values;
  for (int i = 0; i < 300; ++i) values.push_back(fmt::format("prediction {}", i));
  std::vector<KafkaClient::KeptMessage> batch;
  for (const std::string& value : values) batch.push_back({"customer-7", value, nullptr});
  size_t produced = 0;
  ASSERT_TRUE(producer->ProduceKeptBatch(predictions_, batch, &produced).ok());
  EXPECT_EQ(produced, values.size());
  ASSERT_TRUE(producer->Flush(30'000).ok());
  EXPECT_EQ(acknowledged.load(), static_cast<int>(values.size()));
  EXPECT_EQ(ReadTopic(brokers_, predictions_, values.size()), values);
}

// A message librdkafka refuses for good (over message.max.bytes) fails the call with the
// reason; the others of the batch, before and after it, are still produced and counted, so a
// caller waits for exactly their delivery reports.
TEST_P(StreamTest, AMessageRefusedInABatchIsAnErrorAndTheOthersAreCounted) {
  ASSERT_NO_FATAL_FAILURE(Start(1));
  std::atomic<int> acknowledged = 0;
  auto producer = CountingProducer({"message.max.bytes", "1000"}, &acknowledged);  // the least
  ASSERT_TRUE(producer.ok()) << producer.status();
  const std::vector<std::string> values = {"first", std::string(2000, 'x'), "second", "third"};
  std::vector<KafkaClient::KeptMessage> batch;
  for (const std::string& value : values) batch.push_back({"customer-7", value, nullptr});
  size_t produced = 0;
  const absl::Status status = producer->ProduceKeptBatch(predictions_, batch, &produced);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(status.message(), "too large")) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), predictions_)) << status;
  EXPECT_EQ(produced, 3u);
  ASSERT_TRUE(producer->Flush(30'000).ok());
  EXPECT_EQ(acknowledged.load(), 3);
  EXPECT_EQ(ReadTopic(brokers_, predictions_, 3),
            (std::vector<std::string>{"first", "second", "third"}));
}

// Predictions the producer refuses stop the worker with the reason, and none of their input
// offsets is committed: the next worker in the group scores every transaction.
TEST_P(StreamTest, PredictionsThatCannotBeProducedAreScoredAgainByTheNextWorker) {
  ASSERT_NO_FATAL_FAILURE(Start(1));
  const ReplaySummary replayed = ReplayAll();
  // The model's directory is in every prediction: a path of ~1,100 characters makes each
  // prediction larger than message.max.bytes=1000.
  std::string long_dir = dir_->Path("long");
  for (int i = 0; i < 5; ++i) long_dir += "/" + std::string(220, 'd');
  std::filesystem::create_directories(long_dir);
  std::filesystem::copy(model_->dir, long_dir, std::filesystem::copy_options::recursive);
  auto long_model = ModelArtifact::Load(long_dir);
  ASSERT_TRUE(long_model.ok()) << long_model.status();

  StreamOptions refused = WorkerOptions();
  refused.kafka_settings = {"message.max.bytes=1000"};
  auto first = StreamWorker::Create(refused, *long_model);
  ASSERT_TRUE(first.ok()) << first.status();
  std::atomic<bool> stop = false;
  const absl::Status failed = (*first)->Run(stop);
  EXPECT_FALSE(failed.ok());
  EXPECT_TRUE(absl::StrContains(failed.message(), "too large")) << failed;
  first->reset();

  auto second = StreamWorker::Create(WorkerOptions(), *model_);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE((*second)->Run(stop).ok());
  EXPECT_EQ((*second)->stats().consumed, replayed.sent);
  EXPECT_EQ((*second)->stats().predicted, static_cast<int64_t>(expected_->size()));
}

INSTANTIATE_TEST_SUITE_P(Mock, StreamTest, ::testing::Values("mock"));
INSTANTIATE_TEST_SUITE_P(Kafka, StreamTest, ::testing::Values("kafka"));

TEST(KafkaSettings, ParsesItemsAndFilesAndHidesSecrets) {
  KafkaSettings settings;
  ASSERT_TRUE(settings.Apply({"linger.ms=7", "sasl.password=hunter2", "a = b"}).ok());
  EXPECT_EQ(settings.Describe(), "linger.ms=7, sasl.password=***, a= b");
  EXPECT_FALSE(settings.Apply({"novalue"}).ok());
  ScopedTempDir dir;
  ASSERT_TRUE(WriteFile(dir.Path("k.properties"),
                        "# comment\n\nlinger.ms = 9\n! also\nssl.key.password=x\n").ok());
  ASSERT_TRUE(settings.ApplyFile(dir.Path("k.properties")).ok());
  EXPECT_EQ(settings.Describe(), "linger.ms=9, sasl.password=***, a= b, ssl.key.password=***");
  ASSERT_TRUE(WriteFile(dir.Path("bad.properties"), "novalue\n").ok());
  EXPECT_EQ(settings.ApplyFile(dir.Path("bad.properties")).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fraud
