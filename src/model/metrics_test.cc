#include "model/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

namespace fraud {
namespace {

using Labels = std::vector<int8_t>;
using Ids = std::vector<int64_t>;

// A 40-row fixture with many ties (scores rounded to one decimal). Generated once with numpy
// (default_rng(7)); the expected values below come from Debian's scikit-learn 1.2.1:
//   /usr/bin/python3 -c "from sklearn.metrics import roc_auc_score, average_precision_score;
//                        print(roc_auc_score(y, s), average_precision_score(y, s))"
const Labels kTiedLabels = {0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0,
                            1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1};
const std::vector<double> kTiedScores = {0.2, 0.6, 0.4, 0.9, 0.4, 0.5, 0.4, 0.4, 0.4, 0.6,
                                         0.3, 0.7, 0.3, 0.3, 0.2, 0.1, 0.6, 0.3, 0.7, 0.4,
                                         0.7, 0.7, 0.5, 0.4, 0.6, 0.2, 0.3, 0.1, 0.7, 0.2,
                                         0.5, 0.5, 0.9, 0.8, 0.1, 0.9, 0.7, 0.9, 0.4, 0.4};

TEST(RocAuc, HandComputed) {
  // Positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of 4 pairs ordered.
  EXPECT_DOUBLE_EQ(*RocAuc(std::vector<double>{0.1, 0.4, 0.35, 0.8}, Labels{0, 0, 1, 1}), 0.75);
  // Float scores give the same answer.
  EXPECT_DOUBLE_EQ(*RocAuc(std::vector<float>{0.1f, 0.4f, 0.35f, 0.8f}, Labels{0, 0, 1, 1}), 0.75);
}

TEST(RocAuc, TiesCountOneHalf) {
  // Positives {0.5, 0.9, 0.1}, negatives {0.5, 0.2, 0.5, 0.9}: 0.5 beats 0.2 and ties twice
  // (2), 0.9 beats three and ties once (3.5), 0.1 beats none: 5.5 / 12. sklearn agrees.
  const std::vector<double> scores = {0.5, 0.5, 0.2, 0.9, 0.5, 0.1, 0.9};
  const Labels labels = {1, 0, 0, 1, 0, 1, 0};
  EXPECT_NEAR(*RocAuc(scores, labels), 0.45833333333333337, 1e-15);
  EXPECT_NEAR(*RocAuc(kTiedScores, kTiedLabels), 0.8090659340659341, 1e-15);
  // All scores equal: 0.5.
  EXPECT_DOUBLE_EQ(*RocAuc(std::vector<double>{0.3, 0.3, 0.3}, Labels{0, 1, 0}), 0.5);
}

TEST(RocAuc, MatchesPairCountOnRandomData) {
  std::mt19937_64 rng(42);
  std::vector<double> scores(2000);
  Labels labels(2000);
  for (size_t i = 0; i < scores.size(); ++i) {
    labels[i] = rng() % 7 == 0;
    scores[i] = static_cast<double>(rng() % 50 + labels[i] * 10) / 60.0;  // many ties
  }
  double pairs = 0;
  int64_t positives = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (labels[i] == 0) continue;
    ++positives;
    for (size_t j = 0; j < scores.size(); ++j) {
      if (labels[j] != 0) continue;
      pairs += scores[i] > scores[j] ? 1.0 : scores[i] == scores[j] ? 0.5 : 0.0;
    }
  }
  const double negatives = static_cast<double>(scores.size() - positives);
  EXPECT_NEAR(*RocAuc(scores, labels), pairs / (positives * negatives), 1e-12);
}

TEST(RocAuc, RejectsOneClassAndBadInput) {
  const auto one_class = RocAuc(std::vector<double>{0.1, 0.2}, Labels{0, 0});
  ASSERT_FALSE(one_class.ok());
  EXPECT_EQ(one_class.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(one_class.status().message().find("one class"), std::string_view::npos);
  EXPECT_FALSE(RocAuc(std::vector<double>{0.1, 0.2}, Labels{1, 1}).ok());
  EXPECT_FALSE(RocAuc(std::vector<double>{}, Labels{}).ok());
  EXPECT_FALSE(RocAuc(std::vector<double>{0.1, 0.2}, Labels{0}).ok());
  EXPECT_FALSE(RocAuc(std::vector<double>{0.1, 0.2}, Labels{0, 2}).ok());
  EXPECT_FALSE(RocAuc(std::vector<double>{0.1, std::nan("")}, Labels{0, 1}).ok());
}

TEST(AveragePrecision, MatchesSklearn) {
  // Hand: thresholds 0.8 (R 1/2, P 1), 0.4 (R 1/2), 0.35 (R 1, P 2/3): 1/2 + 1/2 * 2/3 = 5/6.
  EXPECT_NEAR(*AveragePrecision(std::vector<double>{0.1, 0.4, 0.35, 0.8}, Labels{0, 0, 1, 1}),
              5.0 / 6.0, 1e-15);
  // Ties form one threshold: 0.9 (R 1/3, P 1/2), 0.5 (R 2/3, P 2/5), 0.1 (R 1, P 3/7).
  EXPECT_NEAR(*AveragePrecision(std::vector<double>{0.5, 0.5, 0.2, 0.9, 0.5, 0.1, 0.9},
                                Labels{1, 0, 0, 1, 0, 1, 0}),
              0.44285714285714284, 1e-15);
  EXPECT_NEAR(*AveragePrecision(kTiedScores, kTiedLabels), 0.7232309670279595, 1e-15);
  // No negatives: precision 1 everywhere.
  EXPECT_DOUBLE_EQ(*AveragePrecision(std::vector<double>{0.2, 0.7}, Labels{1, 1}), 1.0);
}

TEST(AveragePrecision, RejectsNoPositive) {
  const auto ap = AveragePrecision(std::vector<double>{0.1, 0.9}, Labels{0, 0});
  ASSERT_FALSE(ap.ok());
  EXPECT_EQ(ap.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CardPrecision, RemovesCustomersDetectedOnEarlierDays) {
  // k = 2. Day 0: customers 1 (0.9, fraud), 2 (0.8), 3 (0.7, fraud), 4 (0.1): top 2 = {1, 2}
  // -> 1/2; customer 1 is detected (3 is not: it was outside the top 2).
  // Day 1: 1 (0.95, fraud) is removed; 3 (0.6, fraud) and 5 (0.6) tie, broken by customer id;
  // top 2 = {3, 5} -> 1/2; 3 is detected. Without the removal, it would be {1, 3} -> 1.
  // Day 3: 3 (0.99, fraud) is removed; only 7 (0.5) remains -> 0 / 2.
  struct Row {
    int64_t day;
    int64_t customer;
    double score;
    int8_t label;
  };
  const std::vector<Row> rows = {
      {1, 5, 0.6, 0}, {0, 1, 0.9, 1}, {0, 2, 0.8, 0},  {3, 3, 0.99, 1},
      {0, 3, 0.7, 1}, {0, 1, 0.2, 0}, {1, 1, 0.95, 1}, {0, 4, 0.1, 0},
      {1, 3, 0.6, 1}, {1, 2, 0.3, 0}, {3, 7, 0.5, 0},  {1, 3, 0.1, 0},
  };
  std::vector<double> scores;
  Labels labels;
  Ids customers;
  Ids days;
  for (const Row& row : rows) {
    scores.push_back(row.score);
    labels.push_back(row.label);
    customers.push_back(row.customer);
    days.push_back(row.day);
  }
  const auto result = CardPrecisionAtK(scores, labels, customers, days, 2);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->k, 2);
  EXPECT_EQ(result->days, (Ids{0, 1, 3}));
  EXPECT_EQ(result->per_day, (std::vector<double>{0.5, 0.5, 0.0}));
  EXPECT_EQ(result->compromised_per_day, (Ids{2, 1, 0}));
  EXPECT_DOUBLE_EQ(result->mean, 1.0 / 3.0);

  // Dividing by k even when fewer customers remain: one fraudulent customer, k = 100.
  const auto single = CardPrecisionAtK(std::vector<double>{0.5}, Labels{1}, Ids{9}, Ids{0});
  ASSERT_TRUE(single.ok());
  EXPECT_DOUBLE_EQ(single->mean, 0.01);

  EXPECT_FALSE(CardPrecisionAtK(scores, labels, customers, Ids{0}, 2).ok());
  EXPECT_FALSE(CardPrecisionAtK(scores, labels, customers, days, 0).ok());
}

TEST(AtThreshold, CountsAndRates) {
  const std::vector<double> scores = {0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05};
  const Labels labels = {1, 1, 0, 1, 0, 0, 1, 0, 0, 0};
  const ConfusionMatrix m = AtThreshold(scores, labels, 0.6);  // score >= 0.6 flagged
  EXPECT_EQ(m.tp, 3);
  EXPECT_EQ(m.fp, 1);
  EXPECT_EQ(m.tn, 5);
  EXPECT_EQ(m.fn, 1);
  EXPECT_DOUBLE_EQ(m.precision, 0.75);
  EXPECT_DOUBLE_EQ(m.recall, 0.75);
  EXPECT_DOUBLE_EQ(m.f1, 0.75);
  EXPECT_DOUBLE_EQ(m.fpr, 1.0 / 6.0);
  // Nothing flagged: precision 0/0 = 0, f1 = 0.
  const ConfusionMatrix none = AtThreshold(scores, labels, 2.0);
  EXPECT_EQ(none.tp + none.fp, 0);
  EXPECT_EQ(none.precision, 0);
  EXPECT_EQ(none.f1, 0);
  EXPECT_EQ(none.recall, 0);
}

TEST(ChooseThreshold, MaxRecallWithinFprBound) {
  // N = 6, P = 4. Descending: 0.9 tp, 0.8 tp, 0.7 fp, 0.6 tp (fpr 1/6), 0.5 fp (fpr 2/6) ...
  const std::vector<double> scores = {0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05};
  const Labels labels = {1, 1, 0, 1, 0, 0, 1, 0, 0, 0};
  ThresholdRule rule;
  rule.max_fpr = 0.2;
  auto choice = ChooseThreshold(scores, labels, rule);
  ASSERT_TRUE(choice.ok()) << choice.status();
  EXPECT_DOUBLE_EQ(choice->threshold, 0.6);
  EXPECT_DOUBLE_EQ(choice->recall, 0.75);
  EXPECT_DOUBLE_EQ(choice->fpr, 1.0 / 6.0);
  EXPECT_DOUBLE_EQ(choice->precision, 0.75);
  // FPR exactly at the bound is allowed: 2/6 <= 1/3 reaches 0.5 (fp 2), recall still 3/4, so
  // the higher threshold 0.6 with the same recall wins.
  rule.max_fpr = 1.0 / 3.0;
  EXPECT_DOUBLE_EQ(ChooseThreshold(scores, labels, rule)->threshold, 0.6);
  rule.max_fpr = 0.5;  // fp 3 at 0.3, recall 1
  EXPECT_DOUBLE_EQ(ChooseThreshold(scores, labels, rule)->threshold, 0.3);
  rule.max_fpr = 0;  // no false positive at all: 0.8, recall 1/2
  choice = ChooseThreshold(scores, labels, rule);
  EXPECT_DOUBLE_EQ(choice->threshold, 0.8);
  EXPECT_DOUBLE_EQ(choice->recall, 0.5);
  EXPECT_EQ(choice->confusion.fp, 0);
  // The choice reproduces itself through AtThreshold.
  const ConfusionMatrix again = AtThreshold(scores, labels, choice->threshold);
  EXPECT_EQ(again.tp, choice->confusion.tp);
  EXPECT_EQ(again.fp, choice->confusion.fp);
}

TEST(ChooseThreshold, NothingWithinBoundFlagsNothing) {
  const std::vector<double> scores = {0.9, 0.5, 0.1};
  const Labels labels = {0, 1, 0};
  const auto choice = ChooseThreshold(scores, labels, ThresholdRule{});
  ASSERT_TRUE(choice.ok());
  EXPECT_GT(choice->threshold, 0.9);
  EXPECT_EQ(choice->recall, 0);
  EXPECT_EQ(choice->fpr, 0);
  EXPECT_EQ(AtThreshold(scores, labels, choice->threshold).fp, 0);
}

TEST(ChooseThreshold, MaxF1) {
  // F1 per threshold: 0.9 2/5, 0.8 2/3, 0.7 4/7, 0.6 3/4, 0.5 2/3, 0.4 3/5, 0.3 8/11, ...
  const std::vector<double> scores = {0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05};
  const Labels labels = {1, 1, 0, 1, 0, 0, 1, 0, 0, 0};
  const auto choice = ChooseThreshold(scores, labels, *ParseThresholdRule("f1"));
  ASSERT_TRUE(choice.ok());
  EXPECT_DOUBLE_EQ(choice->threshold, 0.6);
  EXPECT_DOUBLE_EQ(choice->f1, 0.75);
}

TEST(ChooseThreshold, MatchesBruteForce) {
  std::mt19937_64 rng(3);
  std::vector<float> scores(3000);
  Labels labels(3000);
  for (size_t i = 0; i < scores.size(); ++i) {
    labels[i] = rng() % 10 == 0;
    scores[i] = static_cast<float>(rng() % 200 + labels[i] * 60) / 260.0f;
  }
  for (const char* text : {"fpr<=0.05", "fpr<=0.01", "fpr<=0.3", "max_f1"}) {
    const ThresholdRule rule = *ParseThresholdRule(text);
    const auto choice = ChooseThreshold(scores, labels, rule);
    ASSERT_TRUE(choice.ok()) << text;
    double best_threshold = 0;
    double best_value = -1;
    for (float candidate : std::set<float, std::greater<>>(scores.begin(), scores.end())) {
      const ConfusionMatrix m = AtThreshold(scores, labels, candidate);
      const bool kMaxF1 = rule.objective == ThresholdObjective::kMaxF1;
      if (!kMaxF1 && m.fpr > rule.max_fpr) continue;
      const double value = kMaxF1 ? m.f1 : m.recall;
      if (value > best_value + 1e-12) {
        best_value = value;
        best_threshold = candidate;
      }
    }
    EXPECT_DOUBLE_EQ(choice->threshold, best_threshold) << text;
  }
}

TEST(ThresholdRule, Parse) {
  EXPECT_EQ(ParseThresholdRule("fpr<=0.05")->objective, ThresholdObjective::kMaxRecallAtFpr);
  EXPECT_DOUBLE_EQ(ParseThresholdRule("FPR <= 0.02")->max_fpr, 0.02);
  EXPECT_DOUBLE_EQ(ParseThresholdRule("max_recall_at_fpr")->max_fpr, 0.05);
  EXPECT_DOUBLE_EQ(ParseThresholdRule("max_recall_at_fpr:0.1")->max_fpr, 0.1);
  EXPECT_EQ(ParseThresholdRule("max_f1")->objective, ThresholdObjective::kMaxF1);
  EXPECT_EQ(ParseThresholdRule("f1")->ObjectiveName(), "max_f1");
  EXPECT_EQ(ParseThresholdRule("fpr<=0.05")->ToString(), "fpr<=0.05");
  EXPECT_EQ(ParseThresholdRule(ParseThresholdRule("f1")->ToString())->objective,
            ThresholdObjective::kMaxF1);
  for (const char* bad : {"", "fpr<=", "fpr<=x", "fpr<=1.5", "fpr<=-0.1", "fpr<0.05", "auc"}) {
    EXPECT_EQ(ParseThresholdRule(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(Curves, RocMatchesSklearnPoints) {
  // sklearn.metrics.roc_curve on the tied fixture gives these (fpr, tpr) points, plus (0, 4/14)
  // and (23/26, 1), which lie on straight segments between their neighbours and are dropped.
  const auto roc = RocCurve(kTiedScores, kTiedLabels);
  ASSERT_TRUE(roc.ok());
  const std::vector<std::pair<double, double>> expected = {{0, 0},
                                                           {0, 5.0 / 14},
                                                           {3.0 / 26, 8.0 / 14},
                                                           {9.0 / 26, 10.0 / 14},
                                                           {15.0 / 26, 13.0 / 14},
                                                           {19.0 / 26, 1},
                                                           {1, 1}};
  ASSERT_EQ(roc->size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_DOUBLE_EQ((*roc)[i].x, expected[i].first) << i;
    EXPECT_DOUBLE_EQ((*roc)[i].y, expected[i].second) << i;
  }
  const auto pr = PrCurve(kTiedScores, kTiedLabels);
  ASSERT_TRUE(pr.ok());
  EXPECT_EQ(pr->front().x, 0);
  EXPECT_DOUBLE_EQ(pr->front().y, 1.0);  // score 0.9: 4 frauds out of 4
  EXPECT_EQ(pr->back().x, 1);
  EXPECT_DOUBLE_EQ(pr->back().y, 14.0 / 40);
}

TEST(Curves, DownsampledKeepsEndsAndShape) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> noise(0, 1);
  std::vector<double> scores(100000);
  Labels labels(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) {
    labels[i] = rng() % 50 == 0;
    scores[i] = 1 / (1 + std::exp(-(noise(rng) + 2.0 * labels[i])));
  }
  const auto roc = RocCurve(scores, labels);
  ASSERT_TRUE(roc.ok());
  EXPECT_LE(roc->size(), kMaxCurvePoints);
  EXPECT_EQ(roc->front().x, 0);
  EXPECT_EQ(roc->front().y, 0);
  EXPECT_EQ(roc->back().x, 1);
  EXPECT_EQ(roc->back().y, 1);
  double area = 0;
  for (size_t i = 1; i < roc->size(); ++i) {
    EXPECT_GE((*roc)[i].x, (*roc)[i - 1].x);
    EXPECT_GE((*roc)[i].y, (*roc)[i - 1].y);
    area += ((*roc)[i].x - (*roc)[i - 1].x) * ((*roc)[i].y + (*roc)[i - 1].y) / 2;
  }
  EXPECT_NEAR(area, *RocAuc(scores, labels), 2e-3);
  const auto pr = PrCurve(scores, labels, 100);
  ASSERT_TRUE(pr.ok());
  EXPECT_LE(pr->size(), 100u);
  EXPECT_EQ(pr->front().x, 0);
  EXPECT_EQ(pr->back().x, 1);
}

TEST(ScoreHistograms, BinsByClass) {
  const auto histogram = ScoreHistograms(std::vector<double>{0.0, 0.05, 0.1, 0.95, 1.0, 0.5},
                                         Labels{0, 0, 1, 1, 1, 0}, 10);
  ASSERT_TRUE(histogram.ok());
  EXPECT_EQ(histogram->lo, 0);
  EXPECT_EQ(histogram->hi, 1);
  EXPECT_EQ(histogram->genuine, (Ids{2, 0, 0, 0, 0, 1, 0, 0, 0, 0}));
  EXPECT_EQ(histogram->fraud, (Ids{0, 1, 0, 0, 0, 0, 0, 0, 0, 2}));
  // Scores outside [0, 1] widen the range.
  const auto wide = ScoreHistograms(std::vector<double>{-1.0, 3.0}, Labels{0, 1}, 4);
  EXPECT_EQ(wide->lo, -1);
  EXPECT_EQ(wide->hi, 3);
  EXPECT_EQ(wide->fraud, (Ids{0, 0, 0, 1}));
}

TEST(Evaluate, BundlesEverythingAndWritesJson) {
  Ids customers(kTiedScores.size());
  Ids days(kTiedScores.size());
  for (size_t i = 0; i < customers.size(); ++i) {
    customers[i] = static_cast<int64_t>(i % 13);
    days[i] = static_cast<int64_t>(i / 10);
  }
  const auto result = Evaluate(kTiedScores, kTiedLabels, customers, days, 0.7);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows, 40);
  EXPECT_EQ(result->positives, 14);
  EXPECT_EQ(result->days, 4);
  EXPECT_NEAR(result->roc_auc, 0.8090659340659341, 1e-15);
  EXPECT_NEAR(result->average_precision, 0.7232309670279595, 1e-15);
  const auto card = CardPrecisionAtK(kTiedScores, kTiedLabels, customers, days);
  EXPECT_EQ(result->card_precision.per_day, card->per_day);
  EXPECT_EQ(result->confusion.tp, AtThreshold(kTiedScores, kTiedLabels, 0.7).tp);

  const nlohmann::ordered_json json = result->ToJson();
  std::vector<std::string> keys;
  for (const auto& [key, value] : json.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"roc_auc", "average_precision", "card_precision_at_100",
                                            "precision", "recall", "f1", "fpr", "threshold",
                                            "confusion", "rows", "positives", "days"}));
  EXPECT_EQ(json["confusion"]["tp"], result->confusion.tp);
  EXPECT_EQ(json["rows"], 40);
  EXPECT_EQ(json["threshold"], 0.7);

  EXPECT_FALSE(Evaluate(kTiedScores, Labels(40, 0), customers, days, 0.5).ok());
  EXPECT_FALSE(Evaluate(kTiedScores, kTiedLabels, Ids{1}, days, 0.5).ok());
}

}  // namespace
}  // namespace fraud
