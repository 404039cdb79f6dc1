#include "model/forest.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>

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
    out.left[i] = static_cast<int32_t>(left[i]);
    out.right[i] = static_cast<int32_t>(right[i]);
    out.feature[i] = static_cast<uint32_t>(feature[i]);
  }

  // Every node reachable from the root must be reached once: no cycle, no shared child, so
  // every walk ends at a leaf.
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

absl::StatusOr<Forest> Forest::FromXgboostJson(std::string_view json) {
  ASSIGN_OR_RETURN(const XgboostModel model, ParseXgboostJson(json));
  return FromModel(model);
}

absl::StatusOr<Forest> Forest::LoadFile(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string json, ReadFile(path));
  auto forest = FromXgboostJson(json);
  if (!forest.ok()) {
    return absl::Status(forest.status().code(),
                        fmt::format("{}: {}", path, std::string(forest.status().message())));
  }
  return forest;
}

Forest Forest::FromModel(const XgboostModel& model) {
  Forest forest;
  forest.num_features_ = model.num_features;
  forest.base_margin_ = BaseMargin(model);
  size_t total = 0;
  for (const XgboostTree& tree : model.trees) total += tree.left.size();
  forest.feature_.reserve(total);
  forest.threshold_.reserve(total);
  forest.left_.reserve(total);
  forest.right_.reserve(total);
  forest.default_left_.reserve(total);
  forest.value_.reserve(total);

  struct Pending {
    int32_t json_node;
    uint32_t depth;
  };
  std::vector<Pending> queue;
  for (const XgboostTree& tree : model.trees) {
    // Breadth-first from the root; the reachable nodes are a tree (checked by the parser).
    const uint32_t root = static_cast<uint32_t>(forest.left_.size());
    uint32_t depth = 0;
    queue.assign(1, Pending{0, 0});
    for (size_t head = 0; head < queue.size(); ++head) {
      const auto [node, node_depth] = queue[head];
      const uint32_t self = root + static_cast<uint32_t>(head);
      depth = std::max(depth, node_depth);
      if (tree.left[node] == -1) {
        forest.feature_.push_back(0);
        forest.threshold_.push_back(0.0f);
        forest.left_.push_back(self);
        forest.right_.push_back(self);
        forest.default_left_.push_back(1);
        forest.value_.push_back(tree.condition[node]);
        continue;
      }
      const uint32_t left = root + static_cast<uint32_t>(queue.size());
      queue.push_back({tree.left[node], node_depth + 1});
      queue.push_back({tree.right[node], node_depth + 1});
      forest.feature_.push_back(tree.feature[node]);
      forest.threshold_.push_back(tree.condition[node]);
      forest.left_.push_back(left);
      forest.right_.push_back(left + 1);
      forest.default_left_.push_back(tree.default_left[node]);
      forest.value_.push_back(0.0f);
    }
    forest.tree_root_.push_back(root);
    forest.tree_depth_.push_back(depth);
  }
  return forest;
}

inline uint32_t Forest::Next(uint32_t node, const float* row) const {
  const float value = row[feature_[node]];
  // value < threshold is false for NaN, which then follows the default direction.
  const bool go_left =
      (value < threshold_[node]) | (std::isnan(value) & (default_left_[node] != 0));
  return go_left ? left_[node] : right_[node];
}

float Forest::PredictMargin(const float* row) const {
  float margin = base_margin_;
  for (const uint32_t root : tree_root_) {
    uint32_t node = root;
    while (left_[node] != node) node = Next(node, row);
    margin += value_[node];
  }
  return margin;
}

void Forest::PredictMarginBatch(const float* rows, size_t n, size_t stride, float* out) const {
  size_t i = 0;
  for (; i + kBatchLanes <= n; i += kBatchLanes) {
    const float* row[kBatchLanes];
    float margin[kBatchLanes];
    for (size_t lane = 0; lane < kBatchLanes; ++lane) {
      row[lane] = rows + (i + lane) * stride;
      margin[lane] = base_margin_;
    }
    for (size_t t = 0; t < tree_root_.size(); ++t) {
      uint32_t node[kBatchLanes];
      for (size_t lane = 0; lane < kBatchLanes; ++lane) node[lane] = tree_root_[t];
      // Every lane takes depth steps; one that reached its leaf early stays on it.
      for (uint32_t step = 0; step < tree_depth_[t]; ++step) {
        for (size_t lane = 0; lane < kBatchLanes; ++lane) node[lane] = Next(node[lane], row[lane]);
      }
      for (size_t lane = 0; lane < kBatchLanes; ++lane) margin[lane] += value_[node[lane]];
    }
    for (size_t lane = 0; lane < kBatchLanes; ++lane) out[i + lane] = margin[lane];
  }
  for (; i < n; ++i) out[i] = PredictMargin(rows + i * stride);
}

void Forest::PredictBatch(const float* rows, size_t n, size_t stride, float* out) const {
  PredictMarginBatch(rows, n, stride, out);
  for (size_t i = 0; i < n; ++i) out[i] = Sigmoid(out[i]);
}

}  // namespace fraud
