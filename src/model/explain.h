#pragma once

// Per-feature contributions of a tree ensemble to one score: Saabas' path-based attribution,
// as XGBoost's approximate contributions (predict with approx_contribs / pred_contribs type 3)
// compute it. For REST `?explain=true` (docs/SERVING.md).
//
//   ASSIGN_OR_RETURN(TreeExplainer explainer, TreeExplainer::LoadFile(model.booster_path()));
//   std::vector<float> contributions(explainer.num_features());
//   float bias = explainer.Explain(row, contributions.data());
//   // bias + sum(contributions) == the margin (log-odds) of the score, up to float rounding
//
// Each node's value is the cover-weighted mean of the leaves below it (cover = the node's
// training sum_hessian from the booster JSON). Walking a row's path from the root, every split
// moves the value from its node's mean to its child's; that difference goes to the split's
// feature, and the leaf's difference from its parent's mean to the last split's feature. The
// bias is the base margin plus the roots' means. Contributions are in margin units.
//
// Thread safety: immutable after construction; Explain may run concurrently.

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/forest.h"

namespace fraud {

class TreeExplainer {
 public:
  // FailedPrecondition when a tree lacks its node covers (sum_hessian).
  static absl::StatusOr<TreeExplainer> FromModel(const XgboostModel& model);
  static absl::StatusOr<TreeExplainer> LoadFile(const std::string& booster_path);

  // row: num_features() values (NaN = missing); contributions: num_features() floats,
  // overwritten. Returns the bias.
  float Explain(const float* row, float* contributions) const;

  size_t num_features() const { return model_.num_features; }

 private:
  explicit TreeExplainer(XgboostModel model);

  XgboostModel model_;
  std::vector<std::vector<float>> mean_;  // per tree, per node: cover-weighted mean of leaves
};

}  // namespace fraud
