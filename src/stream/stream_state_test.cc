// Feature state across workers and partitions on librdkafka's mock cluster: two workers on
// three partitions, one of them restarted halfway, still give every transaction the features
// and score of `fraudstream predict` (customer windows rebuilt from the partition up to the
// committed offset, terminal windows from the feed of the other partitions); the
// transactional path (--exactly-once) scores every transaction once.

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/file.h"
#include "core/strings.h"
#include "core/testing.h"
#include "model/artifact.h"
#include "model/evaluation.h"
#include "model/testing.h"
#include "model/trainer.h"
#include "nlohmann/json.hpp"
#include "registry/live_model.h"
#include "registry/model_registry.h"
#include "registry/test_store.h"
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

  struct Prediction {
    double score;
    std::string version;
  };
  // transaction_id -> its predictions, read until no message for 3 s.
  static std::map<int64_t, std::vector<Prediction>> ReadPredictions(const std::string& brokers) {
    KafkaSettings settings = DefaultConsumerSettings(brokers, "prediction-reader");
    settings.Set("enable.auto.commit", "false");
    settings.Set("auto.offset.reset", "earliest");
    auto consumer = KafkaClient::Consumer(settings);
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, kPredictionsTopic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(consumer->get(), topics);
    rd_kafka_topic_partition_list_destroy(topics);
    std::map<int64_t, std::vector<Prediction>> scores;
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
        const auto p =
            nlohmann::json::parse(std::string_view(static_cast<const char*>(m->payload), m->len));
        scores[p["transaction_id"].get<int64_t>()].push_back(
            {p["score"].get<double>(), p["model_version"].get<std::string>()});
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(consumer->get());
    return scores;
  }

  // Every transaction has exactly one prediction, with predict's score.
  static void ExpectScoredOnceAsPredict(const std::map<int64_t, std::vector<Prediction>>& scores) {
    EXPECT_EQ(ExpectScoredAsPredict(scores), 0u);
  }

  // Every transaction has a prediction, and every prediction (a transaction scored again after
  // a rebalance too) predict's score; returns how many were scored more than once.
  static size_t ExpectScoredAsPredict(const std::map<int64_t, std::vector<Prediction>>& scores) {
    EXPECT_EQ(scores.size(), expected_->size());
    size_t wrong = 0, duplicated = 0;
    for (const auto& [id, expected] : *expected_) {
      const auto it = scores.find(id);
      if (it == scores.end()) continue;
      duplicated += it->second.size() - 1;
      for (const Prediction& p : it->second) {
        if (std::abs(p.score - expected) > 6e-7 && ++wrong <= 5) {
          ADD_FAILURE() << "transaction " << id << ": " << p.score << ", predict " << expected;
        }
      }
    }
    EXPECT_EQ(wrong, 0u);
    return duplicated;
  }

  // Trains `train` as version 2 of "fraud" beside version 1 (model_) and moves
  // fraud@Production from 1 to 2 while a worker following it has scored the first half of the
  // file; checks the version and score of every prediction. swapped: version 2 (same
  // features) scores the second half; else version 1 goes on scoring it.
  static void MoveTheAliasWhileRunning(TrainOptions train, bool swapped) {
    train.data_path = set_->data_path;
    train.out_dir = dir_->Path("model-2-" + train.feature_set);
    train.write_report = false;
    train.threads = 1;
    ASSERT_TRUE(Train(train).ok());
    auto second = ModelArtifact::Load(train.out_dir);
    ASSERT_TRUE(second.ok()) << second.status();
    ASSERT_TRUE(
        PredictFile(*second, set_->data_path, dir_->Path("predict-2-" + train.feature_set + ".csv"))
            .ok());
    const auto expected_2 =
        ReadPredictScores(dir_->Path("predict-2-" + train.feature_set + ".csv"));
    ASSERT_TRUE(expected_2.ok()) << expected_2.status();

    auto test_store = TestStore::Create("sqlite");
    ASSERT_TRUE(test_store.ok()) << test_store.status();
    auto store = (*test_store)->Open();
    ASSERT_TRUE(store.ok()) << store.status();
    ModelRegistry registry(**store);
    ASSERT_TRUE(registry.CreateVersion("fraud", {.path = model_->dir}).ok());
    ASSERT_TRUE(registry.CreateVersion("fraud", {.path = train.out_dir}).ok());
    ASSERT_TRUE(registry.SetAlias("fraud", "Production", 1).ok());

    // The file in two halves, in event-time order.
    const std::string text = *ReadFile(set_->data_path);
    std::vector<std::string_view> rows;
    for (const std::string_view line : Split(text, '\n')) {
      if (!line.empty() && line.front() != '#') rows.push_back(line);
    }
    const size_t half = rows.size() / 2;
    std::string first_half, second_half;
    for (size_t i = 0; i < rows.size(); ++i) {
      (i < half ? first_half : second_half).append(rows[i]).push_back('\n');
    }
    ASSERT_TRUE(WriteFile(dir_->Path("first-" + train.feature_set + ".txt"), first_half).ok());
    ASSERT_TRUE(WriteFile(dir_->Path("second-" + train.feature_set + ".txt"), second_half).ok());

    auto cluster = MockCluster::Start(1);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    for (const auto& [topic, partitions] :
         {std::pair{kInputTopic, 1}, {kPredictionsTopic, 1}, {kDlqTopic, 1}}) {
      ASSERT_TRUE((*cluster)->CreateTopic(topic, partitions).ok());
    }
    const std::string brokers = (*cluster)->bootstrap_servers();
    auto replay = [&](const std::string& path) {
      ReplayOptions options;
      options.brokers = brokers;
      options.rate = 0;
      std::atomic<bool> stop = false;
      auto summary = Replay(path, options, stop);
      ASSERT_TRUE(summary.ok()) << summary.status();
    };
    ASSERT_NO_FATAL_FAILURE(replay(dir_->Path("first-" + train.feature_set + ".txt")));

    auto worker_store = (*test_store)->Open();
    ASSERT_TRUE(worker_store.ok()) << worker_store.status();
    auto live = LiveModel::FromRegistry(*std::move(worker_store), "fraud@Production",
                                        {.refresh_interval_ms = 0});
    ASSERT_TRUE(live.ok()) << live.status();
    StreamOptions options = WorkerOptions(brokers);
    options.idle_exit_seconds = 8;
    auto worker = StreamWorker::Create(options, *std::move(live));
    ASSERT_TRUE(worker.ok()) << worker.status();
    std::atomic<bool> stop = false;
    absl::Status run;
    std::thread running([&] { run = (*worker)->Run(stop); });

    std::map<int64_t, std::vector<Prediction>> predictions;
    for (int i = 0; i < 20 && predictions.size() < half; ++i)
      predictions = ReadPredictions(brokers);
    EXPECT_EQ(predictions.size(), half);
    ASSERT_TRUE(registry.SetAlias("fraud", "Production", 2).ok());
    ASSERT_NO_FATAL_FAILURE(replay(dir_->Path("second-" + train.feature_set + ".txt")));
    running.join();
    ASSERT_TRUE(run.ok()) << run;
    EXPECT_EQ((*worker)->stats().model_swaps, swapped ? 1 : 0);
    EXPECT_EQ((*worker)->stats().model_version, swapped ? "2" : "1");

    predictions = ReadPredictions(brokers);
    ASSERT_EQ(predictions.size(), rows.size());
    size_t wrong = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      const int64_t id = std::stoll(std::string(Split(rows[i], ',').front()));
      const std::vector<Prediction>& got = predictions[id];
      ASSERT_EQ(got.size(), 1u) << id;
      const bool second_version = swapped && i >= half;
      const std::string version = second_version ? "2" : "1";
      const double expected = second_version ? expected_2->at(id) : expected_->at(id);
      if ((got[0].version != version || std::abs(got[0].score - expected) > 6e-7) && ++wrong <= 5) {
        ADD_FAILURE() << "transaction " << id << ": version " << got[0].version << " score "
                      << got[0].score << ", expected version " << version << " score " << expected;
      }
    }
    EXPECT_EQ(wrong, 0u);
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
// feeds the other worker's partitions into its terminal windows. They join one after the
// other, so a partition may move while it is scored: the mock refuses commits while a group
// rebalances (real Kafka takes them), so what was scored since the last commit may be scored
// again by the next owner (at-least-once) — with the same windows, hence the same score.
TEST_F(StreamStateTest, PartitionsMoveBetweenWorkersWithTheirState) {
  auto cluster = StartAndReplay();
  const std::string brokers = cluster->bootstrap_servers();
  StreamOptions first = WorkerOptions(brokers);
  first.max_messages = static_cast<int64_t>(expected_->size()) / 3;
  first.max_batch = 500;
  const StreamStats before = RunWorker(first);
  EXPECT_GT(before.predicted, 0);
  EXPECT_EQ(before.rebuilt, 0);  // nothing committed yet: nothing to rebuild

  // Slow enough that the second worker joins before the first is through the rest alone.
  StreamOptions options = WorkerOptions(brokers);
  options.max_rate = 1500;
  StreamStats a, b;
  std::thread other([&] { b = RunWorker(options); });
  a = RunWorker(options);
  other.join();
  EXPECT_GT(a.predicted, 0);
  EXPECT_GT(b.predicted, 0);
  EXPECT_GT(a.rebuilt + b.rebuilt, 0);  // customers of the first third came back
  EXPECT_GT(a.fed + b.fed, 0);          // each read the other's partitions for terminals
  const size_t again = ExpectScoredAsPredict(ReadPredictions(brokers));
  EXPECT_EQ(before.predicted + a.predicted + b.predicted,
            static_cast<int64_t>(expected_->size() + again));
  std::printf(
      "scored again after a rebalance: %zu; reads started over: %lld; feed positions "
      "set back: %lld\n",
      again, static_cast<long long>(a.reader_restarts + b.reader_restarts),
      static_cast<long long>(a.feed_seeks + b.feed_seeks));
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

// The worker follows fraud@Production: the alias moves to version 2 while it runs; the
// transactions replayed after that are scored by version 2 (same features, other trees), with
// the window state built before, and each prediction says which version scored it.
TEST_F(StreamStateTest, TheModelFollowsTheRegistryAliasWhileRunning) {
  TrainOptions shallower;
  shallower.params["max_depth"] = "2";
  MoveTheAliasWhileRunning(shallower, /*swapped=*/true);
}

// A version that computes other features than the window state was built for is not used:
// version 1 goes on scoring (with a warning), restart the workers to change feature sets.
TEST_F(StreamStateTest, AVersionWithOtherFeaturesIsNotSwappedIn) {
  TrainOptions handbook;
  handbook.feature_set = "handbook-v1";
  MoveTheAliasWhileRunning(handbook, /*swapped=*/false);
}

// With --checkpoint-dir the first worker leaves a snapshot of each partition's customers at
// its committed offset; the next owner loads it and reads nothing of the topic again, and still
// scores every transaction as predict does.
TEST_F(StreamStateTest, ACheckpointReplacesTheRebuild) {
  auto cluster = StartAndReplay();
  const std::string brokers = cluster->bootstrap_servers();
  ScopedTempDir checkpoints;
  StreamOptions first = WorkerOptions(brokers);
  first.checkpoint_dir = checkpoints.Path("state");
  first.max_messages = static_cast<int64_t>(expected_->size()) / 3;
  first.max_batch = 500;
  const StreamStats before = RunWorker(first);
  EXPECT_EQ(before.checkpoints, 4);  // at shutdown: each partition's customers, the terminals

  StreamOptions second = WorkerOptions(brokers);
  second.checkpoint_dir = first.checkpoint_dir;
  const StreamStats after = RunWorker(second);
  EXPECT_GT(after.restored, 0);
  EXPECT_EQ(after.rebuilt, 0);  // every snapshot was at the committed offset
  EXPECT_EQ(before.predicted + after.predicted, static_cast<int64_t>(expected_->size()));
  ExpectScoredOnceAsPredict(ReadPredictions(brokers));
}

// A snapshot beyond the committed offset (written before a commit that never came) is not
// used, and a damaged one is reported and passed over: the partition is rebuilt from the topic.
TEST_F(StreamStateTest, UnusableCheckpointsAreNotUsed) {
  auto cluster = StartAndReplay();
  const std::string brokers = cluster->bootstrap_servers();
  ScopedTempDir checkpoints;
  const std::string dir = checkpoints.Path("state");
  const std::string topic_dir = dir + "/" + std::string(kInputTopic);
  std::filesystem::create_directories(topic_dir + "/0");
  std::filesystem::create_directories(topic_dir + "/1");
  ASSERT_TRUE(WriteFile(topic_dir + "/0/00000000000000000000.state", "not a snapshot").ok());
  ASSERT_TRUE(WriteFile(topic_dir + "/1/00000000000999999999.state", "beyond").ok());
  StreamOptions options = WorkerOptions(brokers);
  options.checkpoint_dir = dir;
  const StreamStats stats = RunWorker(options);
  EXPECT_EQ(stats.restored, 0);
  EXPECT_EQ(stats.predicted, static_cast<int64_t>(expected_->size()));
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
