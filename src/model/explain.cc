#include "model/explain.h"

#include <cmath>
#include <utility>

#include "core/file.h"
#include "core/status.h"
#include "fmt/format.h"

namespace fraud {

TreeExplainer::TreeExplainer(XgboostModel model) : model_(std::move(model)) {
  mean_.reserve(model_.trees.size());
  for (const XgboostTree& tree : model_.trees) {
    std::vector<float> mean(tree.left.size());
    // Post-order from the root (the parser checked that every node is reached once).
    std::vector<std::pair<int32_t, bool>> stack = {{0, false}};
    while (!stack.empty()) {
      const auto [node, children_done] = stack.back();
      stack.pop_back();
      const int32_t l = tree.left[node], r = tree.right[node];
      if (l == -1) {
        mean[node] = tree.condition[node];
      } else if (!children_done) {
        stack.push_back({node, true});
        stack.push_back({l, false});
        stack.push_back({r, false});
      } else {
        const float cover = tree.cover[node];
        mean[node] = cover > 0 ? (mean[l] * tree.cover[l] + mean[r] * tree.cover[r]) / cover : 0.0f;
      }
    }
    mean_.push_back(std::move(mean));
  }
}

absl::StatusOr<TreeExplainer> TreeExplainer::FromModel(const XgboostModel& model) {
  for (size_t t = 0; t < model.trees.size(); ++t) {
    const XgboostTree& tree = model.trees[t];
    if (tree.cover.size() != tree.left.size()) {
      return absl::FailedPreconditionError(
          fmt::format("tree {} has no node covers (sum_hessian): cannot explain", t));
    }
  }
  return TreeExplainer(model);
}

absl::StatusOr<TreeExplainer> TreeExplainer::LoadFile(const std::string& booster_path) {
  ASSIGN_OR_RETURN(const std::string json, ReadFile(booster_path));
  ASSIGN_OR_RETURN(const XgboostModel model, ParseXgboostJson(json));
  return FromModel(model);
}

float TreeExplainer::Explain(const float* row, float* contributions) const {
  for (size_t f = 0; f < model_.num_features; ++f) contributions[f] = 0.0f;
  float bias = BaseMargin(model_);
  for (size_t t = 0; t < model_.trees.size(); ++t) {
    const XgboostTree& tree = model_.trees[t];
    const std::vector<float>& mean = mean_[t];
    int32_t node = 0;
    bias += mean[0];
    while (tree.left[node] != -1) {
      const float value = row[tree.feature[node]];
      const int32_t next =
          std::isnan(value) ? (tree.default_left[node] ? tree.left[node] : tree.right[node])
                            : (value < tree.condition[node] ? tree.left[node] : tree.right[node]);
      contributions[tree.feature[node]] += mean[next] - mean[node];
      node = next;
    }
  }
  return bias;
}

}  // namespace fraud
