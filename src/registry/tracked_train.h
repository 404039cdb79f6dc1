#pragma once

// `train` with tracking: one run per training (params, metrics, the training data
// fingerprint, the model artifact), optionally registered as a new version of a model.
//
//   TrackedTrainOptions options;
//   options.train.data_path = "clean.csv";
//   options.train.out_dir = "models/m1";
//   options.register_as = "fraud-detector";
//   ASSIGN_OR_RETURN(TrackedTrainResult result, TrainTracked(*store, options));
//
// The run is RUNNING while the model trains and ends FINISHED, or FAILED (with an "error"
// tag) when training fails, in which case the training error is returned. The artifact is
// copied to <run artifacts>/model before the run is marked FINISHED.

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "model/trainer.h"
#include "registry/model_registry.h"
#include "registry/store.h"
#include "registry/tracking.h"

namespace fraud {

struct TrackedTrainOptions {
  TrainOptions train;
  std::string experiment = kDefaultExperiment;
  std::string run_name;
  std::string register_as;  // empty: do not register
  std::map<std::string, std::string> tags;
};

struct TrackedTrainResult {
  TrainResult train;
  RunInfo run;
  std::string artifact_path;  // the run's copy of the model
  std::optional<ModelVersion> version;
};

absl::StatusOr<TrackedTrainResult> TrainTracked(Store& store, const TrackedTrainOptions& options);

// The metrics of an evaluation as tracking metrics named <prefix>roc_auc, ...
std::vector<Metric> EvaluationMetrics(const EvaluationResult& result, const std::string& prefix);

}  // namespace fraud
