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
#include <span>
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
  // sum_hessian of each node (its training cover), for model/explain.h; empty when the JSON
  // has none.
  std::vector<float> cover;
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

struct ForestOptions {
  // Batches use AVX-512 where the CPU has it (F, BW, DQ, VL and BMI2; checked at load); false:
  // the scalar walk only (the results are the same, bit for bit).
  bool simd = true;
};

class Forest {
 public:
  static absl::StatusOr<Forest> FromXgboostJson(std::string_view json, ForestOptions options = {});
  // NotFound if absent.
  static absl::StatusOr<Forest> LoadFile(const std::string& path, ForestOptions options = {});
  // model already validated.
  static Forest FromModel(const XgboostModel& model, ForestOptions options = {});

  // row: num_features() values, NaN = missing. The kTreeLanes trees of a group are walked
  // side by side, so their memory latencies overlap.
  float PredictMargin(const float* row) const;
  float Predict(const float* row) const { return Sigmoid(PredictMargin(row)); }

  // rows: n rows, row i starting at rows + i * stride (stride >= num_features()). out: n
  // values. Rows go kBlockRows at a time (see below); a remainder goes one row at a time.
  void PredictMarginBatch(const float* rows, size_t n, size_t stride, float* out) const;
  void PredictBatch(const float* rows, size_t n, size_t stride, float* out) const;

  size_t num_features() const { return num_features_; }
  size_t num_trees() const { return tree_root_.size(); }
  float base_margin() const { return base_margin_; }

  // A batch goes kBlockRows rows at a time: in the 16 lanes of an AVX-512 vector where the
  // CPU has it (with the kTreeLanes trees of a group side by side), else kScalarLanes rows
  // through one tree at a time.
  static constexpr size_t kBlockRows = 16;
  static constexpr size_t kScalarLanes = 8;
  static constexpr size_t kTreeLanes = 8;    // trees walked at once for one row
  static constexpr size_t kPassBlocks = 2;   // AVX-512: blocks walked through a group at once
  // Groups of trees no deeper than this are stored complete (see below).
  static constexpr uint32_t kMaxCompleteDepth = 8;
  // A deeper tree also has its first kTopDepth levels stored complete, for the AVX-512 walk.
  static constexpr uint32_t kTopDepth = 6;

  size_t max_depth() const { return max_depth_; }
  bool uses_avx512() const { return avx512_; }

 private:
  Forest() = default;

  void AddCompleteGroup(std::span<const XgboostTree> trees, uint32_t cols, uint32_t depth);
  void AddSparseTree(const XgboostTree& tree, uint32_t cols, uint32_t depth);
  // The complete top of a sparse tree (see top_offset_); sparse_index maps JSON nodes to
  // their index in the sparse arrays.
  void AddTreeTop(const XgboostTree& tree, uint32_t cols,
                  const std::vector<uint32_t>& sparse_index);
  // One step down a sparse tree: to its left + (value >= threshold), feature f's value at
  // padded[f * spacing]. A leaf steps to itself.
  uint32_t SparseStep(uint32_t node, const float* padded, size_t spacing) const;
  float PredictPaddedMargin(const float* padded) const;
  // A block of kBlockRows padded rows, interleaved (value v of row r at padded[v * kBlockRows
  // + r]). The scalar walk scores rows first_lane .. first_lane + kScalarLanes - 1 into out;
  // the AVX-512 one all kBlockRows.
  void PredictBlockScalar(const float* padded, size_t first_lane, float* out) const;
  // `blocks` (up to kPassBlocks) such blocks one after another, each group of trees walked by
  // every block before the next group (AVX-512: the rows of a block in the 16 lanes of a
  // vector, the kTreeLanes trees of a group side by side).
  void PredictBlocksAvx512(const float* padded, size_t blocks, float* out) const;
  // Add the leaf values of a group's trees, in order, to the margins of one block's rows.
  void AddCompleteGroupAvx512(size_t group, const float* padded, float* margin) const;
  void AddSparseGroupAvx512(size_t group, const float* padded, float* margin) const;

  // Every walk reads a padded row: 2 * num_features values, the features with NaN as -inf,
  // then with NaN as +inf. A split's feature index chooses the copy whose NaN goes the
  // node's default way (-inf >= t is false: left; +inf >= t is true: right; thresholds are
  // finite), so a step is one comparison, value >= threshold going right, as XGBoost's
  // value < threshold going left.
  //
  // Trees come in groups of kTreeLanes consecutive trees. A group no deeper than
  // kMaxCompleteDepth is stored as complete binary trees of the group's depth D: per tree
  // 2^D - 1 split positions (children of p at 2p+1 and 2p+2; a leaf above the last level is
  // pushed down by "always left" positions, threshold NaN) and 2^D leaf values. Walks take
  // exactly D steps and read no child index. The group's trees are interleaved: position p
  // of its tree l is at group_offset_ + p * kTreeLanes + l, leaf q at group_leaf_ +
  // q * kTreeLanes + l.
  std::vector<uint32_t> complete_feature_;
  std::vector<float> complete_threshold_;
  std::vector<float> complete_leaf_;
  // The same complete trees one after another, each in level order (level k at positions
  // 2^k - 1 .. 2^(k+1) - 2), for the AVX-512 walk; there a feature index is times kBlockRows
  // (its offset in a block of rows).
  std::vector<uint32_t> level_feature_;
  std::vector<float> level_threshold_;
  std::vector<float> level_leaf_;
  // A deeper group is stored sparse, each tree breadth-first from its root, so the right child
  // is left + 1. A leaf has left == itself and threshold NaN, so a walk of the tree's depth may
  // overshoot it harmlessly. One 16-byte struct per node rather than struct-of-arrays: a step
  // reads every field of one node (one cache line instead of four), and no walk gathers them.
  struct SparseNode {
    float threshold;
    uint32_t feature;  // in the padded row
    uint32_t left;
    float value;  // of a leaf
  };
  std::vector<SparseNode> nodes_;
  // The AVX-512 walk of a sparse group starts with the complete top of each tree: its first
  // kTopDepth levels in level order in level_feature_ / level_threshold_ from top_offset_[t],
  // like a complete tree of depth kTopDepth (a leaf above it pushed down "always left").
  // Position q of its last level (top_leaf_[t] + q in level_leaf_ and twig_) is either a leaf,
  // with its value, or a split node of the tree at depth kTopDepth, with value NaN. Few rows
  // get that far (the trees are lopsided); they take the split node's twig: its split, the
  // index of its left child in nodes_ and the values of its children (NaN: not a leaf).
  struct Twig {
    float threshold;
    uint32_t feature;  // in the padded row, times kBlockRows
    uint32_t left;
    float value[2];
  };
  std::vector<Twig> twig_;
  std::vector<uint32_t> top_offset_;
  std::vector<uint32_t> top_leaf_;
  // Per tree: its root in the sparse arrays or its offset in level_feature_ (complete), its
  // offset in level_leaf_ (complete), steps of a walk. Per group: depth, whether complete,
  // offsets in complete_* (0 for a sparse group).
  std::vector<uint32_t> tree_root_;
  std::vector<uint32_t> tree_leaf_;
  std::vector<uint32_t> tree_depth_;
  std::vector<uint32_t> group_depth_;
  std::vector<uint8_t> group_complete_;
  std::vector<uint32_t> group_offset_;
  std::vector<uint32_t> group_leaf_;
  size_t max_depth_ = 0;
  bool avx512_ = false;
  size_t num_features_ = 0;
  float base_margin_ = 0.0f;
};

}  // namespace fraud
