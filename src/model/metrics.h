#pragma once

// Evaluation metrics of DESIGN §4, as defined by the Fraud Detection Handbook (ch. 3.4, 4):
// ROC AUC, average precision, Card Precision@k, threshold metrics, the choice of the operating
// threshold, and the curves and histograms of the evaluation report.
//
// Everything here is a pure function over spans: no I/O, no global state, safe to call from
// any thread. Inputs are parallel arrays indexed by transaction:
//   scores        fraud scores (float or double; higher = more suspicious), finite
//   labels        0 = genuine, 1 = fraud (int8)
//   customer_ids  for Card Precision@k only
//   days          whole-day index of each transaction (e.g. TX_TIME_DAYS), for CP@k only
//
// Errors (absl::InvalidArgumentError): arrays of different lengths, empty input, a label other
// than 0/1, a non-finite score, and metrics that are undefined on the input (ROC AUC with one
// class only, average precision without positives). No function returns NaN.
//
// Example:
//   ASSIGN_OR_RETURN(ThresholdRule rule, ParseThresholdRule("fpr<=0.05"));
//   ASSIGN_OR_RETURN(ThresholdChoice choice, ChooseThreshold(valid_scores, valid_labels, rule));
//   ASSIGN_OR_RETURN(EvaluationResult result,
//                    Evaluate(test_scores, test_labels, customers, days, choice.threshold));
//   WriteFile(dir + "/metrics.json", result.ToJson().dump(2));
//
// Cost: O(n log n) time (one sort by score; Card Precision sorts by day and customer),
// O(n) extra memory.

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace fraud {

// A read-only view of scores stored as float or as double; converts from either kind of span
// or vector. Values are read as double (exact for float).
class ScoreView {
 public:
  ScoreView(std::span<const float> scores) : floats_(scores.data()), size_(scores.size()) {}
  ScoreView(std::span<const double> scores) : doubles_(scores.data()), size_(scores.size()) {}
  ScoreView(const std::vector<float>& scores) : ScoreView(std::span<const float>(scores)) {}
  ScoreView(const std::vector<double>& scores) : ScoreView(std::span<const double>(scores)) {}

  size_t size() const { return size_; }
  double operator[](size_t i) const { return floats_ != nullptr ? floats_[i] : doubles_[i]; }

 private:
  const float* floats_ = nullptr;
  const double* doubles_ = nullptr;
  size_t size_ = 0;
};

// Area under the ROC curve; equals sklearn.metrics.roc_auc_score: tied scores count one half
// (Mann–Whitney U with midranks). Error when only one class is present.
absl::StatusOr<double> RocAuc(ScoreView scores, std::span<const int8_t> labels);

// Equals sklearn.metrics.average_precision_score: sum over distinct score thresholds t, from
// the highest, of (R(t) - R(previous t)) * P(t); tied scores form one threshold. Error when
// there is no positive.
absl::StatusOr<double> AveragePrecision(ScoreView scores, std::span<const int8_t> labels);

// The handbook's card_precision_top_k.
struct CardPrecisionResult {
  int k = 0;
  double mean = 0;                           // mean of per_day (each day weighs the same)
  std::vector<int64_t> days;                 // the distinct days, increasing
  std::vector<double> per_day;               // CP@k of each day
  std::vector<int64_t> compromised_per_day;  // fraudulent customers left after removal
};

// For each day in increasing order: take the day's transactions, drop the customers detected
// on earlier days, group by customer (max score, max label), rank customers by max score
// (descending; ties by customer id ascending), and count the fraudulent customers among the
// top k; that day's value is that count / k (divided by k even when fewer than k customers
// remain, as the handbook does). The fraudulent customers of the top k join the detected set.
// The result is the mean over the days present in the input. k must be positive.
absl::StatusOr<CardPrecisionResult> CardPrecisionAtK(ScoreView scores,
                                                     std::span<const int8_t> labels,
                                                     std::span<const int64_t> customer_ids,
                                                     std::span<const int64_t> days, int k = 100);

// Counts and rates of the decision is_fraud = (score >= threshold).
// Convention: a ratio with a zero denominator is 0 (precision with nothing flagged, recall
// without positives, fpr without negatives, f1 when precision + recall = 0).
struct ConfusionMatrix {
  double threshold = 0;
  int64_t tp = 0;
  int64_t fp = 0;
  int64_t tn = 0;
  int64_t fn = 0;
  double precision = 0;  // tp / (tp + fp)
  double recall = 0;     // tp / (tp + fn), the true-positive rate
  double f1 = 0;         // 2 precision recall / (precision + recall)
  double fpr = 0;        // fp / (fp + tn)
};

// Precondition (checked, aborts): labels.size() == scores.size(). A non-zero label counts as
// fraud; a NaN score is never flagged. Never fails otherwise.
ConfusionMatrix AtThreshold(ScoreView scores, std::span<const int8_t> labels, double threshold);
// The same rates from counts (0/0 = 0 as above).
ConfusionMatrix MakeConfusionMatrix(double threshold, int64_t tp, int64_t fp, int64_t tn,
                                    int64_t fn);

// How the operating threshold is chosen on validation data.
enum class ThresholdObjective {
  kMaxRecallAtFpr,  // the highest recall with fpr <= max_fpr (DESIGN §4's business rule)
  kMaxF1,           // the highest F1
};

struct ThresholdRule {
  ThresholdObjective objective = ThresholdObjective::kMaxRecallAtFpr;
  double max_fpr = 0.05;  // for kMaxRecallAtFpr, in [0, 1]

  // "fpr<=0.05" or "max_f1"; ParseThresholdRule(ToString()) gives the rule back.
  std::string ToString() const;
  // "max_recall_at_fpr" or "max_f1".
  std::string_view ObjectiveName() const;
};

// Accepts (case-insensitive, spaces ignored): "fpr<=0.05", "max_recall_at_fpr" (max_fpr 0.05),
// "max_recall_at_fpr:0.02", "max_recall_at_fpr<=0.02", "f1", "max_f1". InvalidArgument
// otherwise, or when the FPR bound is not within [0, 1].
absl::StatusOr<ThresholdRule> ParseThresholdRule(std::string_view text);

struct ThresholdChoice {
  // Flag when score >= threshold. The threshold is one of the input scores, except when no
  // threshold flags anything within the rule: then it is the next double above the highest
  // score, which flags nothing (recall 0).
  double threshold = 0;
  double recall = 0;
  double fpr = 0;
  double precision = 0;
  double f1 = 0;
  ConfusionMatrix confusion;  // on the data the threshold was chosen on
};

// Exact: sorts once and sweeps every distinct score as a candidate threshold. Among equal
// objective values, the highest threshold (fewest alerts) wins. Needs both classes.
absl::StatusOr<ThresholdChoice> ChooseThreshold(ScoreView scores, std::span<const int8_t> labels,
                                                const ThresholdRule& rule = {});

// A point of a curve: ROC (x = fpr, y = tpr) or precision-recall (x = recall, y = precision).
struct CurvePoint {
  double x = 0;
  double y = 0;
};

inline constexpr size_t kMaxCurvePoints = 500;

// ROC curve from (0, 0) to (1, 1), one point per distinct threshold (as sklearn.metrics.
// roc_curve), collinear points dropped, then downsampled to at most max_points (>= 3) by
// largest-triangle-three-buckets (first and last points kept). Needs both classes.
absl::StatusOr<std::vector<CurvePoint>> RocCurve(ScoreView scores, std::span<const int8_t> labels,
                                                 size_t max_points = kMaxCurvePoints);
// Precision-recall curve by increasing recall, one point per distinct threshold, starting at
// (0, precision of the highest threshold) and ending at (1, positive rate); downsampled as
// above. Needs a positive.
absl::StatusOr<std::vector<CurvePoint>> PrCurve(ScoreView scores, std::span<const int8_t> labels,
                                                size_t max_points = kMaxCurvePoints);

// Score counts per class in `bins` equal bins over [lo, hi] = [0, 1], widened to the lowest
// and highest score when scores fall outside. Bin i holds lo + i w <= s < lo + (i+1) w; the
// last bin also holds hi.
struct ScoreHistogram {
  double lo = 0;
  double hi = 1;
  std::vector<int64_t> genuine;
  std::vector<int64_t> fraud;
};

absl::StatusOr<ScoreHistogram> ScoreHistograms(ScoreView scores, std::span<const int8_t> labels,
                                               int bins = 50);

inline constexpr int kCardPrecisionK = 100;

// Everything the evaluation report and metrics.json need.
struct EvaluationResult {
  int64_t rows = 0;
  int64_t positives = 0;
  int64_t days = 0;  // distinct days
  double roc_auc = 0;
  double average_precision = 0;
  double card_precision_at_100 = 0;    // = card_precision.mean
  CardPrecisionResult card_precision;  // per day, k = kCardPrecisionK
  double threshold = 0;                // the operating threshold given to Evaluate
  ConfusionMatrix confusion;           // at that threshold (confusion.threshold == threshold)
  std::vector<CurvePoint> roc_curve;
  std::vector<CurvePoint> pr_curve;
  ScoreHistogram histogram;  // 50 bins

  // metrics.json: {"roc_auc", "average_precision", "card_precision_at_100", "precision",
  // "recall", "f1", "fpr", "threshold", "confusion": {"tp", "fp", "tn", "fn"}, "rows",
  // "positives", "days"}, in this order. Curves and histograms are left out.
  nlohmann::ordered_json ToJson() const;
};

// Computes every metric above on one data set (sorting by score once). Needs both classes.
absl::StatusOr<EvaluationResult> Evaluate(ScoreView scores, std::span<const int8_t> labels,
                                          std::span<const int64_t> customer_ids,
                                          std::span<const int64_t> days, double threshold);

}  // namespace fraud
