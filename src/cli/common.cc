#include "cli/common.h"

#include "core/time.h"
#include "fmt/format.h"

namespace fraud::cli {

void SplitFlags::AddTo(CLI::App* cmd) {
  cmd->add_option("--train-start", train_start,
                  "first training day YYYY-MM-DD (default: 2018-07-25 when the data covers it, "
                  "else the latest split that fits)");
  cmd->add_option("--train-days", train_days, "training days")->check(CLI::Range(1, 3650));
  cmd->add_option("--delay-days", delay_days, "days between training and test (labels arrive late)")
      ->check(CLI::Range(0, 3650));
  cmd->add_option("--test-days", test_days, "test days")->check(CLI::Range(1, 3650));
}

absl::StatusOr<std::optional<int64_t>> SplitFlags::TrainStartDay() const {
  if (train_start.empty()) return std::optional<int64_t>();
  const auto epoch = ParseDate(train_start);
  if (!epoch) {
    return absl::InvalidArgumentError("--train-start must be YYYY-MM-DD, got " + train_start);
  }
  return std::optional<int64_t>(DayIndex(*epoch));
}

bool SplitFlags::AnyGiven(const CLI::App* cmd) const {
  for (const char* flag : {"--train-start", "--train-days", "--delay-days", "--test-days"}) {
    if (cmd->count(flag) > 0) return true;
  }
  return false;
}

std::string MetricsTable(const EvaluationResult& r) {
  std::string text = fmt::format(
      "  test rows {} ({} frauds) over {} days\n"
      "  metric              fraudstream   handbook best\n"
      "  ROC AUC             {:>11.4f}   {:>13}\n"
      "  average precision   {:>11.4f}   {:>13}\n"
      "  card precision@100  {:>11.4f}   {:>13}\n"
      "  at threshold {:.4f}: precision {:.4f}  recall {:.4f}  F1 {:.4f}  FPR {:.4f}\n"
      "  confusion: TP {}  FP {}  TN {}  FN {}\n",
      r.rows, r.positives, r.days, r.roc_auc, "0.875", r.average_precision, "0.694",
      r.card_precision_at_100, "0.304", r.threshold, r.confusion.precision, r.confusion.recall,
      r.confusion.f1, r.confusion.fpr, r.confusion.tp, r.confusion.fp, r.confusion.tn,
      r.confusion.fn);
  return text;
}

}  // namespace fraud::cli
