#pragma once

// Our own evaluator of XGBoost tree ensembles (DESIGN §5), the hot path of every scoring
// surface. It reads the booster JSON that XGBoost 1.7 writes (the artifact's model.json) and
// needs no XGBoost at run time.
//
//   ASSIGN_OR_RETURN(Forest forest, Forest::LoadFile(model.booster_path()));
//   float p = forest.Predict(row);                                // one row
//   forest.PredictBatch(values, rows, forest.num_features(), out);  // many rows
//
// Supported: gbtree boosters with numerical splits, one output group, objective
// binary:logistic or reg:logistic; random-forest mode (num_parallel_tree > 1) is the same
// sum over trees. Anything else is rejected at load with InvalidArgument; text that is not
// JSON at all is DataLoss. A model never crashes the loader.
//
// Arithmetic copies XGBoost 1.7's CPU predictor so the results are bit-identical to its own:
// the margin starts at -logf(1/base_score - 1) and adds the float leaf values tree by tree
// in model order; a row goes left when value < threshold, a NaN (missing) value follows the
// node's default direction; the probability is XGBoost's float sigmoid of the margin.
//
// Thread safety: a Forest is immutable after load; any number of threads may call the
// const methods concurrently. The Predict* methods allocate nothing.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace fraud {

// The booster as the JSON states it, one tree at a time, for the reference evaluator and as
// the input of Forest. Node indices are those of the JSON; a leaf has left == right == -1.
struct XgboostTree {
  std::vector<int32_t> left;
  std::vector<int32_t> right;
  std::vector<uint32_t> feature;
  std::vector<float> condition;  // threshold of a split node, value of a leaf
  std::vector<uint8_t> default_left;
};

struct XgboostModel {
  size_t num_features = 0;
  float base_score = 0.5f;  // a probability, as XGBoost stores it for logistic objectives
  std::vector<XgboostTree> trees;
};

// Parses and validates (children in range, no cycles, feature < num_feature, one class, a
// supported objective) the JSON of an XGBoost 1.7 booster.
absl::StatusOr<XgboostModel> ParseXgboostJson(std::string_view json);

// XGBoost's margin for the base score: -logf(1/base_score - 1).
float BaseMargin(const XgboostModel& model);

// The slow, obvious evaluator the fast one is tested against: walks each JSON tree from node
// 0 for one row. row holds model.num_features values (NaN = missing).
float ReferencePredictMargin(const XgboostModel& model, const float* row);

// XGBoost's logistic transform (float, as its PredTransform computes it).
float Sigmoid(float margin);

class Forest {
 public:
  static absl::StatusOr<Forest> FromXgboostJson(std::string_view json);
  static absl::StatusOr<Forest> LoadFile(const std::string& path);  // NotFound if absent
  static Forest FromModel(const XgboostModel& model);               // model already validated

  // row: num_features() values, NaN = missing.
  float PredictMargin(const float* row) const;
  float Predict(const float* row) const { return Sigmoid(PredictMargin(row)); }

  // rows: n rows, row i starting at rows + i * stride (stride >= num_features()). out: n
  // values. Rows go through each tree kBatchLanes at a time, so the memory latency of one
  // row's walk overlaps the others'.
  void PredictMarginBatch(const float* rows, size_t n, size_t stride, float* out) const;
  void PredictBatch(const float* rows, size_t n, size_t stride, float* out) const;

  size_t num_features() const { return num_features_; }
  size_t num_trees() const { return tree_root_.size(); }
  size_t num_nodes() const { return left_.size(); }
  float base_margin() const { return base_margin_; }

  static constexpr size_t kBatchLanes = 8;

 private:
  Forest() = default;

  // One step from node for row; a leaf steps to itself.
  uint32_t Next(uint32_t node, const float* row) const;

  // All trees' nodes, struct-of-arrays, each tree breadth-first from its root. A leaf has
  // left_ == right_ == itself and feature_ == 0, so a walk may overshoot it harmlessly; its
  // value_ is the leaf value (0 for split nodes).
  std::vector<uint32_t> feature_;
  std::vector<float> threshold_;
  std::vector<uint32_t> left_;
  std::vector<uint32_t> right_;
  std::vector<uint8_t> default_left_;
  std::vector<float> value_;
  std::vector<uint32_t> tree_root_;
  std::vector<uint32_t> tree_depth_;  // edges on the longest root-to-leaf path
  size_t num_features_ = 0;
  float base_margin_ = 0.0f;
};

}  // namespace fraud
