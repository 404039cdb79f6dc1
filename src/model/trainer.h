#pragma once

// `fraudstream train`: features over the whole history, the handbook split, XGBoost training,
// operating threshold chosen on a validation split, evaluation on the test days, and the
// model artifact (model/artifact.h).
//
//   TrainOptions options;
//   options.data_path = "transactions.txt";
//   options.out_dir = "models/m1";
//   ASSIGN_OR_RETURN(TrainResult result, Train(options));
//
// The validation split (model/split.h ValidationSplit) trains the same model on the days
// before the delay and scores the training period; the threshold that meets the rule there
// is the operating threshold. When the data does not reach that far back, the threshold is
// chosen on the training rows themselves and the manifest says so.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/transaction.h"
#include "model/metrics.h"
#include "model/split.h"

namespace fraud {

enum class ModelKind { kGbdt, kRandomForest };

struct TrainOptions {
  std::string data_path;
  std::optional<int64_t> train_start_day;  // default: model/split.h DefaultTrainStartDay
  int train_days = 7;
  int delay_days = 7;
  int test_days = 7;
  ModelKind kind = ModelKind::kGbdt;
  std::map<std::string, std::string> params;  // XGBoost parameters over the defaults;
                                              // "rounds" sets the boosting rounds
  std::string feature_set = "fraudstream-v4";
  std::string threshold_rule = "fpr<=0.05";
  std::string out_dir;
  int threads = 0;  // 0: every core
  bool write_report = true;
};

struct TrainResult {
  SplitDays split;
  EvaluationResult test;
  std::optional<EvaluationResult> validation;
  double threshold = 0.5;
  std::string threshold_source;  // "validation" or "training"
  int64_t train_rows = 0;
  int64_t train_frauds = 0;
  std::string data_fingerprint;
  double seconds_features = 0;
  double seconds_training = 0;
  double seconds_total = 0;
};

absl::StatusOr<TrainResult> Train(const TrainOptions& options);

// The XGBoost parameters `train` uses for a kind, before overrides.
std::map<std::string, std::string> DefaultParams(ModelKind kind);

// Training data fingerprint: a stable hash of the rows' identity, time, parties, amount, label.
std::string Fingerprint(std::span<const Transaction> txs, std::span<const int64_t> rows);

}  // namespace fraud
