#include "model/forest.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FRAUD_FOREST_AVX512 1
// The AVX-512 walk's instruction sets, checked at load (Forest::FromModel).
#define FRAUD_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,bmi2")))
#else
#define FRAUD_FOREST_AVX512 0
#endif

#include "core/file.h"
#include "core/status.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace fraud {
namespace {

using Json = nlohmann::json;

template <typename... Args>
absl::Status Invalid(fmt::format_string<Args...> format, Args&&... args) {
  return absl::InvalidArgumentError("XGBoost model: " +
                                    fmt::format(format, std::forward<Args>(args)...));
}

absl::StatusOr<const Json*> Field(const Json& object, const char* key, std::string_view where) {
  if (!object.is_object()) return Invalid("{} is not an object", where);
  const auto it = object.find(key);
  if (it == object.end()) return Invalid("{} has no field \"{}\"", where, key);
  return &*it;
}

absl::StatusOr<const Json*> ArrayField(const Json& object, const char* key,
                                       std::string_view where) {
  ASSIGN_OR_RETURN(const Json* value, Field(object, key, where));
  if (!value->is_array()) return Invalid("{}.{} is not an array", where, key);
  return value;
}

absl::StatusOr<std::string> StringField(const Json& object, const char* key,
                                        std::string_view where) {
  ASSIGN_OR_RETURN(const Json* value, Field(object, key, where));
  if (!value->is_string()) return Invalid("{}.{} is not a string", where, key);
  return value->get<std::string>();
}

// XGBoost writes counts as strings ("num_feature": "12"); accept plain numbers as well.
absl::StatusOr<int64_t> CountField(const Json& object, const char* key, std::string_view where) {
  ASSIGN_OR_RETURN(const Json* value, Field(object, key, where));
  if (value->is_number_integer()) return value->get<int64_t>();
  if (value->is_string()) {
    const std::string text = value->get<std::string>();
    char* end = nullptr;
    errno = 0;
    const long long parsed = std::strtoll(text.c_str(), &end, 10);
    if (!text.empty() && errno == 0 && *end == '\0') return static_cast<int64_t>(parsed);
  }
  return Invalid("{}.{} is not an integer: {}", where, key, value->dump());
}

absl::StatusOr<float> FloatField(const Json& object, const char* key, std::string_view where) {
  ASSIGN_OR_RETURN(const Json* value, Field(object, key, where));
  if (value->is_number()) return value->get<float>();
  if (value->is_string()) {
    const std::string text = value->get<std::string>();
    char* end = nullptr;
    const float parsed = std::strtof(text.c_str(), &end);
    if (!text.empty() && *end == '\0') return parsed;
  }
  return Invalid("{}.{} is not a number: {}", where, key, value->dump());
}

// Copies a JSON array of integers into out, checking every element.
absl::Status IntArray(const Json& tree, const char* key, std::string_view where,
                      std::vector<int64_t>* out) {
  ASSIGN_OR_RETURN(const Json* array, ArrayField(tree, key, where));
  out->clear();
  out->reserve(array->size());
  for (const Json& element : *array) {
    if (element.is_boolean()) {
      out->push_back(element.get<bool>() ? 1 : 0);
    } else if (element.is_number_integer()) {
      out->push_back(element.get<int64_t>());
    } else {
      return Invalid("{}.{} holds a non-integer: {}", where, key, element.dump());
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<XgboostTree> ParseTree(const Json& tree, size_t num_features,
                                      std::string_view where) {
  std::vector<int64_t> left, right, feature, default_left, split_type;
  RETURN_IF_ERROR(IntArray(tree, "left_children", where, &left));
  RETURN_IF_ERROR(IntArray(tree, "right_children", where, &right));
  RETURN_IF_ERROR(IntArray(tree, "split_indices", where, &feature));
  RETURN_IF_ERROR(IntArray(tree, "default_left", where, &default_left));
  ASSIGN_OR_RETURN(const Json* conditions, ArrayField(tree, "split_conditions", where));
  if (tree.contains("split_type"))
    RETURN_IF_ERROR(IntArray(tree, "split_type", where, &split_type));

  const size_t n = left.size();
  if (n == 0) return Invalid("{} has no nodes", where);
  if (n > std::numeric_limits<int32_t>::max()) return Invalid("{} has too many nodes", where);
  if (right.size() != n || feature.size() != n || default_left.size() != n ||
      conditions->size() != n || (!split_type.empty() && split_type.size() != n)) {
    return Invalid(
        "{}: node arrays of different lengths ({} left_children, {} right_children, "
        "{} split_indices, {} default_left, {} split_conditions)",
        where, n, right.size(), feature.size(), default_left.size(), conditions->size());
  }
  if (tree.contains("tree_param")) {
    ASSIGN_OR_RETURN(const int64_t num_nodes, CountField(tree["tree_param"], "num_nodes", where));
    if (num_nodes != static_cast<int64_t>(n)) {
      return Invalid("{}: tree_param.num_nodes {} but {} nodes", where, num_nodes, n);
    }
  }

  XgboostTree out;
  out.left.resize(n);
  out.right.resize(n);
  out.feature.resize(n);
  out.condition.resize(n);
  out.default_left.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const Json& condition = (*conditions)[i];
    if (!condition.is_number()) {
      return Invalid("{}: split_conditions[{}] is not a number: {}", where, i, condition.dump());
    }
    out.condition[i] = condition.get<float>();
    out.default_left[i] = default_left[i] != 0;
    const bool leaf = left[i] == -1;
    if (leaf != (right[i] == -1)) {
      return Invalid("{}: node {} has one child ({}, {})", where, i, left[i], right[i]);
    }
    if (leaf) {
      out.left[i] = out.right[i] = -1;
      out.feature[i] = 0;
      continue;
    }
    for (const int64_t child : {left[i], right[i]}) {
      if (child < 0 || child >= static_cast<int64_t>(n)) {
        return Invalid("{}: node {} has child {} out of range [0, {})", where, i, child, n);
      }
    }
    if (feature[i] < 0 || static_cast<uint64_t>(feature[i]) >= num_features) {
      return Invalid("{}: node {} splits on feature {} but the model has {} features", where, i,
                     feature[i], num_features);
    }
    if (!split_type.empty() && split_type[i] != 0) {
      return Invalid("{}: node {} is a categorical split, which is not supported", where, i);
    }
    if (!std::isfinite(out.condition[i])) {  // the evaluator's NaN rule needs finite splits
      return Invalid("{}: node {} has a split threshold out of float range", where, i);
    }
    out.left[i] = static_cast<int32_t>(left[i]);
    out.right[i] = static_cast<int32_t>(right[i]);
    out.feature[i] = static_cast<uint32_t>(feature[i]);
  }

  // Every node reachable from the root must be reached once: no cycle, no shared child, so
  // every walk ends at a leaf.
  if (tree.contains("sum_hessian")) {
    ASSIGN_OR_RETURN(const Json* cover, ArrayField(tree, "sum_hessian", where));
    if (cover->size() == n) {
      out.cover.resize(n);
      for (size_t i = 0; i < n; ++i) {
        out.cover[i] = (*cover)[i].is_number() ? (*cover)[i].get<float>() : 0.0f;
      }
    }
  }

  std::vector<uint8_t> reached(n, 0);
  std::vector<int32_t> stack = {0};
  reached[0] = 1;
  while (!stack.empty()) {
    const int32_t node = stack.back();
    stack.pop_back();
    if (out.left[node] == -1) continue;
    for (const int32_t child : {out.left[node], out.right[node]}) {
      if (reached[child]) {
        return Invalid("{}: node {} is reached twice (a cycle or a shared child)", where, child);
      }
      reached[child] = 1;
      stack.push_back(child);
    }
  }
  return out;
}

absl::StatusOr<XgboostModel> ParseModel(const Json& root) {
  XgboostModel model;
  ASSIGN_OR_RETURN(const Json* learner, Field(root, "learner", "model"));

  ASSIGN_OR_RETURN(const Json* objective, Field(*learner, "objective", "learner"));
  ASSIGN_OR_RETURN(const std::string objective_name,
                   StringField(*objective, "name", "learner.objective"));
  if (objective_name != "binary:logistic" && objective_name != "reg:logistic") {
    return Invalid("objective {} is not supported (binary:logistic, reg:logistic)", objective_name);
  }

  ASSIGN_OR_RETURN(const Json* params, Field(*learner, "learner_model_param", "learner"));
  const std::string_view params_where = "learner.learner_model_param";
  ASSIGN_OR_RETURN(model.base_score, FloatField(*params, "base_score", params_where));
  if (!(model.base_score > 0.0f && model.base_score < 1.0f)) {
    return Invalid("base_score {} is not a probability in (0, 1)", model.base_score);
  }
  ASSIGN_OR_RETURN(const int64_t num_features, CountField(*params, "num_feature", params_where));
  if (num_features <= 0 || num_features > std::numeric_limits<int32_t>::max()) {
    return Invalid("num_feature {} is out of range", num_features);
  }
  model.num_features = static_cast<size_t>(num_features);
  if (params->contains("num_class")) {
    ASSIGN_OR_RETURN(const int64_t num_class, CountField(*params, "num_class", params_where));
    if (num_class > 1) return Invalid("num_class {}: only one output is supported", num_class);
  }
  if (params->contains("num_target")) {
    ASSIGN_OR_RETURN(const int64_t num_target, CountField(*params, "num_target", params_where));
    if (num_target > 1) return Invalid("num_target {}: only one output is supported", num_target);
  }

  ASSIGN_OR_RETURN(const Json* booster, Field(*learner, "gradient_booster", "learner"));
  ASSIGN_OR_RETURN(const std::string booster_name,
                   StringField(*booster, "name", "learner.gradient_booster"));
  if (booster_name != "gbtree") {
    return Invalid("booster {} is not supported (gbtree)", booster_name);
  }
  ASSIGN_OR_RETURN(const Json* trees_model, Field(*booster, "model", "gradient_booster"));
  ASSIGN_OR_RETURN(const Json* trees, ArrayField(*trees_model, "trees", "gradient_booster.model"));
  ASSIGN_OR_RETURN(const Json* tree_info,
                   ArrayField(*trees_model, "tree_info", "gradient_booster.model"));
  if (tree_info->size() != trees->size()) {
    return Invalid("{} trees but {} tree_info entries", trees->size(), tree_info->size());
  }
  for (const Json& group : *tree_info) {
    if (!group.is_number_integer() || group.get<int64_t>() != 0) {
      return Invalid("tree_info holds {}: only one output group is supported", group.dump());
    }
  }
  if (trees_model->contains("gbtree_model_param")) {
    ASSIGN_OR_RETURN(const int64_t num_trees,
                     CountField((*trees_model)["gbtree_model_param"], "num_trees",
                                "gradient_booster.model.gbtree_model_param"));
    if (num_trees != static_cast<int64_t>(trees->size())) {
      return Invalid("gbtree_model_param.num_trees {} but {} trees", num_trees, trees->size());
    }
  }
  model.trees.reserve(trees->size());
  for (size_t t = 0; t < trees->size(); ++t) {
    ASSIGN_OR_RETURN(XgboostTree tree,
                     ParseTree((*trees)[t], model.num_features, fmt::format("tree {}", t)));
    model.trees.push_back(std::move(tree));
  }
  return model;
}

}  // namespace

absl::StatusOr<XgboostModel> ParseXgboostJson(std::string_view json) {
  const Json root = Json::parse(json, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return absl::DataLossError("XGBoost model: not valid JSON");
  try {
    return ParseModel(root);
  } catch (const Json::exception& e) {  // every access is checked; this is a backstop
    return Invalid("{}", e.what());
  }
}

float BaseMargin(const XgboostModel& model) {
  // XGBoost 1.7 LogisticRegression::ProbToMargin, in float.
  return -logf(1.0f / model.base_score - 1.0f);
}

float ReferencePredictMargin(const XgboostModel& model, const float* row) {
  float margin = BaseMargin(model);
  for (const XgboostTree& tree : model.trees) {
    int32_t node = 0;
    while (tree.left[node] != -1) {
      const float value = row[tree.feature[node]];
      bool go_left;
      if (std::isnan(value)) {
        go_left = tree.default_left[node] != 0;
      } else {
        go_left = value < tree.condition[node];
      }
      node = go_left ? tree.left[node] : tree.right[node];
    }
    margin += tree.condition[node];  // a leaf's split_condition is its value
  }
  return margin;
}

float Sigmoid(float margin) {
  // XGBoost 1.7 common::Sigmoid: 1 / (exp(-x) + 1 + eps) in float; eps vanishes in float.
  constexpr float kEps = 1e-16f;
  return 1.0f / (expf(-margin) + 1.0f + kEps);
}

absl::StatusOr<Forest> Forest::FromXgboostJson(std::string_view json, ForestOptions options) {
  ASSIGN_OR_RETURN(const XgboostModel model, ParseXgboostJson(json));
  return FromModel(model, options);
}

absl::StatusOr<Forest> Forest::LoadFile(const std::string& path, ForestOptions options) {
  ASSIGN_OR_RETURN(const std::string json, ReadFile(path));
  auto forest = FromXgboostJson(json, options);
  if (!forest.ok()) {
    return absl::Status(forest.status().code(),
                        fmt::format("{}: {}", path, std::string(forest.status().message())));
  }
  return forest;
}

namespace {

// Edges on the longest root-to-leaf path of a (validated) tree.
uint32_t TreeDepth(const XgboostTree& tree) {
  uint32_t deepest = 0;
  std::vector<std::pair<int32_t, uint32_t>> stack = {{0, 0}};
  while (!stack.empty()) {
    const auto [node, depth] = stack.back();
    stack.pop_back();
    deepest = std::max(deepest, depth);
    if (tree.left[node] == -1) continue;
    stack.push_back({tree.left[node], depth + 1});
    stack.push_back({tree.right[node], depth + 1});
  }
  return deepest;
}

// Feature index of a split in the padded row (see forest.h): the copy whose NaN goes the
// node's default way.
uint32_t PaddedFeature(const XgboostTree& tree, int32_t node, uint32_t cols) {
  return tree.feature[node] + (tree.default_left[node] ? 0 : cols);
}

}  // namespace

void Forest::AddCompleteGroup(std::span<const XgboostTree> trees, uint32_t cols,
                              uint32_t depth) {
  const uint32_t inner = (1u << depth) - 1;
  const uint32_t offset = static_cast<uint32_t>(complete_feature_.size());
  const uint32_t leaf_offset = static_cast<uint32_t>(complete_leaf_.size());
  // Unreached positions (and the lanes past the last tree) stay "always left" (x >= NaN is
  // false) with a zero leaf.
  complete_feature_.resize(offset + inner * kTreeLanes, 0);
  complete_threshold_.resize(offset + inner * kTreeLanes,
                             std::numeric_limits<float>::quiet_NaN());
  complete_leaf_.resize(leaf_offset + (inner + 1) * kTreeLanes, 0.0f);
  // (JSON node, position in the complete tree, level); a leaf above the last level is pushed
  // down the always-left path to the last level.
  struct Place {
    int32_t node;
    uint32_t position;
    uint32_t level;
  };
  std::vector<Place> stack;
  for (size_t lane = 0; lane < trees.size(); ++lane) {
    const XgboostTree& tree = trees[lane];
    stack.assign(1, Place{0, 0, 0});
    while (!stack.empty()) {
      const Place place = stack.back();
      stack.pop_back();
      if (place.level == depth) {
        complete_leaf_[leaf_offset + (place.position - inner) * kTreeLanes + lane] =
            tree.condition[place.node];
        continue;
      }
      const uint32_t left = 2 * place.position + 1;
      if (tree.left[place.node] == -1) {
        stack.push_back({place.node, left, place.level + 1});
        continue;
      }
      const size_t at = offset + place.position * kTreeLanes + lane;
      complete_feature_[at] = PaddedFeature(tree, place.node, cols);
      complete_threshold_[at] = tree.condition[place.node];
      stack.push_back({tree.left[place.node], left, place.level + 1});
      stack.push_back({tree.right[place.node], left + 1, place.level + 1});
    }
  }
  // The same trees one after another, each in level order, for the AVX-512 walk.
  for (size_t lane = 0; lane < trees.size(); ++lane) {
    tree_root_.push_back(static_cast<uint32_t>(level_feature_.size()));
    tree_leaf_.push_back(static_cast<uint32_t>(level_leaf_.size()));
    tree_depth_.push_back(depth);
    top_offset_.push_back(0);
    top_leaf_.push_back(0);
    for (uint32_t p = 0; p < inner; ++p) {
      level_feature_.push_back(complete_feature_[offset + p * kTreeLanes + lane] * kBlockRows);
      level_threshold_.push_back(complete_threshold_[offset + p * kTreeLanes + lane]);
    }
    for (uint32_t q = 0; q <= inner; ++q) {
      level_leaf_.push_back(complete_leaf_[leaf_offset + q * kTreeLanes + lane]);
      twig_.push_back({});  // unread: twig_ runs beside level_leaf_
    }
  }
  group_offset_.push_back(offset);
  group_leaf_.push_back(leaf_offset);
}

void Forest::AddSparseTree(const XgboostTree& tree, uint32_t cols, uint32_t depth) {
  // Breadth-first from the root, so a node's children are adjacent (right = left + 1); the
  // reachable nodes are a tree (checked by the parser).
  const uint32_t root = static_cast<uint32_t>(nodes_.size());
  std::vector<int32_t> queue = {0};
  std::vector<uint32_t> sparse_index(tree.left.size(), 0);
  for (size_t head = 0; head < queue.size(); ++head) {
    const int32_t node = queue[head];
    const uint32_t self = root + static_cast<uint32_t>(head);
    sparse_index[node] = self;
    if (tree.left[node] == -1) {
      // x >= NaN is false for every x: a leaf always steps "left", to itself.
      nodes_.push_back({std::numeric_limits<float>::quiet_NaN(), 0, self, tree.condition[node]});
      continue;
    }
    nodes_.push_back({tree.condition[node], PaddedFeature(tree, node, cols),
                      root + static_cast<uint32_t>(queue.size()), 0.0f});
    queue.push_back(tree.left[node]);
    queue.push_back(tree.right[node]);
  }
  tree_root_.push_back(root);
  tree_leaf_.push_back(0);
  tree_depth_.push_back(depth);
  AddTreeTop(tree, cols, sparse_index);
}

void Forest::AddTreeTop(const XgboostTree& tree, uint32_t cols,
                        const std::vector<uint32_t>& sparse_index) {
  constexpr uint32_t kInner = (1u << kTopDepth) - 1;
  const uint32_t offset = static_cast<uint32_t>(level_feature_.size());
  const uint32_t leaf_offset = static_cast<uint32_t>(level_leaf_.size());
  top_offset_.push_back(offset);
  top_leaf_.push_back(leaf_offset);
  // Unreached positions go "always left" (x >= NaN is false) to a zero leaf.
  level_feature_.resize(offset + kInner, 0);
  level_threshold_.resize(offset + kInner, std::numeric_limits<float>::quiet_NaN());
  level_leaf_.resize(leaf_offset + kInner + 1, 0.0f);
  twig_.resize(leaf_offset + kInner + 1);
  struct Place {
    int32_t node;
    uint32_t position;
    uint32_t level;
  };
  std::vector<Place> stack = {{0, 0, 0}};
  while (!stack.empty()) {
    const Place place = stack.back();
    stack.pop_back();
    const bool leaf = tree.left[place.node] == -1;
    if (place.level == kTopDepth) {
      const uint32_t at = leaf_offset + place.position - kInner;
      // NaN marks a split node (a parsed leaf value is never NaN; were one NaN, the walk would
      // go on from the twig of the leaf, which leads to the same value).
      constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
      const int32_t n = place.node;
      level_leaf_[at] = leaf ? tree.condition[n] : kNaN;
      if (leaf) {
        twig_[at] = {kNaN, 0, sparse_index[n], {tree.condition[n], tree.condition[n]}};
        continue;
      }
      const auto value = [&](int32_t child) {
        return tree.left[child] == -1 ? tree.condition[child] : kNaN;
      };
      twig_[at] = {tree.condition[n],
                   PaddedFeature(tree, n, cols) * static_cast<uint32_t>(kBlockRows),
                   sparse_index[tree.left[n]], {value(tree.left[n]), value(tree.right[n])}};
      continue;
    }
    const uint32_t left = 2 * place.position + 1;
    if (leaf) {
      stack.push_back({place.node, left, place.level + 1});
      continue;
    }
    level_feature_[offset + place.position] =
        PaddedFeature(tree, place.node, cols) * static_cast<uint32_t>(kBlockRows);
    level_threshold_[offset + place.position] = tree.condition[place.node];
    stack.push_back({tree.left[place.node], left, place.level + 1});
    stack.push_back({tree.right[place.node], left + 1, place.level + 1});
  }
}

Forest Forest::FromModel(const XgboostModel& model, ForestOptions options) {
  Forest forest;
#if FRAUD_FOREST_AVX512
  forest.avx512_ = options.simd && __builtin_cpu_supports("avx512f") &&
                   __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                   __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("bmi2");
#else
  (void)options;
#endif
  const uint32_t cols = static_cast<uint32_t>(model.num_features);
  forest.num_features_ = model.num_features;
  forest.base_margin_ = BaseMargin(model);
  const size_t trees = model.trees.size();
  std::vector<uint32_t> depth(trees);
  for (size_t t = 0; t < trees; ++t) depth[t] = TreeDepth(model.trees[t]);
  // Groups of kTreeLanes consecutive trees, walked together for one row, share a layout and
  // a number of steps.
  for (size_t first = 0; first < trees; first += kTreeLanes) {
    const size_t last = std::min(first + kTreeLanes, trees);
    const uint32_t group_depth = *std::max_element(&depth[first], &depth[first] + (last - first));
    const bool complete = group_depth <= kMaxCompleteDepth;
    forest.group_depth_.push_back(group_depth);
    forest.group_complete_.push_back(complete);
    if (complete) {
      forest.AddCompleteGroup(std::span(&model.trees[first], last - first), cols, group_depth);
      continue;
    }
    forest.group_offset_.push_back(0);
    forest.group_leaf_.push_back(0);
    for (size_t t = first; t < last; ++t) forest.AddSparseTree(model.trees[t], cols, depth[t]);
  }
  forest.max_depth_ = depth.empty() ? 0 : *std::max_element(depth.begin(), depth.end());
  // The AVX-512 walk loads 64 entries from the start of a level: room to read past the end.
  forest.level_feature_.resize(forest.level_feature_.size() + 64, 0);
  forest.level_threshold_.resize(forest.level_threshold_.size() + 64, 0.0f);
  forest.level_leaf_.resize(forest.level_leaf_.size() + 64, 0.0f);
  forest.twig_.resize(forest.level_leaf_.size());
  return forest;
}

namespace {

// The padded row (see forest.h): 2 * cols floats, NaN as -inf in the first half and as +inf
// in the second, with `spacing` floats from one value to the next (1 for one row; kBlockRows
// for the rows of a batch block, interleaved value by value). On the stack up to
// kStackFeatures features.
constexpr size_t kStackFeatures = 256;

inline void PadRow(const float* row, size_t cols, size_t spacing, float* out) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  for (size_t c = 0; c < cols; ++c) {
    const bool missing = std::isnan(row[c]);
    out[c * spacing] = missing ? -kInf : row[c];
    out[(cols + c) * spacing] = missing ? kInf : row[c];
  }
}

// One step down a complete tree from position p: to 2p+1 (left) or 2p+2 (right). feature and
// threshold point at the tree's lane of its group; feature f's value is padded[f * spacing].
inline uint32_t CompleteStep(uint32_t p, const uint32_t* feature, const float* threshold,
                             const float* padded, size_t spacing) {
  const size_t at = size_t{p} * Forest::kTreeLanes;
  return 2 * p + 1 + static_cast<uint32_t>(padded[feature[at] * spacing] >= threshold[at]);
}

}  // namespace

inline uint32_t Forest::SparseStep(uint32_t node, const float* padded, size_t spacing) const {
  const SparseNode& at = nodes_[node];
  return at.left + static_cast<uint32_t>(padded[at.feature * spacing] >= at.threshold);
}

float Forest::PredictPaddedMargin(const float* padded) const {
  float margin = base_margin_;
  const size_t trees = tree_root_.size();
  // kTreeLanes trees at once, so their walks overlap; the leaf values are added in model order
  // (float addition is not associative, and XGBoost adds tree by tree).
  for (size_t group = 0, first = 0; first < trees; ++group, first += kTreeLanes) {
    const size_t lanes = std::min(kTreeLanes, trees - first);
    const uint32_t depth = group_depth_[group];
    uint32_t node[kTreeLanes];
    float leaf[kTreeLanes];
    if (group_complete_[group]) {
      // Position p of lane l at p * kTreeLanes + l: the lane is a constant offset.
      const uint32_t* feature = complete_feature_.data() + group_offset_[group];
      const float* threshold = complete_threshold_.data() + group_offset_[group];
      for (size_t lane = 0; lane < lanes; ++lane) node[lane] = 0;
      for (uint32_t step = 0; step < depth; ++step) {
        for (size_t lane = 0; lane < lanes; ++lane) {
          node[lane] = CompleteStep(node[lane], feature + lane, threshold + lane, padded, 1);
        }
      }
      const float* leaves = complete_leaf_.data() + group_leaf_[group];
      const uint32_t inner = (1u << depth) - 1;
      for (size_t lane = 0; lane < lanes; ++lane) {
        leaf[lane] = leaves[(node[lane] - inner) * kTreeLanes + lane];
      }
    } else {
      for (size_t lane = 0; lane < lanes; ++lane) node[lane] = tree_root_[first + lane];
      for (uint32_t step = 0; step < depth; ++step) {
        for (size_t lane = 0; lane < lanes; ++lane) {
          node[lane] = SparseStep(node[lane], padded, 1);
        }
      }
      for (size_t lane = 0; lane < lanes; ++lane) leaf[lane] = nodes_[node[lane]].value;
    }
    for (size_t lane = 0; lane < lanes; ++lane) margin += leaf[lane];
  }
  return margin;
}

float Forest::PredictMargin(const float* row) const {
  if (num_features_ <= kStackFeatures) {
    float padded[2 * kStackFeatures];
    PadRow(row, num_features_, 1, padded);
    return PredictPaddedMargin(padded);
  }
  std::vector<float> padded(2 * num_features_);  // wide models only
  PadRow(row, num_features_, 1, padded.data());
  return PredictPaddedMargin(padded.data());
}

void Forest::PredictBlockScalar(const float* padded, size_t first_lane, float* out) const {
  constexpr size_t L = kScalarLanes;
  constexpr size_t S = kBlockRows;  // value v of block row r at padded[v * S + r]
  padded += first_lane;             // the lanes are now constant offsets
  float margin[L];
  for (size_t lane = 0; lane < L; ++lane) margin[lane] = base_margin_;
  for (size_t t = 0; t < tree_root_.size(); ++t) {
    const size_t group = t / kTreeLanes;
    const uint32_t depth = tree_depth_[t];
    uint32_t node[L];
    if (group_complete_[group]) {
      const size_t tree_lane = t % kTreeLanes;
      const uint32_t* feature = complete_feature_.data() + group_offset_[group] + tree_lane;
      const float* threshold = complete_threshold_.data() + group_offset_[group] + tree_lane;
      for (size_t lane = 0; lane < L; ++lane) node[lane] = 0;
      for (uint32_t step = 0; step < depth; ++step) {
        for (size_t lane = 0; lane < L; ++lane) {
          node[lane] = CompleteStep(node[lane], feature, threshold, padded + lane, S);
        }
      }
      const float* leaves = complete_leaf_.data() + group_leaf_[group] + tree_lane;
      const uint32_t inner = (1u << depth) - 1;
      for (size_t lane = 0; lane < L; ++lane) {
        margin[lane] += leaves[(node[lane] - inner) * kTreeLanes];
      }
      continue;
    }
    for (size_t lane = 0; lane < L; ++lane) node[lane] = tree_root_[t];
    // Every lane takes depth steps; one that reached its leaf early stays on it.
    for (uint32_t step = 0; step < depth; ++step) {
      for (size_t lane = 0; lane < L; ++lane) {
        node[lane] = SparseStep(node[lane], padded + lane, S);
      }
    }
    for (size_t lane = 0; lane < L; ++lane) margin[lane] += nodes_[node[lane]].value;
  }
  for (size_t lane = 0; lane < L; ++lane) out[lane] = margin[lane];
}

#if FRAUD_FOREST_AVX512
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own undefined sources.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// 16 gathered values base[index[i]]. (The masked form, with a defined source, keeps GCC 12
// from warning about the unmasked one's undefined source.)
FRAUD_AVX512 inline __m512i Gather(__m512i index, const int* base) {
  return _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), 0xFFFF, index, base, 4);
}
FRAUD_AVX512 inline __m512 Gather(__m512i index, const float* base) {
  return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), 0xFFFF, index, base, 4);
}

// One level of a complete walk of 16 rows (the block's, in the lanes of a vector) down a tree
// in level order (see forest.h): from position node at `level` to 2 node + 1 (left) or
// 2 node + 2 (right). feature and threshold point at the tree's position 0. Levels of up to 64
// positions are looked up in registers (permutes), deeper ones gathered.
FRAUD_AVX512 inline __m512i LevelStep(__m512i node, uint32_t level, const int* feature,
                                      const float* threshold, const float* padded) {
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i one = _mm512_set1_epi32(1);
  const uint32_t level_start = (1u << level) - 1;
  feature += level_start;
  threshold += level_start;
  const __m512i at = _mm512_sub_epi32(node, _mm512_set1_epi32(static_cast<int>(level_start)));
  __m512i f;
  __m512 t;
  if (level <= 4) {
    f = _mm512_permutexvar_epi32(at, _mm512_loadu_si512(feature));
    t = _mm512_permutexvar_ps(at, _mm512_loadu_ps(threshold));
  } else if (level == 5) {
    f = _mm512_permutex2var_epi32(_mm512_loadu_si512(feature), at,
                                  _mm512_loadu_si512(feature + 16));
    t = _mm512_permutex2var_ps(_mm512_loadu_ps(threshold), at, _mm512_loadu_ps(threshold + 16));
  } else if (level == 6) {  // 64 positions: two 32-entry lookups and a blend
    const __mmask16 upper = _mm512_cmpge_epi32_mask(at, _mm512_set1_epi32(32));
    f = _mm512_mask_blend_epi32(
        upper,
        _mm512_permutex2var_epi32(_mm512_loadu_si512(feature), at,
                                  _mm512_loadu_si512(feature + 16)),
        _mm512_permutex2var_epi32(_mm512_loadu_si512(feature + 32), at,
                                  _mm512_loadu_si512(feature + 48)));
    t = _mm512_mask_blend_ps(
        upper,
        _mm512_permutex2var_ps(_mm512_loadu_ps(threshold), at, _mm512_loadu_ps(threshold + 16)),
        _mm512_permutex2var_ps(_mm512_loadu_ps(threshold + 32), at,
                               _mm512_loadu_ps(threshold + 48)));
  } else {
    f = Gather(at, feature);
    t = Gather(at, threshold);
  }
  const __m512 x = Gather(_mm512_add_epi32(f, iota), padded);
  const __mmask16 right = _mm512_cmp_ps_mask(x, t, _CMP_GE_OQ);
  const __m512i left = _mm512_add_epi32(_mm512_add_epi32(node, node), one);
  return _mm512_mask_add_epi32(left, right, left, one);
}

// The values of the last-level positions `at` (0 .. 2^depth - 1) of a complete tree whose
// last level starts at leaves.
FRAUD_AVX512 inline __m512 LevelLeaf(__m512i at, uint32_t depth, const float* leaves) {
  if (depth <= 4) return _mm512_permutexvar_ps(at, _mm512_loadu_ps(leaves));
  if (depth == 5) {
    return _mm512_permutex2var_ps(_mm512_loadu_ps(leaves), at, _mm512_loadu_ps(leaves + 16));
  }
  if (depth == 6) {
    const __mmask16 upper = _mm512_cmpge_epi32_mask(at, _mm512_set1_epi32(32));
    return _mm512_mask_blend_ps(
        upper, _mm512_permutex2var_ps(_mm512_loadu_ps(leaves), at, _mm512_loadu_ps(leaves + 16)),
        _mm512_permutex2var_ps(_mm512_loadu_ps(leaves + 32), at, _mm512_loadu_ps(leaves + 48)));
  }
  if (depth == 7) {  // 128 positions: four 32-entry lookups and three blends
    const __mmask16 upper = _mm512_cmpge_epi32_mask(at, _mm512_set1_epi32(64));
    const __mmask16 upper_half = _mm512_test_epi32_mask(at, _mm512_set1_epi32(32));
    const __m512 low = _mm512_mask_blend_ps(
        upper_half,
        _mm512_permutex2var_ps(_mm512_loadu_ps(leaves), at, _mm512_loadu_ps(leaves + 16)),
        _mm512_permutex2var_ps(_mm512_loadu_ps(leaves + 32), at, _mm512_loadu_ps(leaves + 48)));
    const __m512 high = _mm512_mask_blend_ps(
        upper_half,
        _mm512_permutex2var_ps(_mm512_loadu_ps(leaves + 64), at, _mm512_loadu_ps(leaves + 80)),
        _mm512_permutex2var_ps(_mm512_loadu_ps(leaves + 96), at, _mm512_loadu_ps(leaves + 112)));
    return _mm512_mask_blend_ps(upper, low, high);
  }
  return Gather(at, leaves);
}

// The first kFirstLevels (4) levels of a complete walk of a block's 16 rows at once: the
// comparison of every position 0-14 for all rows (each one contiguous load, the rows being
// interleaved), then each row's path picked out of them with bit operations. Returns the
// positions at level 4, the same as four LevelSteps, with no gather (a gather of 16 values
// costs about as much as 16 of these comparisons).
constexpr uint32_t kFirstLevels = 4;
FRAUD_AVX512 inline __m512i FirstLevels(const int* feature, const float* threshold,
                                        const float* padded) {
  uint32_t right[15];  // right[p]: the rows that go right at position p
  for (int p = 0; p < 15; ++p) {
    right[p] = _mm512_cmp_ps_mask(_mm512_loadu_ps(padded + feature[p]),
                                  _mm512_set1_ps(threshold[p]), _CMP_GE_OQ);
  }
  // pick(c, a, b): a's bit for the rows not in c, b's for those in c.
  const auto pick = [](uint32_t c, uint32_t a, uint32_t b) { return (a & ~c) | (b & c); };
  const uint32_t r0 = right[0];
  const uint32_t r1 = pick(r0, right[1], right[2]);
  const uint32_t r2 = pick(r0, pick(r1, right[3], right[4]), pick(r1, right[5], right[6]));
  const uint32_t r3 =
      pick(r0, pick(r1, pick(r2, right[7], right[8]), pick(r2, right[9], right[10])),
           pick(r1, pick(r2, right[11], right[12]), pick(r2, right[13], right[14])));
  // Level 4 starts at 15; the turns at levels 0-3 weigh 8, 4, 2, 1.
  __m512i node = _mm512_set1_epi32(15);
  node = _mm512_mask_add_epi32(node, static_cast<__mmask16>(r0), node, _mm512_set1_epi32(8));
  node = _mm512_mask_add_epi32(node, static_cast<__mmask16>(r1), node, _mm512_set1_epi32(4));
  node = _mm512_mask_add_epi32(node, static_cast<__mmask16>(r2), node, _mm512_set1_epi32(2));
  return _mm512_mask_add_epi32(node, static_cast<__mmask16>(r3), node, _mm512_set1_epi32(1));
}

// Walks `lanes` complete trees in level order, tree l's position 0 at offset[l] in feature and
// threshold, `depth` levels down for a block's 16 rows: node[l], the positions reached.
FRAUD_AVX512 inline void WalkComplete(const uint32_t* offset, size_t lanes, uint32_t depth,
                                      const uint32_t* feature, const float* threshold,
                                      const float* padded, __m512i* node) {
  const int* features = reinterpret_cast<const int*>(feature);
  const uint32_t first_levels = depth >= kFirstLevels ? kFirstLevels : 0;
  for (size_t lane = 0; lane < lanes; ++lane) {
    node[lane] = first_levels == 0
                     ? _mm512_setzero_si512()
                     : FirstLevels(features + offset[lane], threshold + offset[lane], padded);
  }
  for (uint32_t level = first_levels; level < depth; ++level) {
    for (size_t lane = 0; lane < lanes; ++lane) {
      node[lane] = LevelStep(node[lane], level, features + offset[lane],
                             threshold + offset[lane], padded);
    }
  }
}

FRAUD_AVX512 void Forest::AddCompleteGroupAvx512(size_t group, const float* padded,
                                                 float* margin) const {
  const size_t first = group * kTreeLanes;
  const size_t lanes = std::min(kTreeLanes, tree_root_.size() - first);
  const uint32_t depth = group_depth_[group];
  __m512i node[kTreeLanes];  // lanes >= `lanes` unused
  WalkComplete(&tree_root_[first], lanes, depth, level_feature_.data(), level_threshold_.data(),
               padded, node);
  const __m512i inner = _mm512_set1_epi32(static_cast<int>((1u << depth) - 1));
  __m512 sum = _mm512_loadu_ps(margin);
  for (size_t lane = 0; lane < lanes; ++lane) {
    sum = _mm512_add_ps(sum, LevelLeaf(_mm512_sub_epi32(node[lane], inner), depth,
                                       level_leaf_.data() + tree_leaf_[first + lane]));
  }
  _mm512_storeu_ps(margin, sum);
}

FRAUD_AVX512 void Forest::AddSparseGroupAvx512(size_t group, const float* padded,
                                               float* margin) const {
  static_assert(kTopDepth > kFirstLevels && kTopDepth <= 7);
  const size_t first = group * kTreeLanes;
  const size_t lanes = std::min(kTreeLanes, tree_root_.size() - first);
  // The complete top of each tree (see forest.h).
  __m512i node[kTreeLanes];  // lanes >= `lanes` unused
  WalkComplete(&top_offset_[first], lanes, kTopDepth, level_feature_.data(),
               level_threshold_.data(), padded, node);
  // Slot lane * kBlockRows + row: the row's position on the last level of the tree's top and
  // its leaf value, NaN where the position is a split node.
  const __m512i inner = _mm512_set1_epi32(static_cast<int>((1u << kTopDepth) - 1));
  alignas(64) uint32_t position[kTreeLanes * kBlockRows];
  alignas(64) float value[kTreeLanes * kBlockRows];
  uint64_t deeper[2] = {0, 0};  // the slots on a split node
  for (size_t lane = 0; lane < lanes; ++lane) {
    const __m512i at = _mm512_sub_epi32(node[lane], inner);
    const __m512 leaf = LevelLeaf(at, kTopDepth, level_leaf_.data() + top_leaf_[first + lane]);
    _mm512_store_si512(position + lane * kBlockRows, at);
    _mm512_store_ps(value + lane * kBlockRows, leaf);
    const uint64_t rows = _mm512_cmp_ps_mask(leaf, leaf, _CMP_UNORD_Q);
    deeper[lane / 4] |= rows << (lane % 4 * kBlockRows);
  }
  // Few rows go deeper than the top (the trees are lopsided): each takes one step with the
  // twig of its position, then (rarely, after the others, so the common case has no branch)
  // walks on in nodes_; value v of block row r at padded[v * kBlockRows + r].
  uint32_t further[kTreeLanes * kBlockRows];  // slot * 2 + the twig's turn
  size_t furthers = 0;
  for (size_t half = 0; half < 2; ++half) {
    for (uint64_t slots = deeper[half]; slots != 0; slots &= slots - 1) {
      const size_t slot = half * 64 + static_cast<size_t>(__builtin_ctzll(slots));
      const Twig& twig = twig_[top_leaf_[first + slot / kBlockRows] + position[slot]];
      const uint32_t right = padded[twig.feature + slot % kBlockRows] >= twig.threshold;
      value[slot] = twig.value[right];
      further[furthers] = static_cast<uint32_t>(slot * 2 + right);
      furthers += std::isnan(value[slot]);  // a split node below
    }
  }
  for (size_t f = 0; f < furthers; ++f) {
    const size_t slot = further[f] / 2;
    const float* row = padded + slot % kBlockRows;
    uint32_t at =
        twig_[top_leaf_[first + slot / kBlockRows] + position[slot]].left + further[f] % 2;
    while (nodes_[at].left != at) at = SparseStep(at, row, kBlockRows);
    value[slot] = nodes_[at].value;
  }
  // Added in tree order.
  __m512 sum = _mm512_loadu_ps(margin);
  for (size_t lane = 0; lane < lanes; ++lane) {
    sum = _mm512_add_ps(sum, _mm512_load_ps(value + lane * kBlockRows));
  }
  _mm512_storeu_ps(margin, sum);
}

FRAUD_AVX512 void Forest::PredictBlocksAvx512(const float* padded, size_t blocks,
                                              float* out) const {
  static_assert(kBlockRows == 16);
  const size_t block_floats = kBlockRows * 2 * num_features_;
  std::fill_n(out, blocks * kBlockRows, base_margin_);
  // Group by group (so each stays in cache while every block walks it), in model order.
  for (size_t group = 0; group < group_depth_.size(); ++group) {
    for (size_t b = 0; b < blocks; ++b) {
      if (group_complete_[group]) {
        AddCompleteGroupAvx512(group, padded + b * block_floats, out + b * kBlockRows);
      } else {
        AddSparseGroupAvx512(group, padded + b * block_floats, out + b * kBlockRows);
      }
    }
  }
}
#pragma GCC diagnostic pop
#endif

void Forest::PredictMarginBatch(const float* rows, size_t n, size_t stride, float* out) const {
  const size_t cols = num_features_;
  size_t i = 0;
  if (cols <= kStackFeatures) {
    alignas(64) float padded[kBlockRows * 2 * kStackFeatures];  // whole cache lines per value
    const size_t block_floats = kBlockRows * 2 * cols;
    // The AVX-512 walk takes as many blocks at once as the buffer holds, up to kPassBlocks.
    const size_t pass_blocks =
        avx512_ ? std::clamp<size_t>(kStackFeatures / cols, 1, kPassBlocks) : 1;
    for (; i + kBlockRows <= n;) {
      const size_t blocks = std::min(pass_blocks, (n - i) / kBlockRows);
      for (size_t b = 0; b < blocks; ++b) {
        for (size_t row = 0; row < kBlockRows; ++row) {
          PadRow(rows + (i + b * kBlockRows + row) * stride, cols, kBlockRows,
                 padded + b * block_floats + row);
        }
      }
#if FRAUD_FOREST_AVX512
      if (avx512_) {
        PredictBlocksAvx512(padded, blocks, out + i);
        i += blocks * kBlockRows;
        continue;
      }
#endif
      for (size_t first = 0; first < kBlockRows; first += kScalarLanes) {
        PredictBlockScalar(padded, first, out + i + first);
      }
      i += kBlockRows;
    }
  }
  for (; i < n; ++i) out[i] = PredictMargin(rows + i * stride);
}

void Forest::PredictBatch(const float* rows, size_t n, size_t stride, float* out) const {
  PredictMarginBatch(rows, n, stride, out);
  for (size_t i = 0; i < n; ++i) out[i] = Sigmoid(out[i]);
}

}  // namespace fraud
