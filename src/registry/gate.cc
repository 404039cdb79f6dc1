#include "registry/gate.h"

#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <random>

#include "core/status.h"
#include "fmt/format.h"

namespace fraud {

nlohmann::ordered_json GateStatistics::ToJson() const {
  return {{"resamples", resamples},
          {"champion_auc_mean", champion_mean},
          {"challenger_auc_mean", challenger_mean},
          {"auc_difference_mean", mean_difference},
          {"confidence", 1 - alpha},
          {"ci_low", ci_low},
          {"ci_high", ci_high},
          {"t_statistic", t_statistic},
          {"p_value", p_value},
          {"alpha", alpha},
          {"challenger_wins", ChallengerWins()}};
}

absl::StatusOr<GateStatistics> PairedBootstrapAuc(ScoreView champion, ScoreView challenger,
                                                  std::span<const int8_t> labels,
                                                  const GateOptions& options) {
  const size_t n = labels.size();
  if (champion.size() != n || challenger.size() != n) {
    return absl::InvalidArgumentError("champion, challenger and labels differ in length");
  }
  if (options.resamples < 2) return absl::InvalidArgumentError("the gate needs 2 or more resamples");
  if (!(options.alpha > 0 && options.alpha < 1)) {
    return absl::InvalidArgumentError("alpha must be in (0, 1)");
  }
  size_t positives = 0;
  for (int8_t label : labels) positives += label == 1;
  if (positives == 0 || positives == n) {
    return absl::InvalidArgumentError(
        "the test set must hold frauds and genuine transactions to compare ROC AUC");
  }
  GateStatistics s;
  s.resamples = options.resamples;
  s.alpha = options.alpha;
  std::mt19937_64 rng(options.seed);
  std::vector<double> a(n), b(n);
  std::vector<int8_t> y(n);
  const int max_draws = options.resamples * 20;
  for (int draw = 0; static_cast<int>(s.champion_auc.size()) < options.resamples; ++draw) {
    if (draw >= max_draws) {
      return absl::FailedPreconditionError(fmt::format(
          "the test set has too few frauds ({} of {}): bootstrap resamples keep missing a class",
          positives, n));
    }
    size_t drawn_positives = 0;
    for (size_t i = 0; i < n; ++i) {
      // Uniform index in [0, n); the modulo bias (n / 2^64) is far below anything measurable.
      const size_t j = static_cast<size_t>(rng() % n);
      a[i] = champion[j];
      b[i] = challenger[j];
      y[i] = labels[j];
      drawn_positives += y[i] == 1;
    }
    if (drawn_positives == 0 || drawn_positives == n) continue;
    ASSIGN_OR_RETURN(const double auc_a, RocAuc(a, y));
    ASSIGN_OR_RETURN(const double auc_b, RocAuc(b, y));
    s.champion_auc.push_back(auc_a);
    s.challenger_auc.push_back(auc_b);
  }
  const double k = s.resamples;
  double sum_a = 0, sum_b = 0, sum_d = 0;
  for (int i = 0; i < s.resamples; ++i) {
    sum_a += s.champion_auc[i];
    sum_b += s.challenger_auc[i];
    sum_d += s.challenger_auc[i] - s.champion_auc[i];
  }
  s.champion_mean = sum_a / k;
  s.challenger_mean = sum_b / k;
  s.mean_difference = sum_d / k;
  double squares = 0;
  for (int i = 0; i < s.resamples; ++i) {
    const double d = s.challenger_auc[i] - s.champion_auc[i] - s.mean_difference;
    squares += d * d;
  }
  const double se = std::sqrt(squares / (k - 1)) / std::sqrt(k);
  const boost::math::students_t t_dist(k - 1);
  if (se > 0) {
    s.t_statistic = s.mean_difference / se;
    s.p_value = 2 * boost::math::cdf(boost::math::complement(t_dist, std::fabs(s.t_statistic)));
    const double q = boost::math::quantile(boost::math::complement(t_dist, options.alpha / 2));
    s.ci_low = s.mean_difference - q * se;
    s.ci_high = s.mean_difference + q * se;
  } else {
    // Every resample gives the same difference: no spread, so the sign alone decides.
    s.t_statistic = 0;
    s.p_value = s.mean_difference != 0 ? 0.0 : 1.0;
    s.ci_low = s.ci_high = s.mean_difference;
  }
  return s;
}

}  // namespace fraud
