#include "model/forest.h"

#include <gtest/gtest.h>

#include <cmath>
#include <initializer_list>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/file.h"
#include "core/testing.h"
#include "fmt/format.h"
#include "model/xgboost.h"
#include "nlohmann/json.hpp"

namespace fraud {
namespace {

constexpr size_t kCols = 8;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Rows with a few missing values and repeated values (so thresholds are hit exactly).
std::vector<float> RandomRows(size_t rows, std::mt19937& rng) {
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  std::uniform_int_distribution<int> coarse(0, 9);
  std::bernoulli_distribution missing(0.1);
  std::vector<float> values(rows * kCols);
  for (size_t i = 0; i < values.size(); ++i) {
    const size_t col = i % kCols;
    if (missing(rng)) {
      values[i] = kNaN;
    } else if (col % 3 == 0) {
      values[i] = static_cast<float>(coarse(rng)) * 0.5f;  // few distinct values
    } else {
      values[i] = uniform(rng);
    }
  }
  return values;
}

std::vector<float> Labels(const std::vector<float>& values, std::mt19937& rng) {
  std::bernoulli_distribution noise(0.1);
  std::vector<float> labels(values.size() / kCols);
  for (size_t r = 0; r < labels.size(); ++r) {
    const float* row = &values[r * kCols];
    const float a = std::isnan(row[0]) ? 1.0f : row[0];
    const float b = std::isnan(row[1]) ? -1.0f : row[1];
    const bool positive = a * b + row[2] * 0.5f > 0.3f || (std::isnan(row[3]) && b > 0);
    labels[r] = static_cast<float>(positive != noise(rng));
  }
  return labels;
}

struct Case {
  int depth;
  int rounds;
  int parallel_trees;
  double eta;
  double base_score;
  const char* tree_method;
  double gamma = 0.0;
};

std::string Name(const Case& c) {
  return fmt::format("depth {} rounds {} parallel {} eta {} base_score {} {} gamma {}", c.depth,
                     c.rounds, c.parallel_trees, c.eta, c.base_score, c.tree_method, c.gamma);
}

struct Trained {
  std::string json;
  std::vector<float> test_rows;
  std::vector<float> margins;        // XGBoost's
  std::vector<float> probabilities;  // XGBoost's
};

Trained Train(const Case& c, uint32_t seed) {
  std::mt19937 rng(seed);
  const size_t rows = 1500;
  std::vector<float> train_rows = RandomRows(rows, rng);
  const std::vector<float> labels = Labels(train_rows, rng);
  auto train = DMatrix::FromDense(train_rows.data(), rows, kCols, 1);
  EXPECT_TRUE(train.ok()) << train.status();
  EXPECT_TRUE(train->SetFloatInfo("label", labels).ok());
  auto booster = Booster::Create({&*train});
  EXPECT_TRUE(booster.ok()) << booster.status();
  const std::vector<std::pair<std::string, std::string>> params = {
      {"objective", "binary:logistic"},
      {"tree_method", c.tree_method},
      {"max_depth", std::to_string(c.depth)},
      {"eta", fmt::format("{}", c.eta)},
      {"base_score", fmt::format("{}", c.base_score)},
      {"num_parallel_tree", std::to_string(c.parallel_trees)},
      {"subsample", c.parallel_trees > 1 ? "0.632" : "1"},
      {"colsample_bynode", c.parallel_trees > 1 ? "0.6" : "1"},
      {"gamma", fmt::format("{}", c.gamma)},
      {"min_child_weight", "0.1"},
      {"seed", std::to_string(seed)},
      {"nthread", "1"}};
  for (const auto& [name, value] : params) {
    EXPECT_TRUE(booster->SetParam(name, value).ok()) << name;
  }
  for (int i = 0; i < c.rounds; ++i) EXPECT_TRUE(booster->UpdateOneIter(i, *train).ok());

  Trained out;
  out.json = booster->SaveJson().value();
  // Fresh rows and the training rows themselves (whose values are the split thresholds).
  out.test_rows = RandomRows(500, rng);
  out.test_rows.insert(out.test_rows.end(), train_rows.begin(), train_rows.begin() + 500 * kCols);
  const size_t test_n = out.test_rows.size() / kCols;
  auto test = DMatrix::FromDense(out.test_rows.data(), test_n, kCols, 1);
  EXPECT_TRUE(test.ok());
  out.margins = booster->Predict(*test, /*margin=*/true).value();
  out.probabilities = booster->Predict(*test, /*margin=*/false).value();
  return out;
}

// Margins are compared to 1e-6 absolute (DESIGN §5). The evaluator copies XGBoost's float
// arithmetic, so in practice they are identical; the test says so as well.
TEST(Forest, MatchesXgboost) {
  const std::vector<Case> cases = {
      {1, 1, 1, 0.3, 0.5, "hist"},    {1, 40, 1, 0.3, 0.2, "exact"},
      {2, 20, 1, 0.5, 0.8, "hist"},   {3, 100, 1, 0.3, 0.5, "approx"},
      {6, 300, 1, 0.1, 0.5, "hist"},  {8, 60, 1, 0.3, 0.03, "exact", 0.5},
      {12, 40, 1, 0.3, 0.97, "hist"}, {12, 150, 1, 0.05, 0.4, "hist", 1.0},
      {8, 1, 20, 1.0, 0.5, "hist"},   {12, 1, 20, 1.0, 0.3, "exact"},
      {5, 3, 20, 1.0, 0.6, "hist"},
  };
  uint32_t seed = 17;
  for (const Case& c : cases) {
    SCOPED_TRACE(Name(c));
    const Trained trained = Train(c, seed++);
    auto model = ParseXgboostJson(trained.json);
    ASSERT_TRUE(model.ok()) << model.status();
    auto forest = Forest::FromXgboostJson(trained.json);
    ASSERT_TRUE(forest.ok()) << forest.status();
    EXPECT_EQ(forest->num_trees(), static_cast<size_t>(c.rounds * c.parallel_trees));
    EXPECT_EQ(forest->num_features(), kCols);

    const size_t n = trained.margins.size();
    std::vector<float> batch(n), batch_probability(n);
    forest->PredictMarginBatch(trained.test_rows.data(), n, kCols, batch.data());
    forest->PredictBatch(trained.test_rows.data(), n, kCols, batch_probability.data());
    size_t identical = 0;
    for (size_t i = 0; i < n; ++i) {
      const float* row = &trained.test_rows[i * kCols];
      const float expected = trained.margins[i];
      ASSERT_NEAR(ReferencePredictMargin(*model, row), expected, 1e-6) << "row " << i;
      ASSERT_NEAR(forest->PredictMargin(row), expected, 1e-6) << "row " << i;
      ASSERT_NEAR(batch[i], expected, 1e-6) << "row " << i;
      ASSERT_NEAR(forest->Predict(row), trained.probabilities[i], 1e-7) << "row " << i;
      ASSERT_NEAR(batch_probability[i], trained.probabilities[i], 1e-7) << "row " << i;
      identical += batch[i] == expected && batch_probability[i] == trained.probabilities[i] &&
                   ReferencePredictMargin(*model, row) == expected;
    }
    EXPECT_EQ(identical, n) << "bit-identical margins and probabilities";
  }
}

// Batches of the first n test rows, `stride` floats apart: XGBoost's margins, bit for bit.
void ExpectBatchesMatch(const Forest& forest, const Trained& trained, size_t stride,
                        std::initializer_list<size_t> lengths) {
  for (const size_t n : lengths) {
    std::vector<float> rows(n * stride, 1e30f);  // padding that must never be read
    for (size_t i = 0; i < n; ++i) {
      std::copy_n(&trained.test_rows[i * kCols], kCols, &rows[i * stride]);
    }
    std::vector<float> out(n + 1, -7.0f);
    forest.PredictMarginBatch(rows.data(), n, stride, out.data());
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], trained.margins[i]) << n << " " << i;
    EXPECT_EQ(out[n], -7.0f);  // nothing written past n
  }
}

TEST(Forest, BatchHonoursStrideAndRemainder) {
  const Trained trained = Train({6, 30, 1, 0.3, 0.5, "hist"}, 5);
  auto forest = Forest::FromXgboostJson(trained.json);
  ASSERT_TRUE(forest.ok()) << forest.status();
  ExpectBatchesMatch(*forest, trained, kCols + 3, {0, 1, 7, 8, 9, 23});
}

TEST(Forest, LoadFile) {
  const Trained trained = Train({3, 5, 1, 0.3, 0.5, "hist"}, 9);
  ScopedTempDir dir;
  ASSERT_TRUE(WriteFile(dir.Path("model.json"), trained.json).ok());
  auto forest = Forest::LoadFile(dir.Path("model.json"));
  ASSERT_TRUE(forest.ok()) << forest.status();
  EXPECT_EQ(forest->PredictMargin(trained.test_rows.data()), trained.margins[0]);
  EXPECT_EQ(Forest::LoadFile(dir.Path("absent.json")).status().code(), absl::StatusCode::kNotFound);
}

// A small hand-written model: the split rule (<), NaN following default_left, leaf values in
// split_conditions, base_score as a probability.
nlohmann::json TinyModel() {
  return nlohmann::json::parse(R"({
    "learner": {
      "objective": {"name": "binary:logistic"},
      "learner_model_param": {"base_score": "5E-1", "num_class": "0", "num_feature": "2"},
      "gradient_booster": {"name": "gbtree", "model": {
        "gbtree_model_param": {"num_trees": "1", "num_parallel_tree": "1"},
        "tree_info": [0],
        "trees": [{
          "tree_param": {"num_nodes": "3"},
          "left_children": [1, -1, -1], "right_children": [2, -1, -1],
          "split_indices": [1, 0, 0], "split_conditions": [0.5, -1.25, 2.0],
          "default_left": [0, 0, 0], "split_type": [0, 0, 0],
          "base_weights": [9, 9, 9]
        }]}}}})");
}

TEST(Forest, TinyModelRules) {
  auto forest = Forest::FromXgboostJson(TinyModel().dump());
  ASSERT_TRUE(forest.ok()) << forest.status();
  EXPECT_EQ(forest->base_margin(), 0.0f);
  const float below[] = {0.0f, 0.4f}, equal[] = {0.0f, 0.5f}, missing[] = {0.0f, kNaN};
  EXPECT_EQ(forest->PredictMargin(below), -1.25f);
  EXPECT_EQ(forest->PredictMargin(equal), 2.0f);
  EXPECT_EQ(forest->PredictMargin(missing), 2.0f);  // default right
  nlohmann::json left = TinyModel();
  left["learner"]["gradient_booster"]["model"]["trees"][0]["default_left"][0] = 1;
  left["learner"]["learner_model_param"]["base_score"] = "0.25";
  auto forest_left = Forest::FromXgboostJson(left.dump());
  ASSERT_TRUE(forest_left.ok()) << forest_left.status();
  EXPECT_EQ(forest_left->PredictMargin(missing), -logf(3.0f) + -1.25f);
  EXPECT_FLOAT_EQ(forest_left->Predict(missing), 1.0f / (1.0f + expf(logf(3.0f) + 1.25f)));
}

absl::StatusCode LoadCode(const nlohmann::json& model) {
  return Forest::FromXgboostJson(model.dump()).status().code();
}

TEST(Forest, RejectsBrokenModels) {
  EXPECT_EQ(Forest::FromXgboostJson("{\"learner\": [").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(Forest::FromXgboostJson("").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Forest::FromXgboostJson("[1, 2]").status().code(), absl::StatusCode::kInvalidArgument);

  const auto edit = [](auto change) {
    nlohmann::json model = TinyModel();
    change(model["learner"], model["learner"]["gradient_booster"]["model"]["trees"][0]);
    return LoadCode(model);
  };
  using J = nlohmann::json;
  constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(edit([](J&, J&) {}), absl::StatusCode::kOk);
  EXPECT_EQ(edit([](J& l, J&) { l["gradient_booster"]["model"].erase("trees"); }), kInvalid);
  EXPECT_EQ(edit([](J& l, J&) { l.erase("objective"); }), kInvalid);
  EXPECT_EQ(edit([](J& l, J&) { l["objective"]["name"] = "multi:softprob"; }), kInvalid);
  EXPECT_EQ(edit([](J& l, J&) { l["learner_model_param"]["base_score"] = "1.5"; }), kInvalid);
  EXPECT_EQ(edit([](J& l, J&) { l["learner_model_param"]["base_score"] = "x"; }), kInvalid);
  EXPECT_EQ(edit([](J& l, J&) { l["learner_model_param"]["num_class"] = "3"; }), kInvalid);
  EXPECT_EQ(edit([](J& l, J&) { l["gradient_booster"]["name"] = "dart"; }), kInvalid);
  EXPECT_EQ(edit([](J& l, J&) { l["gradient_booster"]["model"]["tree_info"] = {1}; }), kInvalid);
  EXPECT_EQ(edit([](J&, J& t) { t.erase("split_conditions"); }), kInvalid);
  EXPECT_EQ(edit([](J&, J& t) { t["left_children"] = "nope"; }), kInvalid);
  EXPECT_EQ(edit([](J&, J& t) { t["left_children"][0] = 3; }), kInvalid);    // out of range
  EXPECT_EQ(edit([](J&, J& t) { t["right_children"][0] = -5; }), kInvalid);  // out of range
  EXPECT_EQ(edit([](J&, J& t) { t["left_children"][0] = -1; }), kInvalid);   // one child
  EXPECT_EQ(edit([](J&, J& t) { t["left_children"][0] = 0; }), kInvalid);    // cycle
  EXPECT_EQ(edit([](J&, J& t) { t["right_children"][0] = 1; }), kInvalid);   // shared child
  EXPECT_EQ(edit([](J&, J& t) { t["split_indices"][0] = 2; }), kInvalid);    // feature >= 2
  EXPECT_EQ(edit([](J&, J& t) { t["split_indices"][0] = -1; }), kInvalid);
  EXPECT_EQ(edit([](J&, J& t) { t["split_conditions"][1] = "a"; }), kInvalid);
  EXPECT_EQ(edit([](J&, J& t) { t["split_conditions"][0] = 1e39; }), kInvalid);  // float inf
  EXPECT_EQ(edit([](J&, J& t) { t["default_left"].erase(0); }), kInvalid);  // lengths
  EXPECT_EQ(edit([](J&, J& t) { t["split_type"][0] = 1; }), kInvalid);      // categorical
  EXPECT_EQ(edit([](J&, J& t) { t["tree_param"]["num_nodes"] = "4"; }), kInvalid);
  EXPECT_EQ(edit([](J&, J& t) {
              t["left_children"] = J::array();
              t["right_children"] = J::array();
              t["split_indices"] = J::array();
              t["split_conditions"] = J::array();
              t["default_left"] = J::array();
              t.erase("split_type");
              t.erase("tree_param");
            }),
            kInvalid);  // no nodes
}

// A random booster in XGBoost 1.7's JSON schema, written directly rather than trained, so the
// property test reaches shapes that training rarely makes: lopsided trees, depth up to 20,
// 500 trees, default directions at random, leaves at every depth. Thresholds come from a
// coarse grid so rows hit them exactly.
struct RandomShape {
  int max_depth;
  int trees;
  // > 0: the trees of every other group of Forest::kTreeLanes have this depth instead (a
  // forest of complete and sparse groups).
  int shallow_depth = 0;
};

nlohmann::json RandomTree(int id, int max_depth, std::mt19937& rng) {
  std::uniform_real_distribution<float> leaf(-1.0f, 1.0f);
  std::uniform_int_distribution<int> grid(-8, 8);
  std::uniform_int_distribution<uint32_t> feature(0, kCols - 1);
  std::bernoulli_distribution coin(0.5), bushy(0.9), sparse(0.5);
  std::vector<int> left, right, parents, depth = {0}, default_left, split_indices;
  std::vector<float> conditions;
  parents.push_back(2147483647);
  // Breadth-first, bushy near the root and sparser below; one path (the "spine") always
  // splits so the tree reaches max_depth.
  std::vector<uint8_t> spine = {1};
  for (size_t node = 0; node < depth.size(); ++node) {
    const bool is_split = depth[node] < max_depth && (spine[node] || (depth[node] < 4 ? bushy(rng) : sparse(rng)));
    if (!is_split) {
      left.push_back(-1);
      right.push_back(-1);
      default_left.push_back(0);
      split_indices.push_back(0);
      conditions.push_back(leaf(rng));
      continue;
    }
    const int child = static_cast<int>(depth.size());
    left.push_back(child);
    right.push_back(child + 1);
    default_left.push_back(coin(rng));
    split_indices.push_back(static_cast<int>(feature(rng)));
    conditions.push_back(static_cast<float>(grid(rng)) * 0.25f);
    const bool spine_left = coin(rng);
    for (int side = 0; side < 2; ++side) {
      depth.push_back(depth[node] + 1);
      parents.push_back(static_cast<int>(node));
      spine.push_back(spine[node] && (side == 0) == spine_left);
    }
  }
  const size_t n = left.size();
  return {{"base_weights", std::vector<float>(n, 0.0f)},
          {"categories", nlohmann::json::array()},
          {"categories_nodes", nlohmann::json::array()},
          {"categories_segments", nlohmann::json::array()},
          {"categories_sizes", nlohmann::json::array()},
          {"default_left", default_left},
          {"id", id},
          {"left_children", left},
          {"loss_changes", std::vector<float>(n, 0.0f)},
          {"parents", parents},
          {"right_children", right},
          {"split_conditions", conditions},
          {"split_indices", split_indices},
          {"split_type", std::vector<int>(n, 0)},
          {"sum_hessian", std::vector<float>(n, 1.0f)},
          {"tree_param",
           {{"num_deleted", "0"},
            {"num_feature", std::to_string(kCols)},
            {"num_nodes", std::to_string(n)},
            {"size_leaf_vector", "0"}}}};
}

// The schema around the trees comes from a real (tiny) trained booster.
std::string RandomModelJson(const RandomShape& shape, float base_score, std::mt19937& rng) {
  nlohmann::json model = nlohmann::json::parse(Train({1, 1, 1, 0.3, 0.5, "hist"}, 3).json);
  nlohmann::json& trees_model = model["learner"]["gradient_booster"]["model"];
  nlohmann::json trees = nlohmann::json::array();
  for (int t = 0; t < shape.trees; ++t) {
    const bool shallow = shape.shallow_depth > 0 && t / Forest::kTreeLanes % 2 == 1;
    trees.push_back(RandomTree(t, shallow ? shape.shallow_depth : shape.max_depth, rng));
  }
  trees_model["trees"] = trees;
  trees_model["tree_info"] = std::vector<int>(shape.trees, 0);
  trees_model["gbtree_model_param"]["num_trees"] = std::to_string(shape.trees);
  model["learner"]["learner_model_param"]["base_score"] = fmt::format("{}", base_score);
  return model.dump();
}

bool CpuHasAvx512() {
#if defined(__x86_64__) && defined(__GNUC__)
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

// Fast (one row; batch on AVX-512 where the CPU has it, and scalar), reference and XGBoost's
// XGBoosterPredictFromDense agree within 1e-6 on the margin, over random models of depth
// 1-20 (complete and sparse layouts, and both in one forest) with 1-500 trees and rows with
// NaNs. Sparse trees are lopsided, so AVX-512 rows leave their complete top at every depth.
TEST(Forest, RandomModelsMatchXgboostPredictFromDense) {
  std::mt19937 rng(2024);
  std::uniform_int_distribution<int> depth(1, 12), trees(1, 500);
  std::uniform_real_distribution<float> base(0.05f, 0.95f);
  // Every depth of the complete layout's register lookups (1-6, 7-8 gathered) and sparse.
  std::vector<RandomShape> shapes = {{1, 1},     {2, 9},      {3, 17},    {4, 8},
                                     {5, 23},    {6, 31},     {7, 5},     {8, 12},
                                     {9, 10},    {12, 500},   {20, 3},    {16, 40},
                                     {10, 64},   {14, 100},   {18, 37},   {20, 16},
                                     {16, 50, 6}, {12, 33, 3}, {9, 70, 1}, {20, 24, 8}};
  for (int i = 0; i < 10; ++i) shapes.push_back({depth(rng), trees(rng)});
  for (const RandomShape& shape : shapes) {
    SCOPED_TRACE(fmt::format("depth {} trees {}", shape.max_depth, shape.trees));
    const std::string json = RandomModelJson(shape, base(rng), rng);
    auto model = ParseXgboostJson(json);
    ASSERT_TRUE(model.ok()) << model.status();
    auto forest = Forest::FromXgboostJson(json);
    ASSERT_TRUE(forest.ok()) << forest.status();
    auto scalar = Forest::FromXgboostJson(json, {.simd = false});
    ASSERT_TRUE(scalar.ok()) << scalar.status();
    EXPECT_FALSE(scalar->uses_avx512());
    EXPECT_EQ(forest->uses_avx512(), CpuHasAvx512());
    auto booster = Booster::FromJson(json);
    ASSERT_TRUE(booster.ok()) << booster.status();
    ASSERT_TRUE(booster->SetParam("nthread", "1").ok());

    const size_t n = 203;  // not a multiple of the batch lanes
    const std::vector<float> rows = RandomRows(n, rng);
    auto xgb = booster->PredictFromDense(rows.data(), n, kCols, /*margin=*/true);
    ASSERT_TRUE(xgb.ok()) << xgb.status();
    const std::vector<float> expected(xgb->begin(), xgb->end());
    std::vector<float> batch(n), scalar_batch(n);
    forest->PredictMarginBatch(rows.data(), n, kCols, batch.data());
    scalar->PredictMarginBatch(rows.data(), n, kCols, scalar_batch.data());
    for (size_t i = 0; i < n; ++i) {
      const float* row = &rows[i * kCols];
      ASSERT_NEAR(ReferencePredictMargin(*model, row), expected[i], 1e-6) << "row " << i;
      ASSERT_NEAR(forest->PredictMargin(row), expected[i], 1e-6) << "row " << i;
      ASSERT_NEAR(batch[i], expected[i], 1e-6) << "row " << i;
      ASSERT_NEAR(scalar_batch[i], expected[i], 1e-6) << "row " << i;
      ASSERT_EQ(batch[i], scalar_batch[i]) << "row " << i;  // the same sum, bit for bit
    }
  }
}

// A trained deep random forest (num_parallel_tree, depth 16, the shape of forest_bench's) in
// batches of every length around the AVX-512 blocks, with a stride: bit-identical to XGBoost.
TEST(Forest, DeepForestBatchesMatchXgboost) {
  const Trained trained = Train({16, 2, 40, 1.0, 0.3, "hist"}, 11);
  auto forest = Forest::FromXgboostJson(trained.json);
  ASSERT_TRUE(forest.ok()) << forest.status();
  EXPECT_EQ(forest->num_trees(), 80u);
  EXPECT_GT(forest->max_depth(), Forest::kMaxCompleteDepth);
  ExpectBatchesMatch(*forest, trained, kCols + 1,
                     {1, 15, 16, 17, 31, 32, 33, 47, 48, 49, 100, 1000});
}

}  // namespace
}  // namespace fraud
