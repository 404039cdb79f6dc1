// The stream path on librdkafka's mock cluster (a real Kafka-protocol broker, in-process on
// loopback): replay -> stream worker -> predictions and DLQ, read back by an independent
// consumer; parity with `fraudstream predict` on the same file; restart from the committed
// offsets.

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/file.h"
#include "core/strings.h"
#include "core/testing.h"
#include "data/simulator.h"
#include "model/artifact.h"
#include "model/evaluation.h"
#include "model/trainer.h"
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

class StreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScopedTempDir();
    GenerateOptions generate;
    generate.simulator.customers = 300;
    generate.simulator.terminals = 600;
    generate.simulator.days = 40;
    generate.simulator.seed = 11;
    generate.out = dir_->Path("data.txt");
    generate.show_progress = false;
    ASSERT_TRUE(GenerateToFiles(generate).ok());
    TrainOptions train;
    train.data_path = generate.out;
    train.out_dir = dir_->Path("model");
    train.write_report = false;
    train.threads = 1;
    ASSERT_TRUE(Train(train).ok());
    auto model = ModelArtifact::Load(train.out_dir);
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = new ModelArtifact(*model);
    // What `fraudstream predict` gives for the same file.
    ASSERT_TRUE(PredictFile(*model_, generate.out, dir_->Path("predict.csv")).ok());
    expected_ = new std::map<int64_t, double>();
    const std::string text = *ReadFile(dir_->Path("predict.csv"));
    bool header = true;
    for (const std::string_view line : Split(text, '\n')) {
      if (header || line.empty()) {
        header = false;
        continue;
      }
      const std::vector<std::string_view> fields = Split(line, ',');
      (*expected_)[std::stoll(std::string(fields.front()))] =
          std::stod(std::string(fields[fields.size() - 2]));
    }
    // The replayed file: the data set with the bad lines among its rows.
    std::string replayed = *ReadFile(generate.out);
    for (const auto& [line, reason] : kBadLines) replayed += line + "\n";
    ASSERT_TRUE(WriteFile(dir_->Path("replayed.txt"), replayed).ok());
  }
  static void TearDownTestSuite() {
    delete expected_;
    delete model_;
    delete dir_;
  }

  // Starts a cluster with the three topics.
  static std::unique_ptr<MockCluster> StartCluster(int input_partitions) {
    auto cluster = MockCluster::Start(1);
    EXPECT_TRUE(cluster.ok()) << cluster.status();
    EXPECT_TRUE((*cluster)->CreateTopic(kInputTopic, input_partitions).ok());
    EXPECT_TRUE((*cluster)->CreateTopic(kPredictionsTopic, 3).ok());
    EXPECT_TRUE((*cluster)->CreateTopic(kDlqTopic, 1).ok());
    return std::move(*cluster);
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

  static ReplaySummary ReplayAll(const std::string& brokers, int64_t loop_limit = 0) {
    ReplayOptions options;
    options.brokers = brokers;
    options.rate = 0;  // as fast as the broker takes it
    options.loop = loop_limit > 0;
    options.limit = loop_limit;
    std::atomic<bool> stop = false;
    auto summary = Replay(dir_->Path("replayed.txt"), options, stop);
    EXPECT_TRUE(summary.ok()) << summary.status();
    return *summary;
  }

  static StreamOptions WorkerOptions(const std::string& brokers) {
    StreamOptions options;
    options.brokers = brokers;
    options.model_name = "test-model";
    options.model_version = "1";
    options.idle_exit_seconds = 3;
    return options;
  }

  static ScopedTempDir* dir_;
  static ModelArtifact* model_;
  static std::map<int64_t, double>* expected_;
};

ScopedTempDir* StreamTest::dir_ = nullptr;
ModelArtifact* StreamTest::model_ = nullptr;
std::map<int64_t, double>* StreamTest::expected_ = nullptr;

// One input partition: the worker sees the rows in file order, as `predict` does, so every
// feature and score must be the same.
TEST_F(StreamTest, ScoresEveryTransactionAsPredictDoesAndDeadLettersTheRest) {
  auto cluster = StartCluster(1);
  const std::string brokers = cluster->bootstrap_servers();
  const ReplaySummary replayed = ReplayAll(brokers);
  EXPECT_EQ(replayed.sent, static_cast<int64_t>(expected_->size() + kBadLines.size()));
  EXPECT_EQ(replayed.acknowledged, replayed.sent);
  EXPECT_EQ(replayed.unparsed, static_cast<int64_t>(kBadLines.size()));

  auto worker = StreamWorker::Create(WorkerOptions(brokers), *model_);
  ASSERT_TRUE(worker.ok()) << worker.status();
  std::atomic<bool> stop = false;
  ASSERT_TRUE((*worker)->Run(stop).ok());
  const StreamStats& stats = (*worker)->stats();
  EXPECT_EQ(stats.consumed, replayed.sent);
  EXPECT_EQ(stats.predicted, static_cast<int64_t>(expected_->size()));
  EXPECT_EQ(stats.dead_lettered, static_cast<int64_t>(kBadLines.size()));
  EXPECT_EQ(stats.offset_resets, 0);

  const std::vector<std::string> predictions =
      ReadTopic(brokers, kPredictionsTopic, expected_->size());
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
    EXPECT_EQ(p["is_fraud"].get<bool>(), p["score"].get<double>() >= model_->threshold) << text;
    EXPECT_EQ(p["model"], "test-model");
    EXPECT_EQ(p["model_version"], "1");
    EXPECT_GE(p["processing_latency_ms"].get<double>(), 0.0);
    flagged += p["is_fraud"].get<bool>();
  }
  EXPECT_GT(flagged, 0u);

  const std::vector<std::string> dlq = ReadTopic(brokers, kDlqTopic, kBadLines.size());
  ASSERT_EQ(dlq.size(), kBadLines.size());
  for (size_t i = 0; i < dlq.size(); ++i) {
    const auto d = nlohmann::json::parse(dlq[i]);
    EXPECT_EQ(d["payload"], kBadLines[i].first);
    EXPECT_EQ(d["reason"], kBadLines[i].second) << dlq[i];
    EXPECT_FALSE(d["detail"].get<std::string>().empty());
    EXPECT_EQ(d["topic"], kInputTopic);
  }
}

// A worker that stops half way commits what it scored; the next one in the group goes on
// from there: every transaction is scored, none lost.
TEST_F(StreamTest, ANewWorkerResumesFromTheCommittedOffsets) {
  auto cluster = StartCluster(3);
  const std::string brokers = cluster->bootstrap_servers();
  const ReplaySummary replayed = ReplayAll(brokers);
  std::atomic<bool> stop = false;
  StreamOptions first_options = WorkerOptions(brokers);
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
  auto second = StreamWorker::Create(WorkerOptions(brokers), *model_);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE((*second)->Run(stop).ok());
  // Committed at the end of the first run: the second starts exactly there.
  EXPECT_EQ(first_consumed + (*second)->stats().consumed, replayed.sent);

  const std::vector<std::string> predictions =
      ReadTopic(brokers, kPredictionsTopic, expected_->size());
  std::set<int64_t> seen;
  for (const std::string& text : predictions) {
    seen.insert(nlohmann::json::parse(text)["transaction_id"].get<int64_t>());
  }
  EXPECT_EQ(seen.size(), expected_->size());
}

// The mock keeps ~5 MiB per partition: a worker whose committed offset was deleted meanwhile
// must fail with DataLoss (not jump silently), or go on from the oldest message when allowed.
TEST_F(StreamTest, AnOffsetResetIsAnErrorNotASilentJump) {
  auto cluster = StartCluster(1);
  const std::string brokers = cluster->bootstrap_servers();
  ReplayAll(brokers, /*loop_limit=*/1000);
  std::atomic<bool> stop = false;
  StreamOptions options = WorkerOptions(brokers);
  options.max_messages = 500;
  options.max_batch = 100;
  {
    auto first = StreamWorker::Create(options, *model_);
    ASSERT_TRUE(first.ok()) << first.status();
    ASSERT_TRUE((*first)->Run(stop).ok());
  }
  // ~9 MiB more: the committed offset (~500) is deleted from the partition.
  ReplayAll(brokers, /*loop_limit=*/180'000);
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
