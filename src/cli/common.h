#pragma once

// Pieces several subcommands share: the split flags of train/evaluate and the metrics table.

#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "model/metrics.h"
#include "model/split.h"

namespace fraud::cli {

struct SplitFlags {
  std::string train_start;  // YYYY-MM-DD; empty: the default
  int train_days = 7;
  int delay_days = 7;
  int test_days = 7;

  void AddTo(CLI::App* cmd);
  // The training start as a day index, or nullopt when not given.
  absl::StatusOr<std::optional<int64_t>> TrainStartDay() const;
  bool AnyGiven(const CLI::App* cmd) const;
};

// A human-readable table of the metrics, with the handbook's best published figures beside.
std::string MetricsTable(const EvaluationResult& result);

}  // namespace fraud::cli
