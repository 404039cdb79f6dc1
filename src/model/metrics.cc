#include "model/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_set>
#include <utility>

#include "core/check.h"
#include "core/status.h"

namespace fraud {
namespace {

// All transactions sharing one score, as counts per class. The groups of a data set, sorted by
// decreasing score, are the distinct thresholds every curve and rank metric sweeps.
struct TieGroup {
  double score = 0;
  int64_t positives = 0;
  int64_t negatives = 0;
};

struct ScoreGroups {
  std::vector<TieGroup> groups;  // by decreasing score
  int64_t positives = 0;
  int64_t negatives = 0;
};

absl::Status ValidateScoresAndLabels(std::string_view what, ScoreView scores,
                                     std::span<const int8_t> labels) {
  if (scores.size() != labels.size()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: {} scores but {} labels", what, scores.size(), labels.size()));
  }
  if (scores.size() == 0) {
    return absl::InvalidArgumentError(fmt::format("{}: no rows", what));
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1) {
      return absl::InvalidArgumentError(fmt::format(
          "{}: label {} at row {} is not 0 (genuine) or 1 (fraud)", what, labels[i], i));
    }
    if (!std::isfinite(scores[i])) {
      return absl::InvalidArgumentError(
          fmt::format("{}: score at row {} is not finite ({})", what, i, scores[i]));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateCardInputs(std::string_view what, size_t rows,
                                std::span<const int64_t> customer_ids,
                                std::span<const int64_t> days) {
  if (customer_ids.size() != rows || days.size() != rows) {
    return absl::InvalidArgumentError(fmt::format("{}: {} scores but {} customer ids and {} days",
                                                  what, rows, customer_ids.size(), days.size()));
  }
  return absl::OkStatus();
}

absl::Status RequireBothClasses(std::string_view what, const ScoreGroups& sorted) {
  if (sorted.positives == 0 || sorted.negatives == 0) {
    return absl::InvalidArgumentError(
        fmt::format("{} is undefined with only one class: {} frauds and {} genuine transactions",
                    what, sorted.positives, sorted.negatives));
  }
  return absl::OkStatus();
}

// Expects validated input.
ScoreGroups GroupByScore(ScoreView scores, std::span<const int8_t> labels) {
  std::vector<std::pair<double, int8_t>> rows(scores.size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = {scores[i], labels[i]};
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  ScoreGroups out;
  for (const auto& [score, label] : rows) {
    if (out.groups.empty() || out.groups.back().score != score) out.groups.push_back({score});
    TieGroup& group = out.groups.back();
    if (label != 0) {
      ++group.positives;
      ++out.positives;
    } else {
      ++group.negatives;
      ++out.negatives;
    }
  }
  return out;
}

// Mann–Whitney U: a positive ranked above a negative counts 1, a tie 1/2.
double AucFromGroups(const ScoreGroups& sorted) {
  long double twice_u = 0;
  int64_t negatives_above = 0;
  for (const TieGroup& group : sorted.groups) {
    const int64_t negatives_below = sorted.negatives - negatives_above - group.negatives;
    twice_u += 2.0L * group.positives * negatives_below +
               static_cast<long double>(group.positives) * group.negatives;
    negatives_above += group.negatives;
  }
  return static_cast<double>(twice_u / (2.0L * sorted.positives * sorted.negatives));
}

double AveragePrecisionFromGroups(const ScoreGroups& sorted) {
  double sum = 0;
  double previous_recall = 0;
  int64_t tp = 0;
  int64_t fp = 0;
  for (const TieGroup& group : sorted.groups) {
    tp += group.positives;
    fp += group.negatives;
    const double recall = static_cast<double>(tp) / sorted.positives;
    const double precision = static_cast<double>(tp) / (tp + fp);
    sum += (recall - previous_recall) * precision;
    previous_recall = recall;
  }
  return sum;
}

double TriangleArea(const CurvePoint& a, const CurvePoint& b, const CurvePoint& c) {
  return std::abs((a.x - c.x) * (b.y - a.y) - (a.x - b.x) * (c.y - a.y)) * 0.5;
}

// Largest-triangle-three-buckets (Steinarsson 2013): keeps the first and last points and, from
// each of max_points - 2 buckets of consecutive points, the one spanning the largest triangle
// with the previously kept point and the mean of the next bucket.
std::vector<CurvePoint> Downsample(std::vector<CurvePoint> points, size_t max_points) {
  max_points = std::max<size_t>(max_points, 3);
  if (points.size() <= max_points) return points;
  const size_t n = points.size();
  const double bucket = static_cast<double>(n - 2) / static_cast<double>(max_points - 2);
  std::vector<CurvePoint> out;
  out.reserve(max_points);
  out.push_back(points.front());
  size_t kept = 0;
  for (size_t b = 0; b < max_points - 2; ++b) {
    const size_t begin = static_cast<size_t>(std::floor(b * bucket)) + 1;
    const size_t end = std::min(static_cast<size_t>(std::floor((b + 1) * bucket)) + 1, n - 1);
    const size_t next_begin = end;
    const size_t next_end = std::min(static_cast<size_t>(std::floor((b + 2) * bucket)) + 1, n);
    CurvePoint mean;
    for (size_t i = next_begin; i < next_end; ++i) {
      mean.x += points[i].x;
      mean.y += points[i].y;
    }
    const double count = static_cast<double>(std::max<size_t>(next_end - next_begin, 1));
    mean.x /= count;
    mean.y /= count;
    size_t best = begin;
    double best_area = -1;
    for (size_t i = begin; i < end; ++i) {
      const double area = TriangleArea(points[kept], points[i], mean);
      if (area > best_area) {
        best_area = area;
        best = i;
      }
    }
    out.push_back(points[best]);
    kept = best;
  }
  out.push_back(points.back());
  return out;
}

std::vector<CurvePoint> RocFromGroups(const ScoreGroups& sorted, size_t max_points) {
  // Cumulative counts (fp, tp) per threshold; a point on the segment between its kept
  // predecessor and its successor adds nothing (exact test on integers).
  std::vector<std::pair<int64_t, int64_t>> counts;
  counts.reserve(sorted.groups.size() + 1);
  counts.push_back({0, 0});
  for (const TieGroup& group : sorted.groups) {
    counts.push_back(
        {counts.back().first + group.negatives, counts.back().second + group.positives});
  }
  std::vector<std::pair<int64_t, int64_t>> kept;
  kept.reserve(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) {
    if (kept.size() >= 1 && i + 1 < counts.size()) {
      const auto& a = kept.back();
      const auto& b = counts[i];
      const auto& c = counts[i + 1];
      const long double cross =
          static_cast<long double>(b.first - a.first) * (c.second - a.second) -
          static_cast<long double>(b.second - a.second) * (c.first - a.first);
      if (cross == 0) continue;
    }
    kept.push_back(counts[i]);
  }
  std::vector<CurvePoint> points;
  points.reserve(kept.size());
  for (const auto& [fp, tp] : kept) {
    points.push_back(
        {static_cast<double>(fp) / sorted.negatives, static_cast<double>(tp) / sorted.positives});
  }
  return Downsample(std::move(points), max_points);
}

std::vector<CurvePoint> PrFromGroups(const ScoreGroups& sorted, size_t max_points) {
  std::vector<CurvePoint> points;
  points.reserve(sorted.groups.size() + 1);
  int64_t tp = 0;
  int64_t fp = 0;
  for (const TieGroup& group : sorted.groups) {
    tp += group.positives;
    fp += group.negatives;
    const CurvePoint point{static_cast<double>(tp) / sorted.positives,
                           static_cast<double>(tp) / (tp + fp)};
    if (points.empty()) points.push_back({0, point.y});
    points.push_back(point);
  }
  return Downsample(std::move(points), max_points);
}

ScoreHistogram HistogramOf(ScoreView scores, std::span<const int8_t> labels, int bins) {
  ScoreHistogram out;
  for (size_t i = 0; i < scores.size(); ++i) {
    out.lo = std::min(out.lo, scores[i]);
    out.hi = std::max(out.hi, scores[i]);
  }
  out.genuine.assign(bins, 0);
  out.fraud.assign(bins, 0);
  const double scale = bins / (out.hi - out.lo);
  for (size_t i = 0; i < scores.size(); ++i) {
    const double position = (scores[i] - out.lo) * scale;
    if (!(position >= 0)) continue;  // NaN
    const int bin = std::min(static_cast<int>(position), bins - 1);
    ++(labels[i] != 0 ? out.fraud : out.genuine)[bin];
  }
  return out;
}

struct DayRow {
  int64_t day;
  int64_t customer;
  double score;
  int8_t label;
};

struct CustomerOfDay {
  int64_t customer;
  double max_score;
  int8_t max_label;
};

CardPrecisionResult CardPrecisionOf(ScoreView scores, std::span<const int8_t> labels,
                                    std::span<const int64_t> customer_ids,
                                    std::span<const int64_t> days, int k) {
  std::vector<DayRow> rows(scores.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i] = {days[i], customer_ids[i], scores[i], labels[i]};
  }
  std::sort(rows.begin(), rows.end(), [](const DayRow& a, const DayRow& b) {
    return a.day != b.day ? a.day < b.day : a.customer < b.customer;
  });
  CardPrecisionResult out;
  out.k = k;
  std::unordered_set<int64_t> detected;
  std::vector<CustomerOfDay> customers;
  size_t begin = 0;
  while (begin < rows.size()) {
    const int64_t day = rows[begin].day;
    customers.clear();
    size_t end = begin;
    for (; end < rows.size() && rows[end].day == day; ++end) {
      const DayRow& row = rows[end];
      if (detected.contains(row.customer)) continue;
      if (customers.empty() || customers.back().customer != row.customer) {
        customers.push_back({row.customer, row.score, row.label});
      } else {
        CustomerOfDay& customer = customers.back();
        customer.max_score = std::max(customer.max_score, row.score);
        customer.max_label = std::max(customer.max_label, row.label);
      }
    }
    int64_t compromised = 0;
    for (const CustomerOfDay& customer : customers) compromised += customer.max_label != 0;
    const size_t top = std::min(customers.size(), static_cast<size_t>(k));
    std::partial_sort(customers.begin(), customers.begin() + top, customers.end(),
                      [](const CustomerOfDay& a, const CustomerOfDay& b) {
                        return a.max_score != b.max_score ? a.max_score > b.max_score
                                                          : a.customer < b.customer;
                      });
    int64_t frauds = 0;
    for (size_t i = 0; i < top; ++i) {
      if (customers[i].max_label == 0) continue;
      ++frauds;
      detected.insert(customers[i].customer);
    }
    out.days.push_back(day);
    out.per_day.push_back(static_cast<double>(frauds) / k);
    out.compromised_per_day.push_back(compromised);
    begin = end;
  }
  double sum = 0;
  for (double value : out.per_day) sum += value;
  out.mean = out.per_day.empty() ? 0 : sum / out.per_day.size();
  return out;
}

double Ratio(int64_t numerator, int64_t denominator) {
  return denominator == 0 ? 0 : static_cast<double>(numerator) / denominator;
}

ThresholdChoice ChoiceOf(double threshold, int64_t tp, int64_t fp, const ScoreGroups& sorted) {
  ThresholdChoice choice;
  choice.threshold = threshold;
  choice.confusion =
      MakeConfusionMatrix(threshold, tp, fp, sorted.negatives - fp, sorted.positives - tp);
  choice.recall = choice.confusion.recall;
  choice.fpr = choice.confusion.fpr;
  choice.precision = choice.confusion.precision;
  choice.f1 = choice.confusion.f1;
  return choice;
}

}  // namespace

absl::StatusOr<double> RocAuc(ScoreView scores, std::span<const int8_t> labels) {
  RETURN_IF_ERROR(ValidateScoresAndLabels("ROC AUC", scores, labels));
  const ScoreGroups sorted = GroupByScore(scores, labels);
  RETURN_IF_ERROR(RequireBothClasses("ROC AUC", sorted));
  return AucFromGroups(sorted);
}

absl::StatusOr<double> AveragePrecision(ScoreView scores, std::span<const int8_t> labels) {
  RETURN_IF_ERROR(ValidateScoresAndLabels("average precision", scores, labels));
  const ScoreGroups sorted = GroupByScore(scores, labels);
  if (sorted.positives == 0) {
    return absl::InvalidArgumentError("average precision is undefined without any fraud");
  }
  return AveragePrecisionFromGroups(sorted);
}

absl::StatusOr<CardPrecisionResult> CardPrecisionAtK(ScoreView scores,
                                                     std::span<const int8_t> labels,
                                                     std::span<const int64_t> customer_ids,
                                                     std::span<const int64_t> days, int k) {
  RETURN_IF_ERROR(ValidateScoresAndLabels("card precision", scores, labels));
  RETURN_IF_ERROR(ValidateCardInputs("card precision", scores.size(), customer_ids, days));
  if (k <= 0) {
    return absl::InvalidArgumentError(fmt::format("card precision: k must be positive, not {}", k));
  }
  return CardPrecisionOf(scores, labels, customer_ids, days, k);
}

ConfusionMatrix MakeConfusionMatrix(double threshold, int64_t tp, int64_t fp, int64_t tn,
                                    int64_t fn) {
  ConfusionMatrix m;
  m.threshold = threshold;
  m.tp = tp;
  m.fp = fp;
  m.tn = tn;
  m.fn = fn;
  m.precision = Ratio(tp, tp + fp);
  m.recall = Ratio(tp, tp + fn);
  m.fpr = Ratio(fp, fp + tn);
  // 2 P R / (P + R) = 2 tp / (2 tp + fp + fn), and 0 when tp = 0.
  m.f1 = Ratio(2 * tp, 2 * tp + fp + fn);
  return m;
}

ConfusionMatrix AtThreshold(ScoreView scores, std::span<const int8_t> labels, double threshold) {
  FRAUD_CHECK_EQ(scores.size(), labels.size());
  int64_t tp = 0;
  int64_t fp = 0;
  int64_t tn = 0;
  int64_t fn = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    const bool flagged = scores[i] >= threshold;
    if (labels[i] != 0) {
      (flagged ? tp : fn) += 1;
    } else {
      (flagged ? fp : tn) += 1;
    }
  }
  return MakeConfusionMatrix(threshold, tp, fp, tn, fn);
}

absl::StatusOr<ThresholdRule> ParseThresholdRule(std::string_view text) {
  std::string compact;
  for (char c : text) {
    if (c == ' ' || c == '\t') continue;
    compact.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  const auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        fmt::format("threshold rule '{}': {}; expected 'fpr<=0.05', 'max_recall_at_fpr', "
                    "'max_recall_at_fpr:0.05', 'f1' or 'max_f1'",
                    text, why));
  };
  ThresholdRule rule;
  if (compact == "f1" || compact == "max_f1") {
    rule.objective = ThresholdObjective::kMaxF1;
    return rule;
  }
  if (compact == "max_recall_at_fpr") return rule;
  std::string_view number;
  for (std::string_view prefix : {"max_recall_at_fpr:", "max_recall_at_fpr<=", "fpr<="}) {
    if (compact.starts_with(prefix)) {
      number = std::string_view(compact).substr(prefix.size());
      break;
    }
  }
  if (number.data() == nullptr) return invalid("unknown rule");
  double max_fpr = 0;
  const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), max_fpr);
  if (error != std::errc() || end != number.data() + number.size() || number.empty()) {
    return invalid(fmt::format("'{}' is not a number", number));
  }
  if (!(max_fpr >= 0 && max_fpr <= 1)) {
    return invalid(fmt::format("the FPR bound {} is not within [0, 1]", max_fpr));
  }
  rule.max_fpr = max_fpr;
  return rule;
}

std::string ThresholdRule::ToString() const {
  if (objective == ThresholdObjective::kMaxF1) return "max_f1";
  return fmt::format("fpr<={}", max_fpr);
}

std::string_view ThresholdRule::ObjectiveName() const {
  return objective == ThresholdObjective::kMaxF1 ? "max_f1" : "max_recall_at_fpr";
}

absl::StatusOr<ThresholdChoice> ChooseThreshold(ScoreView scores, std::span<const int8_t> labels,
                                                const ThresholdRule& rule) {
  RETURN_IF_ERROR(ValidateScoresAndLabels("threshold choice", scores, labels));
  const ScoreGroups sorted = GroupByScore(scores, labels);
  RETURN_IF_ERROR(RequireBothClasses("choosing a threshold", sorted));
  // Candidate 0 flags nothing; candidate i flags the first i tie groups (score >= theirs).
  const double above_all =
      std::nextafter(sorted.groups.front().score, std::numeric_limits<double>::infinity());
  double best_threshold = above_all;
  int64_t best_tp = 0;
  int64_t best_fp = 0;
  int64_t tp = 0;
  int64_t fp = 0;
  for (const TieGroup& group : sorted.groups) {
    tp += group.positives;
    fp += group.negatives;
    bool better = false;
    if (rule.objective == ThresholdObjective::kMaxRecallAtFpr) {
      better = Ratio(fp, sorted.negatives) <= rule.max_fpr && tp > best_tp;
    } else {
      // f1 = 2 tp / (2 tp + fp + fn) = 2 tp / (tp + fp + P); compare the fractions exactly.
      better = static_cast<long double>(tp) * (best_tp + best_fp + sorted.positives) >
               static_cast<long double>(best_tp) * (tp + fp + sorted.positives);
    }
    if (better) {
      best_threshold = group.score;
      best_tp = tp;
      best_fp = fp;
    }
  }
  return ChoiceOf(best_threshold, best_tp, best_fp, sorted);
}

absl::StatusOr<std::vector<CurvePoint>> RocCurve(ScoreView scores, std::span<const int8_t> labels,
                                                 size_t max_points) {
  RETURN_IF_ERROR(ValidateScoresAndLabels("ROC curve", scores, labels));
  const ScoreGroups sorted = GroupByScore(scores, labels);
  RETURN_IF_ERROR(RequireBothClasses("the ROC curve", sorted));
  return RocFromGroups(sorted, max_points);
}

absl::StatusOr<std::vector<CurvePoint>> PrCurve(ScoreView scores, std::span<const int8_t> labels,
                                                size_t max_points) {
  RETURN_IF_ERROR(ValidateScoresAndLabels("precision-recall curve", scores, labels));
  const ScoreGroups sorted = GroupByScore(scores, labels);
  if (sorted.positives == 0) {
    return absl::InvalidArgumentError("the precision-recall curve is undefined without any fraud");
  }
  return PrFromGroups(sorted, max_points);
}

absl::StatusOr<ScoreHistogram> ScoreHistograms(ScoreView scores, std::span<const int8_t> labels,
                                               int bins) {
  RETURN_IF_ERROR(ValidateScoresAndLabels("score histogram", scores, labels));
  if (bins <= 0) {
    return absl::InvalidArgumentError(
        fmt::format("score histogram: bins must be positive, not {}", bins));
  }
  return HistogramOf(scores, labels, bins);
}

nlohmann::ordered_json EvaluationResult::ToJson() const {
  nlohmann::ordered_json json;
  json["roc_auc"] = roc_auc;
  json["average_precision"] = average_precision;
  json["card_precision_at_100"] = card_precision_at_100;
  json["precision"] = confusion.precision;
  json["recall"] = confusion.recall;
  json["f1"] = confusion.f1;
  json["fpr"] = confusion.fpr;
  json["threshold"] = threshold;
  json["confusion"] = {
      {"tp", confusion.tp}, {"fp", confusion.fp}, {"tn", confusion.tn}, {"fn", confusion.fn}};
  json["rows"] = rows;
  json["positives"] = positives;
  json["days"] = days;
  return json;
}

absl::StatusOr<EvaluationResult> Evaluate(ScoreView scores, std::span<const int8_t> labels,
                                          std::span<const int64_t> customer_ids,
                                          std::span<const int64_t> days, double threshold) {
  RETURN_IF_ERROR(ValidateScoresAndLabels("evaluation", scores, labels));
  RETURN_IF_ERROR(ValidateCardInputs("evaluation", scores.size(), customer_ids, days));
  if (std::isnan(threshold)) return absl::InvalidArgumentError("evaluation: threshold is NaN");
  const ScoreGroups sorted = GroupByScore(scores, labels);
  RETURN_IF_ERROR(RequireBothClasses("the evaluation (ROC AUC)", sorted));
  EvaluationResult result;
  result.rows = static_cast<int64_t>(scores.size());
  result.positives = sorted.positives;
  result.roc_auc = AucFromGroups(sorted);
  result.average_precision = AveragePrecisionFromGroups(sorted);
  result.card_precision = CardPrecisionOf(scores, labels, customer_ids, days, kCardPrecisionK);
  result.card_precision_at_100 = result.card_precision.mean;
  result.days = static_cast<int64_t>(result.card_precision.days.size());
  result.threshold = threshold;
  result.confusion = AtThreshold(scores, labels, threshold);
  result.roc_curve = RocFromGroups(sorted, kMaxCurvePoints);
  result.pr_curve = PrFromGroups(sorted, kMaxCurvePoints);
  result.histogram = HistogramOf(scores, labels, 50);
  return result;
}

}  // namespace fraud
