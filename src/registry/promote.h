#pragma once

// `fraudstream promote`: moves an alias (e.g. @Production) to a challenger version through
// the validation gate (registry/gate.h), and logs the decision as a run.
//
//   PromoteOptions options;
//   options.model = "fraud-detector";
//   options.challenger = 3;
//   ASSIGN_OR_RETURN(PromoteResult r, Promote(*store, options));   // r.promoted, r.stats
//
// The champion is the version the alias points at. Both are scored on the same test set:
// the test days of `split` (default: the challenger's own training split) of `data_path`
// (default: the challenger's training data), features computed per model from the whole
// file's history. Decision:
// - no champion: promoted (nothing to compare with);
// - champion == challenger: nothing to do;
// - otherwise promoted only if the challenger's mean ROC AUC is higher with p < alpha.
// `force` promotes whatever the gate says (and when the gate cannot run, e.g. the champion's
// artifact is corrupt); the run records forced=true and the gate's figures or error.
// The alias moves with a compare-and-set against the champion the gate compared with: if
// another process moved it meanwhile, kAborted and the alias is left as that process set it.
// The run (experiment "promotions" by default) holds params (model, alias, versions, data,
// resamples, seed), metrics (both mean AUCs, difference, CI, t, p, per-resample AUCs as
// steps) and tags (decision, reason, forced). Errors: kNotFound for an unknown model or
// version, kDataLoss / kFailedPrecondition for an artifact that does not load; nothing moves.

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "model/split.h"
#include "registry/gate.h"
#include "registry/store.h"
#include "registry/tracking.h"

namespace fraud {

inline constexpr char kPromotionExperiment[] = "promotions";

struct PromoteOptions {
  std::string model;
  int64_t challenger = 0;
  std::string alias = "Production";
  std::string data_path;           // empty: the challenger's training data
  std::optional<SplitDays> split;  // empty: the challenger's training split
  GateOptions gate;
  bool force = false;
  std::string experiment = kPromotionExperiment;
};

struct PromoteResult {
  bool promoted = false;
  bool forced = false;
  std::string decision;  // "promoted", "rejected" or "unchanged"
  std::string reason;
  std::optional<int64_t> champion;
  int64_t challenger = 0;
  std::optional<GateStatistics> stats;
  std::string gate_error;  // with force only: why the gate could not run
  std::string data_path;
  std::optional<SplitDays> split;
  RunInfo run;

  nlohmann::ordered_json ToJson() const;
};

absl::StatusOr<PromoteResult> Promote(Store& store, const PromoteOptions& options);

}  // namespace fraud
