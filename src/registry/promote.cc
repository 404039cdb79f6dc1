#include "registry/promote.h"

#include <filesystem>

#include "core/status.h"
#include "core/time.h"
#include "data/parallel_chunks.h"
#include "features/batch.h"
#include "fmt/format.h"
#include "model/artifact.h"
#include "model/evaluation.h"
#include "model/scorer.h"
#include "registry/model_registry.h"

namespace fraud {
namespace {

// The split a model was trained with, from its manifest.
absl::StatusOr<SplitDays> TrainingSplitOf(const ModelArtifact& model) {
  try {
    const auto& split = model.manifest.at("training").at("split");
    const auto start = ParseDate(split.at("train_start").get<std::string>());
    if (!start) return absl::DataLossError(model.dir + ": the manifest's train_start is not a date");
    return SplitDays{.train_start_day = DayIndex(*start),
                     .train_days = split.at("train_days").get<int>(),
                     .delay_days = split.at("delay_days").get<int>(),
                     .test_days = split.at("test_days").get<int>()};
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(fmt::format("{}: the manifest has no usable split: {}", model.dir,
                                           e.what()));
  }
}

absl::StatusOr<std::vector<float>> ScoreRows(const ModelArtifact& model,
                                             std::span<const Transaction> txs,
                                             std::span<const int64_t> rows) {
  ASSIGN_OR_RETURN(const FeatureMatrix matrix,
                   ComputeFeatures(txs, model.features, {.threads = DefaultThreads()}));
  ASSIGN_OR_RETURN(auto scorer, Scorer::Create(model));
  return scorer->Score(GatherRows(matrix, rows), rows.size());
}

absl::StatusOr<ModelArtifact> LoadVersion(const ModelVersion& v) {
  auto artifact = ModelArtifact::Load(v.path);
  if (!artifact.ok()) {
    return absl::Status(artifact.status().code(), fmt::format("{} version {}: {}", v.name,
                                                              v.version,
                                                              std::string(artifact.status().message())));
  }
  return artifact;
}

// Scores both versions on the same test set and compares them.
absl::StatusOr<GateStatistics> RunGate(const ModelArtifact& champion_model,
                                       const ModelArtifact& challenger,
                                       const PromoteOptions& options, PromoteResult* result) {
  ASSIGN_OR_RETURN(const std::vector<Transaction> txs, ReadHistory(result->data_path));
  ASSIGN_OR_RETURN(const SplitRows rows, MakeHandbookSplit(txs, *result->split));
  ASSIGN_OR_RETURN(const std::vector<float> champion_scores, ScoreRows(champion_model, txs, rows.test));
  ASSIGN_OR_RETURN(const std::vector<float> challenger_scores, ScoreRows(challenger, txs, rows.test));
  std::vector<int8_t> labels;
  labels.reserve(rows.test.size());
  for (int64_t r : rows.test) {
    if (txs[r].tx_fraud == kAbsentLabel) {
      return absl::FailedPreconditionError(fmt::format(
          "{}: transaction {} has no tx_fraud label; the gate needs labels", result->data_path,
          txs[r].transaction_id.value()));
    }
    labels.push_back(txs[r].tx_fraud);
  }
  return PairedBootstrapAuc(champion_scores, challenger_scores, labels, options.gate);
}

absl::Status LogDecision(Tracking& tracking, const PromoteResult& r, const PromoteOptions& o) {
  std::map<std::string, std::string> params = {
      {"model", o.model},
      {"alias", o.alias},
      {"challenger_version", std::to_string(r.challenger)},
      {"champion_version", r.champion ? std::to_string(*r.champion) : "none"},
      {"resamples", std::to_string(o.gate.resamples)},
      {"seed", std::to_string(o.gate.seed)},
      {"alpha", fmt::format("{}", o.gate.alpha)},
      {"forced", o.force ? "true" : "false"}};
  if (!r.data_path.empty()) params["data"] = r.data_path;
  if (r.split) {
    params["test_start"] = FormatDate(r.split->test_start_day() * kSecondsPerDay);
    params["test_days"] = std::to_string(r.split->test_days);
  }
  RETURN_IF_ERROR(tracking.LogParams(r.run.run_id, params));
  if (r.stats) {
    const GateStatistics& s = *r.stats;
    std::vector<Metric> metrics = {{"champion_auc_mean", s.champion_mean},
                                   {"challenger_auc_mean", s.challenger_mean},
                                   {"auc_difference_mean", s.mean_difference},
                                   {"auc_difference_ci_low", s.ci_low},
                                   {"auc_difference_ci_high", s.ci_high},
                                   {"t_statistic", s.t_statistic},
                                   {"p_value", s.p_value}};
    for (int i = 0; i < s.resamples; ++i) {
      metrics.push_back({"champion_auc", s.champion_auc[i], i});
      metrics.push_back({"challenger_auc", s.challenger_auc[i], i});
    }
    RETURN_IF_ERROR(tracking.LogMetrics(r.run.run_id, metrics));
  }
  std::map<std::string, std::string> tags = {{"decision", r.decision},
                                             {"reason", r.reason},
                                             {"forced", r.forced ? "true" : "false"}};
  if (!r.gate_error.empty()) tags["gate_error"] = r.gate_error;
  return tracking.SetTags(r.run.run_id, tags);
}

}  // namespace

nlohmann::ordered_json PromoteResult::ToJson() const {
  nlohmann::ordered_json out;
  out["decision"] = decision;
  out["promoted"] = promoted;
  out["forced"] = forced;
  out["reason"] = reason;
  out["challenger_version"] = challenger;
  out["champion_version"] = champion ? nlohmann::ordered_json(*champion) : nullptr;
  out["gate"] = stats ? stats->ToJson() : nlohmann::ordered_json(nullptr);
  if (!gate_error.empty()) out["gate_error"] = gate_error;
  out["data"] = data_path;
  out["run_id"] = run.run_id;
  return out;
}

absl::StatusOr<PromoteResult> Promote(Store& store, const PromoteOptions& options) {
  ModelRegistry registry(store);
  RETURN_IF_ERROR(ValidateAlias(options.alias));
  // Everything that can be refused is checked before anything is written.
  ASSIGN_OR_RETURN(const ModelVersion challenger, registry.GetVersion(options.model, options.challenger));
  ASSIGN_OR_RETURN(const ModelArtifact challenger_model, LoadVersion(challenger));
  ASSIGN_OR_RETURN(const std::optional<int64_t> champion,
                   registry.AliasVersion(options.model, options.alias));
  PromoteResult result;
  result.challenger = options.challenger;
  result.champion = champion;
  result.forced = options.force;
  const bool compare = champion && *champion != options.challenger;
  // The champion's artifact and the test data, so that a bad one is refused before anything
  // is written (with --force, the gate's failure is recorded instead).
  absl::StatusOr<ModelArtifact> champion_model = absl::UnknownError("no champion");
  if (compare) {
    ASSIGN_OR_RETURN(const ModelVersion champion_version,
                     registry.GetVersion(options.model, *champion));
    champion_model = LoadVersion(champion_version);
    result.data_path = options.data_path;
    if (result.data_path.empty()) {
      result.data_path = challenger_model.manifest.value("training", nlohmann::ordered_json())
                             .value("data", std::string());
    }
    result.split = options.split;
    absl::Status ready = champion_model.status();
    if (ready.ok() && result.data_path.empty()) {
      ready = absl::InvalidArgumentError("no test data: pass --data (the challenger's manifest names none)");
    }
    if (ready.ok() && !std::filesystem::exists(result.data_path)) {
      ready = absl::NotFoundError(fmt::format("test data {} does not exist: pass --data", result.data_path));
    }
    if (ready.ok() && !result.split) {
      auto split = TrainingSplitOf(challenger_model);
      if (split.ok()) result.split = *split;
      ready = split.status();
    }
    if (!ready.ok()) {
      if (!options.force) return ready;
      result.gate_error = std::string(ready.message());
    }
  }

  Tracking tracking(store);
  ASSIGN_OR_RETURN(result.run,
                   tracking.CreateRun(options.experiment,
                                      fmt::format("promote {} v{} to @{}", options.model,
                                                  options.challenger, options.alias),
                                      {{"fraudstream.command", "promote"}}));
  const auto work = [&]() -> absl::Status {
    if (champion && *champion == options.challenger) {
      result.decision = "unchanged";
      result.reason = fmt::format("version {} is already @{}", options.challenger, options.alias);
      return absl::OkStatus();
    }
    if (compare && result.gate_error.empty()) {
      auto stats = RunGate(*champion_model, challenger_model, options, &result);
      if (!stats.ok()) {
        if (!options.force) return stats.status();
        result.gate_error = std::string(stats.status().message());
      } else {
        result.stats = *stats;
      }
    }
    if (!champion) {
      result.promoted = true;
      result.reason = fmt::format("no champion: @{} was not set", options.alias);
    } else if (result.stats && result.stats->ChallengerWins()) {
      result.promoted = true;
      result.reason = fmt::format("challenger better: mean ROC AUC {:+.5f}, p = {:.3g} < {}",
                                  result.stats->mean_difference, result.stats->p_value,
                                  options.gate.alpha);
    } else if (result.stats) {
      result.reason = result.stats->mean_difference <= 0
                          ? fmt::format("challenger not better: mean ROC AUC {:+.5f}",
                                        result.stats->mean_difference)
                          : fmt::format("difference not significant: p = {:.3g} >= {}",
                                        result.stats->p_value, options.gate.alpha);
    }
    if (options.force && !result.promoted) {
      result.promoted = true;
      result.reason = "forced" + (result.reason.empty() ? "" : " (gate: " + result.reason + ")") +
                      (result.gate_error.empty() ? "" : " (gate error: " + result.gate_error + ")");
    }
    result.decision = result.promoted ? "promoted" : "rejected";
    if (result.promoted) {
      RETURN_IF_ERROR(registry.SetAlias(options.model, options.alias, options.challenger,
                                        champion.value_or(0)));
    }
    return absl::OkStatus();
  };
  absl::Status status = work();
  if (status.ok()) status = LogDecision(tracking, result, options);
  if (!status.ok()) {
    (void)tracking.SetTags(result.run.run_id, {{"error", std::string(status.message())},
                                               {"decision", "error"}});
    (void)tracking.EndRun(result.run.run_id, RunStatus::kFailed);
    return status;
  }
  RETURN_IF_ERROR(tracking.EndRun(result.run.run_id, RunStatus::kFinished));
  return result;
}

}  // namespace fraud
