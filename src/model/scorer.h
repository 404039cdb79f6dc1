#pragma once

// Scores feature rows with a model artifact, through our own forest evaluator (DESIGN §5,
// model/forest.h), whose probabilities are bit-identical to XGBoost's predict.
//
//   ASSIGN_OR_RETURN(ModelArtifact model, ModelArtifact::Load(dir));
//   ASSIGN_OR_RETURN(auto scorer, Scorer::Create(model));
//   ASSIGN_OR_RETURN(std::vector<float> scores, scorer->Score(values, rows));
//
// Score() is const and thread-safe (the Forest is immutable); it allocates its result and, for
// large batches, splits the rows over the cores.

#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "model/artifact.h"
#include "model/forest.h"

namespace fraud {

class Scorer {
 public:
  static absl::StatusOr<std::unique_ptr<Scorer>> Create(const ModelArtifact& model);

  // values: rows × model.features.names.size(), row-major. Returns P(fraud) per row.
  absl::StatusOr<std::vector<float>> Score(std::span<const float> values, size_t rows) const;

 private:
  Scorer(Forest forest, size_t cols) : forest_(std::move(forest)), cols_(cols) {}
  Forest forest_;
  size_t cols_;
};

}  // namespace fraud
