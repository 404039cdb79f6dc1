#include "registry/gate.h"

#include <gtest/gtest.h>

#include <random>

namespace fraud {
namespace {

// 2,000 rows, 5% fraud; scores with a given separation (higher = better model).
struct Data {
  std::vector<int8_t> labels;
  std::vector<double> weak, strong, strong_too;
};

Data MakeData() {
  Data d;
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 1);
  for (int i = 0; i < 2000; ++i) {
    const int8_t y = i % 20 == 0;
    d.labels.push_back(y);
    const double e = noise(rng);
    d.weak.push_back(0.4 * y + e);
    d.strong.push_back(1.5 * y + e);
    d.strong_too.push_back(1.5 * y + e + 1e-3 * noise(rng));
  }
  return d;
}

TEST(Gate, ABetterChallengerWins) {
  const Data d = MakeData();
  auto s = PairedBootstrapAuc(d.weak, d.strong, d.labels, {.resamples = 100, .seed = 1});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->resamples, 100);
  EXPECT_EQ(s->champion_auc.size(), 100u);
  EXPECT_GT(s->challenger_mean, s->champion_mean);
  EXPECT_LT(s->p_value, 1e-6);
  EXPECT_GT(s->ci_low, 0);
  EXPECT_LT(s->ci_low, s->mean_difference);
  EXPECT_GT(s->ci_high, s->mean_difference);
  EXPECT_TRUE(s->ChallengerWins());
}

TEST(Gate, AWorseChallengerLoses) {
  const Data d = MakeData();
  auto s = PairedBootstrapAuc(d.strong, d.weak, d.labels, {.resamples = 50, .seed = 1});
  ASSERT_TRUE(s.ok());
  EXPECT_LT(s->mean_difference, 0);
  EXPECT_FALSE(s->ChallengerWins());
}

TEST(Gate, AnEqualChallengerLoses) {
  const Data d = MakeData();
  auto same = PairedBootstrapAuc(d.strong, d.strong, d.labels, {.resamples = 30, .seed = 1});
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->mean_difference, 0);
  EXPECT_EQ(same->p_value, 1);
  EXPECT_FALSE(same->ChallengerWins());
  // Tiny noise: the difference is not significant (or not positive).
  auto close = PairedBootstrapAuc(d.strong, d.strong_too, d.labels, {.resamples = 100, .seed = 3});
  ASSERT_TRUE(close.ok());
  EXPECT_LT(std::abs(close->mean_difference), 1e-3);
}

TEST(Gate, IsDeterministicForASeed) {
  const Data d = MakeData();
  auto a = PairedBootstrapAuc(d.weak, d.strong, d.labels, {.resamples = 20, .seed = 5});
  auto b = PairedBootstrapAuc(d.weak, d.strong, d.labels, {.resamples = 20, .seed = 5});
  auto c = PairedBootstrapAuc(d.weak, d.strong, d.labels, {.resamples = 20, .seed = 6});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->challenger_auc, b->challenger_auc);
  EXPECT_EQ(a->p_value, b->p_value);
  EXPECT_NE(a->challenger_auc, c->challenger_auc);
}

TEST(Gate, TStatisticMatchesAHandComputedExample) {
  // Two rows per class so every resample's AUC is in {0, 0.5, 1}; check the t-test itself
  // against the formula on the per-resample values it reports.
  const Data d = MakeData();
  auto s = PairedBootstrapAuc(d.weak, d.strong, d.labels, {.resamples = 10, .seed = 2});
  ASSERT_TRUE(s.ok());
  double mean = 0;
  for (int i = 0; i < 10; ++i) mean += s->challenger_auc[i] - s->champion_auc[i];
  mean /= 10;
  double ss = 0;
  for (int i = 0; i < 10; ++i) {
    const double e = s->challenger_auc[i] - s->champion_auc[i] - mean;
    ss += e * e;
  }
  const double t = mean / (std::sqrt(ss / 9) / std::sqrt(10.0));
  EXPECT_NEAR(s->t_statistic, t, 1e-9);
  // t = 2.262 is the two-sided 5% point for 9 degrees of freedom.
  EXPECT_NEAR(s->ci_high - s->mean_difference, 2.2621571628 * std::sqrt(ss / 9) / std::sqrt(10.0),
              1e-8);
}

TEST(Gate, RefusesBadInput) {
  const std::vector<double> scores = {0.1, 0.2, 0.3};
  const std::vector<int8_t> one_class = {0, 0, 0};
  const std::vector<int8_t> labels = {0, 1, 0};
  EXPECT_EQ(PairedBootstrapAuc(scores, scores, one_class, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PairedBootstrapAuc(scores, std::vector<double>{0.1}, labels, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PairedBootstrapAuc(scores, scores, labels, {.resamples = 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fraud
