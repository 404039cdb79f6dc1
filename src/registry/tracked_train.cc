#include "registry/tracked_train.h"

#include <filesystem>

#include "core/status.h"
#include "core/time.h"

namespace fraud {

std::vector<Metric> EvaluationMetrics(const EvaluationResult& r, const std::string& prefix) {
  return {{prefix + "roc_auc", r.roc_auc},
          {prefix + "average_precision", r.average_precision},
          {prefix + "card_precision_at_100", r.card_precision_at_100},
          {prefix + "precision", r.confusion.precision},
          {prefix + "recall", r.confusion.recall},
          {prefix + "f1", r.confusion.f1},
          {prefix + "fpr", r.confusion.fpr},
          {prefix + "rows", static_cast<double>(r.rows)},
          {prefix + "frauds", static_cast<double>(r.positives)}};
}

absl::StatusOr<TrackedTrainResult> TrainTracked(Store& store, const TrackedTrainOptions& options) {
  if (!options.register_as.empty()) RETURN_IF_ERROR(ValidateModelName(options.register_as));
  Tracking tracking(store);
  // The data path is recorded absolute, so that promote and retrain find it from anywhere.
  TrainOptions train = options.train;
  std::error_code ec;
  if (train.data_path != "-") train.data_path = std::filesystem::absolute(train.data_path, ec).string();
  std::map<std::string, std::string> tags = options.tags;
  tags["fraudstream.command"] = "train";
  tags["fraudstream.data"] = train.data_path;
  TrackedTrainResult out;
  ASSIGN_OR_RETURN(out.run, tracking.CreateRun(options.experiment, options.run_name, tags));
  const std::string& run_id = out.run.run_id;

  const auto work = [&]() -> absl::Status {
    std::map<std::string, std::string> params = DefaultParams(train.kind);
    for (const auto& [k, v] : train.params) params[k] = v;
    params["model"] = train.kind == ModelKind::kGbdt ? "gbdt" : "rf";
    params["feature_set"] = train.feature_set;
    params["threshold_rule"] = train.threshold_rule;
    params["data"] = train.data_path;
    params["train_days"] = std::to_string(train.train_days);
    params["delay_days"] = std::to_string(train.delay_days);
    params["test_days"] = std::to_string(train.test_days);
    ASSIGN_OR_RETURN(out.train, Train(train));
    params["train_start"] = FormatDate(out.train.split.train_start_day * kSecondsPerDay);
    RETURN_IF_ERROR(tracking.LogParams(run_id, params));
    std::vector<Metric> metrics = EvaluationMetrics(out.train.test, "test_");
    if (out.train.validation) {
      for (Metric& m : EvaluationMetrics(*out.train.validation, "validation_")) {
        metrics.push_back(std::move(m));
      }
    }
    metrics.push_back({"threshold", out.train.threshold});
    metrics.push_back({"train_rows", static_cast<double>(out.train.train_rows)});
    metrics.push_back({"train_frauds", static_cast<double>(out.train.train_frauds)});
    metrics.push_back({"seconds_features", out.train.seconds_features});
    metrics.push_back({"seconds_training", out.train.seconds_training});
    metrics.push_back({"seconds_total", out.train.seconds_total});
    RETURN_IF_ERROR(tracking.LogMetrics(run_id, metrics));
    RETURN_IF_ERROR(tracking.SetTags(run_id, {{"data_fingerprint", out.train.data_fingerprint},
                                              {"threshold_chosen_on", out.train.threshold_source}}));
    ASSIGN_OR_RETURN(out.artifact_path, tracking.LogArtifactDir(run_id, train.out_dir, "model"));
    if (!options.register_as.empty()) {
      ASSIGN_OR_RETURN(out.version, ModelRegistry(store).CreateVersion(
                                        options.register_as, {.run_id = run_id}));
    }
    return absl::OkStatus();
  };
  const absl::Status status = work();
  if (!status.ok()) {
    // Best effort: the run says it failed and why; the training error is what the caller sees.
    (void)tracking.SetTags(run_id, {{"error", std::string(status.message())}});
    (void)tracking.EndRun(run_id, RunStatus::kFailed);
    return status;
  }
  RETURN_IF_ERROR(tracking.EndRun(run_id, RunStatus::kFinished));
  out.run.status = RunStatusName(RunStatus::kFinished);
  return out;
}

}  // namespace fraud
