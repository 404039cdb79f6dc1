#pragma once

// The validation gate's statistics (DESIGN §6): the same bootstrap resamples of one test set
// are scored by champion and challenger; ROC AUC of each on each resample; a paired Student t
// test on the per-resample differences (challenger − champion).
//
//   ASSIGN_OR_RETURN(GateStatistics s, PairedBootstrapAuc(champion_scores, challenger_scores,
//                                                         labels, {.resamples = 100, .seed = 0}));
//   bool better = s.ChallengerWins(0.05);
//
// Deterministic for a seed (std::mt19937_64, whose output the standard fixes). A resample
// holding one class only has no ROC AUC and is drawn again. Pure function, thread-safe.
// Errors: kInvalidArgument for arrays of different lengths, fewer than 2 resamples or a test
// set without both classes; kFailedPrecondition when resamples keep missing a class.

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "model/metrics.h"
#include "nlohmann/json.hpp"

namespace fraud {

struct GateOptions {
  int resamples = 100;
  uint64_t seed = 0;
  double alpha = 0.05;  // significance level; the confidence interval is 1 − alpha
};

struct GateStatistics {
  int resamples = 0;
  double champion_mean = 0;    // mean ROC AUC over the resamples
  double challenger_mean = 0;
  double mean_difference = 0;  // challenger − champion
  double ci_low = 0;           // (1 − alpha) t interval of the mean difference
  double ci_high = 0;
  double t_statistic = 0;
  double p_value = 1;          // two-sided
  double alpha = 0.05;
  std::vector<double> champion_auc;  // per resample
  std::vector<double> challenger_auc;

  // The gate's rule: the challenger's mean is higher and p < alpha.
  bool ChallengerWins() const { return mean_difference > 0 && p_value < alpha; }
  nlohmann::ordered_json ToJson() const;
};

absl::StatusOr<GateStatistics> PairedBootstrapAuc(ScoreView champion, ScoreView challenger,
                                                  std::span<const int8_t> labels,
                                                  const GateOptions& options);

}  // namespace fraud
