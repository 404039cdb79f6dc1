// Feature state across workers and partitions on librdkafka's mock cluster: two workers on
// three partitions, one of them restarted halfway, still give every transaction the features
// and score of `fraudstream predict` (customer windows rebuilt from the partition up to the
// committed offset, terminal windows from the feed of the other partitions); the
// transactional path (--exactly-once) scores every transaction once.

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/file.h"
#include "core/strings.h"
#include "core/testing.h"
#include "model/artifact.h"
#include "model/testing.h"
#include "nlohmann/json.hpp"
#include "stream/kafka.h"
#include "stream/replay.h"
#include "stream/worker.h"

namespace fraud {
namespace {

class StreamStateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScopedTempDir();
    SimulatorConfig simulator;
    simulator.customers = 200;
    simulator.terminals = 400;
    simulator.days = 50;  // windows of 30 days + 7 days of delay, and then some
    simulator.seed = 5;
    auto set = MakeScoredDataSet(dir_->Path("set"), simulator);
    ASSERT_TRUE(set.ok()) << set.status();
    set_ = new ScoredDataSet(std::move(*set));
    model_ = &set_->model;
    expected_ = &set_->scores;
  }
  static void TearDownTestSuite() {
    delete set_;
    delete dir_;
  }

  // A cluster with three input partitions, the whole file replayed into it.
  static std::unique_ptr<MockCluster> StartAndReplay() {
    auto cluster = MockCluster::Start(1);
    EXPECT_TRUE(cluster.ok()) << cluster.status();
    EXPECT_TRUE((*cluster)->CreateTopic(kInputTopic, 3).ok());
    EXPECT_TRUE((*cluster)->CreateTopic(kPredictionsTopic, 3).ok());
    EXPECT_TRUE((*cluster)->CreateTopic(kDlqTopic, 1).ok());
    ReplayOptions replay;
    replay.brokers = (*cluster)->bootstrap_servers();
    replay.rate = 0;
    std::atomic<bool> stop = false;
    auto summary = Replay(set_->data_path, replay, stop);
    EXPECT_TRUE(summary.ok()) << summary.status();
    EXPECT_EQ(summary->acknowledged, static_cast<int64_t>(expected_->size()));
    return std::move(*cluster);
  }

  static StreamOptions WorkerOptions(const std::string& brokers) {
    StreamOptions options;
    options.brokers = brokers;
    options.model_name = "test-model";
    options.model_version = "1";
    options.idle_exit_seconds = 4;
    return options;
  }

  // Runs a worker to its end (idle or max_messages) and returns its stats.
  static StreamStats RunWorker(const StreamOptions& options) {
    auto worker = StreamWorker::Create(options, *model_);
    EXPECT_TRUE(worker.ok()) << worker.status();
    if (!worker.ok()) return {};
    std::atomic<bool> stop = false;
    const absl::Status run = (*worker)->Run(stop);
    EXPECT_TRUE(run.ok()) << run;
    return (*worker)->stats();
  }

  // transaction_id -> scores of its predictions, read until no message for 3 s.
  static std::map<int64_t, std::vector<double>> ReadPredictions(const std::string& brokers) {
    KafkaSettings settings = DefaultConsumerSettings(brokers, "prediction-reader");
    settings.Set("enable.auto.commit", "false");
    settings.Set("auto.offset.reset", "earliest");
    auto consumer = KafkaClient::Consumer(settings);
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, kPredictionsTopic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(consumer->get(), topics);
    rd_kafka_topic_partition_list_destroy(topics);
    std::map<int64_t, std::vector<double>> scores;
    size_t count = 0;
    for (int idle = 0; idle < (count == 0 ? 100 : 30);) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer->get(), 100);
      if (m == nullptr) {
        ++idle;
        continue;
      }
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        idle = 0;
        ++count;
        const auto p = nlohmann::json::parse(
            std::string_view(static_cast<const char*>(m->payload), m->len));
        scores[p["transaction_id"].get<int64_t>()].push_back(p["score"].get<double>());
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(consumer->get());
    return scores;
  }

  // Every transaction has exactly one prediction, with predict's score.
  static void ExpectScoredOnceAsPredict(const std::map<int64_t, std::vector<double>>& scores) {
    EXPECT_EQ(scores.size(), expected_->size());
    size_t wrong = 0, duplicated = 0;
    for (const auto& [id, expected] : *expected_) {
      const auto it = scores.find(id);
      if (it == scores.end()) continue;
      duplicated += it->second.size() > 1;
      for (double s : it->second) {
        if (std::abs(s - expected) > 6e-7 && ++wrong <= 5) {
          ADD_FAILURE() << "transaction " << id << ": " << s << ", predict " << expected;
        }
      }
    }
    EXPECT_EQ(wrong, 0u);
    EXPECT_EQ(duplicated, 0u);
  }

  static ScopedTempDir* dir_;
  static ScoredDataSet* set_;
  static const ModelArtifact* model_;
  static const std::map<int64_t, double>* expected_;
};

ScopedTempDir* StreamStateTest::dir_ = nullptr;
ScoredDataSet* StreamStateTest::set_ = nullptr;
const ModelArtifact* StreamStateTest::model_ = nullptr;
const std::map<int64_t, double>* StreamStateTest::expected_ = nullptr;

// One worker scores a third and stops (committing); then two workers share the three
// partitions: each rebuilds the customers of its partitions up to the committed offsets and
// feeds the other worker's partitions into its terminal windows.
TEST_F(StreamStateTest, PartitionsMoveBetweenWorkersWithTheirState) {
  auto cluster = StartAndReplay();
  const std::string brokers = cluster->bootstrap_servers();
  StreamOptions first = WorkerOptions(brokers);
  first.max_messages = static_cast<int64_t>(expected_->size()) / 3;
  first.max_batch = 500;
  const StreamStats before = RunWorker(first);
  EXPECT_GT(before.predicted, 0);
  EXPECT_EQ(before.rebuilt, 0);  // nothing committed yet: nothing to rebuild

  StreamStats a, b;
  std::thread other([&] { b = RunWorker(WorkerOptions(brokers)); });
  a = RunWorker(WorkerOptions(brokers));
  other.join();
  EXPECT_EQ(before.predicted + a.predicted + b.predicted,
            static_cast<int64_t>(expected_->size()));
  EXPECT_GT(a.predicted, 0);
  EXPECT_GT(b.predicted, 0);
  EXPECT_GT(a.rebuilt + b.rebuilt, 0);  // customers of the first third came back
  EXPECT_GT(a.fed + b.fed, 0);          // each read the other's partitions for terminals
  ExpectScoredOnceAsPredict(ReadPredictions(brokers));
}

// The transactional path on the mock (which accepts the calls; isolation and the offsets sent
// in a transaction are checked against real Apache Kafka in real_kafka_test).
TEST_F(StreamStateTest, ExactlyOnceCommitsEveryBatchInATransaction) {
  auto cluster = StartAndReplay();
  const std::string brokers = cluster->bootstrap_servers();
  StreamOptions options = WorkerOptions(brokers);
  options.exactly_once = true;
  options.transactional_id = "stream-state-test";
  const StreamStats stats = RunWorker(options);
  EXPECT_EQ(stats.predicted, static_cast<int64_t>(expected_->size()));
  EXPECT_EQ(stats.transactions, stats.batches);
  EXPECT_EQ(stats.aborted_transactions, 0);
  ExpectScoredOnceAsPredict(ReadPredictions(brokers));
}

TEST_F(StreamStateTest, ExactlyOnceNeedsATransactionalId) {
  StreamOptions options = WorkerOptions("127.0.0.1:1");
  options.exactly_once = true;
  const auto worker = StreamWorker::Create(options, *model_);
  ASSERT_FALSE(worker.ok());
  EXPECT_NE(worker.status().message().find("transactional id"), std::string::npos);
}

}  // namespace
}  // namespace fraud
