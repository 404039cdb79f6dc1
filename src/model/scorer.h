#pragma once

// Scores feature rows with a model artifact. For now backed by XGBoost's own predict; the
// fast forest evaluator (DESIGN §5) replaces it behind this interface.
//
//   ASSIGN_OR_RETURN(ModelArtifact model, ModelArtifact::Load(dir));
//   ASSIGN_OR_RETURN(auto scorer, Scorer::Create(model));
//   ASSIGN_OR_RETURN(std::vector<float> scores, scorer->Score(values, rows));
//
// Not thread-safe: one Scorer per thread.

#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "model/artifact.h"
#include "model/xgboost.h"

namespace fraud {

class Scorer {
 public:
  static absl::StatusOr<std::unique_ptr<Scorer>> Create(const ModelArtifact& model);

  // values: rows × model.features.names.size(), row-major. Returns P(fraud) per row.
  absl::StatusOr<std::vector<float>> Score(std::span<const float> values, size_t rows) const;

 private:
  explicit Scorer(Booster booster, size_t cols) : booster_(std::move(booster)), cols_(cols) {}
  Booster booster_;
  size_t cols_;
};

}  // namespace fraud
