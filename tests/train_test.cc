// Training end to end on a small simulated data set: the artifact, its manifest, loading it
// back (and refusing corrupt or newer ones), evaluate and predict agreeing with train.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/file.h"
#include "core/strings.h"
#include "core/testing.h"
#include "data/simulator.h"
#include "model/artifact.h"
#include "model/evaluation.h"
#include "model/trainer.h"
#include "nlohmann/json.hpp"

namespace fraud {
namespace {

class TrainTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScopedTempDir();
    GenerateOptions generate;
    generate.simulator.customers = 600;
    generate.simulator.terminals = 1200;
    generate.simulator.days = 50;
    generate.simulator.seed = 3;
    generate.out = dir_->Path("data.txt");
    generate.show_progress = false;
    ASSERT_TRUE(GenerateToFiles(generate).ok());
    TrainOptions options;
    options.data_path = generate.out;
    options.out_dir = dir_->Path("model");
    options.write_report = true;
    auto result = Train(options);
    ASSERT_TRUE(result.ok()) << result.status();
    result_ = new TrainResult(*result);
  }
  static void TearDownTestSuite() {
    delete result_;
    delete dir_;
  }

  static ScopedTempDir* dir_;
  static TrainResult* result_;
};

ScopedTempDir* TrainTest::dir_ = nullptr;
TrainResult* TrainTest::result_ = nullptr;

TEST_F(TrainTest, WritesACompleteArtifact) {
  ASSERT_NE(result_, nullptr);
  for (const char* file : {"model.json", "fraudstream.json", "metrics.json", "report.html"}) {
    EXPECT_TRUE(std::filesystem::exists(dir_->Path("model") + "/" + file)) << file;
  }
  const auto manifest = nlohmann::json::parse(*ReadFile(dir_->Path("model/fraudstream.json")));
  EXPECT_EQ(manifest["format_version"], kArtifactFormatVersion);
  EXPECT_EQ(manifest["features"]["name"], "fraudstream-v4");
  EXPECT_EQ(manifest["signature"]["inputs"].size(), manifest["features"]["names"].size());
  EXPECT_EQ(manifest["signature"]["inputs"][0]["name"], "TX_AMOUNT");
  EXPECT_EQ(manifest["threshold"]["rule"], "fpr<=0.05");
  EXPECT_EQ(manifest["threshold"]["chosen_on"], "validation");
  EXPECT_TRUE(std::string(manifest["training"]["data_fingerprint"]).starts_with("fnv1a64:"));
  EXPECT_GT(manifest["training"]["frauds"].get<int>(), 0);
  // Any XGBoost can load the booster and sees our feature names.
  const std::string booster = *ReadFile(dir_->Path("model/model.json"));
  EXPECT_NE(booster.find("CUSTOMER_ID_NB_TX_30DAY_WINDOW"), std::string::npos);
  // The boosting started from the training fraud rate (base_score=prior), not XGBoost's 0.5.
  EXPECT_EQ(manifest["model"]["params"]["base_score"], "prior");
  const auto learner = nlohmann::json::parse(booster)["learner"]["learner_model_param"];
  const double prior = manifest["training"]["frauds"].get<double>() /
                       manifest["training"]["rows"].get<double>();
  EXPECT_NEAR(std::stod(learner["base_score"].get<std::string>()), prior, 1e-4 * prior);

  const EvaluationResult& test = result_->test;
  EXPECT_GT(test.roc_auc, 0.6);
  EXPECT_LE(test.roc_auc, 1.0);
  EXPECT_GT(test.positives, 0);
  EXPECT_LE(test.confusion.fpr, 0.2);
}

TEST_F(TrainTest, EvaluateReproducesTheTrainingMetrics) {
  auto model = ModelArtifact::Load(dir_->Path("model"));
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_DOUBLE_EQ(model->threshold, result_->threshold);
  auto evaluation = EvaluateModel(*model, dir_->Path("data.txt"), std::nullopt);
  ASSERT_TRUE(evaluation.ok()) << evaluation.status();
  EXPECT_EQ(evaluation->split.train_start_day, result_->split.train_start_day);
  EXPECT_EQ(evaluation->result.rows, result_->test.rows);
  EXPECT_NEAR(evaluation->result.roc_auc, result_->test.roc_auc, 1e-9);
  EXPECT_NEAR(evaluation->result.average_precision, result_->test.average_precision, 1e-9);
  EXPECT_EQ(evaluation->result.confusion.tp, result_->test.confusion.tp);
}

TEST_F(TrainTest, PredictScoresEveryRowInInputOrder) {
  auto model = ModelArtifact::Load(dir_->Path("model"));
  ASSERT_TRUE(model.ok());
  auto summary = PredictFile(*model, dir_->Path("data.txt"), dir_->Path("scored.csv"));
  ASSERT_TRUE(summary.ok()) << summary.status();
  const std::string scored = *ReadFile(dir_->Path("scored.csv"));
  const std::vector<std::string_view> lines = Split(scored, '\n');
  ASSERT_EQ(static_cast<int64_t>(lines.size()), summary->rows + 2);  // header, final newline
  EXPECT_TRUE(lines[0].ends_with(",score,is_fraud"));
  int64_t flagged = 0;
  for (size_t i = 1; i + 1 < lines.size(); ++i) {
    const auto fields = Split(lines[i], ',');
    ASSERT_EQ(fields.size(), 11u) << lines[i];
    EXPECT_EQ(fields[0], std::to_string(i - 1));  // transaction ids are row indices here
    const double score = std::stod(std::string(fields[9]));
    EXPECT_GE(score, 0.0);
    EXPECT_LE(score, 1.0);
    EXPECT_EQ(fields[10], score >= model->threshold ? "1" : "0") << lines[i];
    flagged += fields[10] == "1";
  }
  EXPECT_EQ(flagged, summary->flagged);
}

TEST_F(TrainTest, CorruptOrNewerArtifactsAreClearErrors) {
  std::filesystem::copy(dir_->Path("model"), dir_->Path("corrupt"));
  std::string booster = *ReadFile(dir_->Path("corrupt/model.json"));
  booster[booster.size() / 2] = booster[booster.size() / 2] == '1' ? '2' : '1';
  ASSERT_TRUE(WriteFile(dir_->Path("corrupt/model.json"), booster).ok());
  auto corrupt = ModelArtifact::Load(dir_->Path("corrupt"));
  EXPECT_EQ(corrupt.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(corrupt.status().message()).find("corrupt"), std::string::npos);

  std::filesystem::copy(dir_->Path("model"), dir_->Path("newer"));
  auto manifest = nlohmann::json::parse(*ReadFile(dir_->Path("newer/fraudstream.json")));
  manifest["format_version"] = kArtifactFormatVersion + 1;
  ASSERT_TRUE(WriteFile(dir_->Path("newer/fraudstream.json"), manifest.dump()).ok());
  auto newer = ModelArtifact::Load(dir_->Path("newer"));
  EXPECT_EQ(newer.status().code(), absl::StatusCode::kFailedPrecondition);

  EXPECT_EQ(ModelArtifact::Load(dir_->Path("nowhere")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(Train, BadOptionsAreClearErrors) {
  ScopedTempDir dir;
  TrainOptions options;
  options.data_path = GoldenPath("features/small.csv");
  options.out_dir = dir.Path("model");
  options.feature_set = "no-such-set";
  EXPECT_EQ(Train(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.feature_set = "handbook-v1";
  options.params["max_depth"] = "not-a-number";
  EXPECT_FALSE(Train(options).ok());
  EXPECT_FALSE(std::filesystem::exists(dir.Path("model/fraudstream.json")));
}

}  // namespace
}  // namespace fraud
