#pragma once

// Batch uses of a trained model on a transactions file: `fraudstream evaluate` and
// `fraudstream predict`. Features always come from the file's own history (the same code as
// training and streaming), so a row's features are those the stream engine would compute.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/transaction.h"
#include "data/reader.h"  // ReadHistory: a file, stably sorted by event time
#include "features/batch.h"
#include "model/artifact.h"
#include "model/metrics.h"
#include "model/split.h"

namespace fraud {

// The given rows of a matrix, contiguous (row-major), e.g. to hand to XGBoost.
std::vector<float> GatherRows(const FeatureMatrix& matrix, std::span<const int64_t> rows);

// Metrics of scores against the labels of txs[rows] (CP@100 per event day).
absl::StatusOr<EvaluationResult> EvaluateRows(std::span<const float> scores,
                                              std::span<const Transaction> txs,
                                              std::span<const int64_t> rows, double threshold);

struct ModelEvaluation {
  SplitDays split;
  EvaluationResult result;
};

// Scores the test days of `split` (default: the split the model was trained with).
absl::StatusOr<ModelEvaluation> EvaluateModel(const ModelArtifact& model,
                                              const std::string& data_path,
                                              std::optional<SplitDays> split);

struct PredictSummary {
  int64_t rows = 0;
  int64_t flagged = 0;
  double seconds = 0;
};

// Writes `out`: CSV, one row per input row in input order: the transaction's columns, then
// score and is_fraud (score >= the model's threshold).
absl::StatusOr<PredictSummary> PredictFile(const ModelArtifact& model, const std::string& in,
                                           const std::string& out);

}  // namespace fraud
