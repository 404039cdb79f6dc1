#include "model/scorer.h"

#include "core/status.h"
#include "fmt/format.h"

namespace fraud {

absl::StatusOr<std::unique_ptr<Scorer>> Scorer::Create(const ModelArtifact& model) {
  ASSIGN_OR_RETURN(Booster booster, Booster::LoadModel(model.booster_path()));
  return std::unique_ptr<Scorer>(new Scorer(std::move(booster), model.features.names.size()));
}

absl::StatusOr<std::vector<float>> Scorer::Score(std::span<const float> values,
                                                 size_t rows) const {
  if (values.size() != rows * cols_) {
    return absl::InternalError(
        fmt::format("{} values for {} rows of {} features", values.size(), rows, cols_));
  }
  if (rows == 0) return std::vector<float>();
  ASSIGN_OR_RETURN(DMatrix data, DMatrix::FromDense(values.data(), rows, cols_));
  return booster_.Predict(data);
}

}  // namespace fraud
