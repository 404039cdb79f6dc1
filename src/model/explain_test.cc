// TreeExplainer against XGBoost's own approximate (Saabas) contributions on a trained booster.

#include "model/explain.h"

#include <gtest/gtest.h>
#include <xgboost/c_api.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "model/xgboost.h"

namespace fraud {
namespace {

constexpr size_t kCols = 5;

TEST(TreeExplainer, MatchesXgboostApproxContributions) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::bernoulli_distribution missing(0.05);
  const size_t rows = 800;
  std::vector<float> values(rows * kCols);
  std::vector<float> labels(rows);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < kCols; ++c) {
      values[r * kCols + c] = missing(rng) ? std::numeric_limits<float>::quiet_NaN() : uniform(rng);
    }
    const float* row = &values[r * kCols];
    labels[r] = (row[0] > 0.2f) != (row[1] * row[2] > 0.1f) ? 1.0f : 0.0f;
  }
  auto data = DMatrix::FromDense(values.data(), rows, kCols, 1);
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_TRUE(data->SetFloatInfo("label", labels).ok());
  auto booster = Booster::Create({&*data});
  ASSERT_TRUE(booster.ok()) << booster.status();
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"objective", "binary:logistic"},
                                                        {"max_depth", "4"},
                                                        {"base_score", "0.3"},
                                                        {"nthread", "1"},
                                                        {"seed", "1"}}) {
    ASSERT_TRUE(booster->SetParam(name, value).ok());
  }
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(booster->UpdateOneIter(i, *data).ok());
  auto model = ParseXgboostJson(booster->SaveJson().value());
  ASSERT_TRUE(model.ok()) << model.status();
  auto explainer = TreeExplainer::FromModel(*model);
  ASSERT_TRUE(explainer.ok()) << explainer.status();

  // XGBoost: type 3 = approximate contributions, kCols + 1 values per row (the bias last).
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* expected = nullptr;
  ASSERT_EQ(XGBoosterPredictFromDMatrix(
                booster->handle(), data->handle(),
                R"({"type": 3, "training": false, "iteration_begin": 0, "iteration_end": 0, )"
                R"("strict_shape": false})",
                &shape, &dim, &expected),
            0)
      << XGBGetLastError();
  std::vector<float> got(kCols);
  size_t nonzero = 0;
  for (size_t r = 0; r < rows; ++r) {
    const float* row = &values[r * kCols];
    const float bias = explainer->Explain(row, got.data());
    const float* want = expected + r * (kCols + 1);
    float sum = bias;
    for (size_t c = 0; c < kCols; ++c) {
      ASSERT_NEAR(got[c], want[c], 1e-5) << "row " << r << " feature " << c;
      sum += got[c];
      nonzero += got[c] != 0.0f;
    }
    ASSERT_NEAR(bias, want[kCols], 1e-5) << "row " << r;
    ASSERT_NEAR(sum, ReferencePredictMargin(*model, row), 1e-4) << "row " << r;
  }
  EXPECT_GT(nonzero, rows);  // not trivially zero
}

TEST(TreeExplainer, RefusesTreesWithoutCovers) {
  XgboostModel model;
  model.num_features = 1;
  XgboostTree leaf;
  leaf.left = {-1};
  leaf.right = {-1};
  leaf.feature = {0};
  leaf.condition = {0.5f};
  leaf.default_left = {1};
  model.trees.push_back(leaf);
  EXPECT_EQ(TreeExplainer::FromModel(model).status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace fraud
