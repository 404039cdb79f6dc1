#include "model/scorer.h"

#include "core/status.h"
#include "fmt/format.h"

namespace fraud {

absl::StatusOr<std::unique_ptr<Scorer>> Scorer::Create(const ModelArtifact& model) {
  ASSIGN_OR_RETURN(Forest forest, Forest::LoadFile(model.booster_path()));
  const size_t cols = model.features.names.size();
  if (forest.num_features() != cols) {
    return absl::FailedPreconditionError(
        fmt::format("{}: the booster has {} features, the feature spec {}", model.booster_path(),
                    forest.num_features(), cols));
  }
  return std::unique_ptr<Scorer>(new Scorer(std::move(forest), cols));
}

absl::StatusOr<std::vector<float>> Scorer::Score(std::span<const float> values, size_t rows) const {
  if (values.size() != rows * cols_) {
    return absl::InternalError(
        fmt::format("{} values for {} rows of {} features", values.size(), rows, cols_));
  }
  if (rows == 0) return std::vector<float>();
  std::vector<float> scores(rows);
  forest_.PredictBatch(values.data(), rows, cols_, scores.data());
  return scores;
}

}  // namespace fraud
