#include "model/evaluation.h"

#include <algorithm>

#include "core/clock.h"
#include "core/file.h"
#include "core/status.h"
#include "core/time.h"
#include "data/parallel_chunks.h"
#include "data/reader.h"
#include "data/row_writer.h"
#include "features/feature_spec.h"
#include "fmt/format.h"
#include "model/scorer.h"

namespace fraud {

std::vector<float> GatherRows(const FeatureMatrix& matrix, std::span<const int64_t> rows) {
  std::vector<float> out(rows.size() * matrix.cols);
  for (size_t r = 0; r < rows.size(); ++r) {
    std::copy_n(matrix.values.data() + rows[r] * matrix.cols, matrix.cols,
                out.data() + r * matrix.cols);
  }
  return out;
}

namespace {

absl::StatusOr<SplitDays> SplitOfModel(const ModelArtifact& model) {
  try {
    const auto& split = model.manifest.at("training").at("split");
    const auto start = ParseDate(split.at("train_start").get<std::string>());
    if (!start) return absl::DataLossError("the manifest's train_start is not a date");
    return SplitDays{.train_start_day = DayIndex(*start),
                 .train_days = split.at("train_days").get<int>(),
                 .delay_days = split.at("delay_days").get<int>(),
                 .test_days = split.at("test_days").get<int>()};
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(fmt::format("the manifest has no usable split: {}", e.what()));
  }
}

}  // namespace

absl::StatusOr<EvaluationResult> EvaluateRows(std::span<const float> scores,
                                              std::span<const Transaction> txs,
                                              std::span<const int64_t> rows, double threshold) {
  std::vector<int8_t> labels;
  std::vector<int64_t> customers, days;
  labels.reserve(rows.size());
  customers.reserve(rows.size());
  days.reserve(rows.size());
  for (int64_t r : rows) {
    if (txs[r].tx_fraud == kAbsentLabel) {
      return absl::FailedPreconditionError(fmt::format(
          "transaction {} has no tx_fraud label: evaluation needs labels",
          txs[r].transaction_id.value()));
    }
    labels.push_back(txs[r].tx_fraud);
    customers.push_back(txs[r].customer_id.value());
    days.push_back(DayIndex(txs[r].tx_datetime));
  }
  return Evaluate(scores, labels, customers, days, threshold);
}

absl::StatusOr<ModelEvaluation> EvaluateModel(const ModelArtifact& model,
                                              const std::string& data_path,
                                              std::optional<SplitDays> split) {
  ModelEvaluation evaluation;
  if (split) {
    evaluation.split = *split;
  } else {
    ASSIGN_OR_RETURN(evaluation.split, SplitOfModel(model));
  }
  ASSIGN_OR_RETURN(const std::vector<Transaction> txs, ReadHistory(data_path));
  ASSIGN_OR_RETURN(const SplitRows rows, MakeHandbookSplit(txs, evaluation.split));
  ASSIGN_OR_RETURN(const FeatureMatrix matrix,
                   ComputeFeatures(txs, model.features, {.threads = DefaultThreads()}));
  ASSIGN_OR_RETURN(auto scorer, Scorer::Create(model));
  const std::vector<float> values = GatherRows(matrix, rows.test);
  ASSIGN_OR_RETURN(const std::vector<float> scores, scorer->Score(values, rows.test.size()));
  ASSIGN_OR_RETURN(evaluation.result, EvaluateRows(scores, txs, rows.test, model.threshold));
  return evaluation;
}

absl::StatusOr<PredictSummary> PredictFile(const ModelArtifact& model, const std::string& in,
                                           const std::string& out) {
  const int64_t start = Clock::Real().NowNanos();
  ASSIGN_OR_RETURN(const std::vector<Transaction> txs, ReadTransactions(in));
  // Row i of the matrix holds the features of txs[i], computed in event-time order.
  ASSIGN_OR_RETURN(const FeatureMatrix matrix,
                   ComputeFeatures(txs, model.features, {.threads = DefaultThreads()}));
  ASSIGN_OR_RETURN(auto scorer, Scorer::Create(model));
  ASSIGN_OR_RETURN(const std::vector<float> scores, scorer->Score(matrix.values, matrix.rows));

  PredictSummary summary;
  ASSIGN_OR_RETURN(auto file, OutputFile::Open(out));
  std::string header(HeaderLine(Format::kCsv));
  header.pop_back();
  std::string text = header + ",score,is_fraud\n";
  for (size_t i = 0; i < txs.size(); ++i) {
    AppendRow(Format::kCsv, txs[i], &text);
    text.pop_back();
    const bool flagged = scores[i] >= model.threshold;
    summary.flagged += flagged;
    fmt::format_to(std::back_inserter(text), ",{:.6f},{}\n", scores[i], flagged ? 1 : 0);
    if (text.size() > (1 << 22)) {
      RETURN_IF_ERROR(file->Append(text));
      text.clear();
    }
  }
  RETURN_IF_ERROR(file->Append(text));
  RETURN_IF_ERROR(file->Close());
  summary.rows = static_cast<int64_t>(txs.size());
  summary.seconds = (Clock::Real().NowNanos() - start) * 1e-9;
  return summary;
}

}  // namespace fraud
