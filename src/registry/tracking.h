#pragma once

// Experiment tracking with MLflow's semantics: experiments hold runs; a run has params
// (write-once key/value), metrics (key, value, step, timestamp; every logged value kept),
// tags (overwritable), a status (RUNNING → FINISHED | FAILED | KILLED), start and end time,
// and an artifact directory under the store's artifact root.
//
//   Tracking tracking(*store);
//   ASSIGN_OR_RETURN(RunInfo run, tracking.CreateRun("fraud-training", "train gbdt"));
//   RETURN_IF_ERROR(tracking.LogParams(run.run_id, {{"model", "gbdt"}}));
//   RETURN_IF_ERROR(tracking.LogMetrics(run.run_id, {{"roc_auc", 0.87}}));
//   RETURN_IF_ERROR(tracking.LogArtifactDir(run.run_id, "models/m1", "model"));
//   RETURN_IF_ERROR(tracking.EndRun(run.run_id, RunStatus::kFinished));
//
// Every call is one transaction. Errors: kNotFound for an unknown run or experiment (the
// message names it), kInvalidArgument for a param logged again with another value.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "registry/store.h"

namespace fraud {

inline constexpr char kDefaultExperiment[] = "Default";

enum class RunStatus { kRunning, kFinished, kFailed, kKilled };
std::string_view RunStatusName(RunStatus status);

struct Experiment {
  int64_t experiment_id = 0;
  std::string name;
  std::string artifact_location;
  int64_t creation_time = 0;
};

struct Metric {
  std::string key;
  double value = 0;
  int64_t step = 0;
  int64_t timestamp = 0;  // ms; 0: now
};

struct RunInfo {
  std::string run_id;
  int64_t experiment_id = 0;
  std::string experiment_name;
  std::string name;
  std::string status;
  int64_t start_time = 0;
  std::optional<int64_t> end_time;
  std::string artifact_uri;
};

struct Run {
  RunInfo info;
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> tags;
  std::vector<Metric> metric_history;     // every logged value, by key then step
  std::map<std::string, double> metrics;  // latest value per key (highest step, then time)

  nlohmann::ordered_json ToJson() const;
};

class Tracking {
 public:
  explicit Tracking(Store& store) : store_(store) {}

  // The experiment of that name, created when missing.
  absl::StatusOr<Experiment> GetOrCreateExperiment(const std::string& name);
  absl::StatusOr<std::vector<Experiment>> ListExperiments();

  absl::StatusOr<RunInfo> CreateRun(const std::string& experiment, const std::string& run_name,
                                    const std::map<std::string, std::string>& tags = {});
  absl::Status LogParams(const std::string& run_id,
                         const std::map<std::string, std::string>& params);
  absl::Status LogMetrics(const std::string& run_id, const std::vector<Metric>& metrics);
  absl::Status SetTags(const std::string& run_id, const std::map<std::string, std::string>& tags);
  // Copies the local directory `dir` to <run artifacts>/<artifact_path>; returns its path.
  absl::StatusOr<std::string> LogArtifactDir(const std::string& run_id, const std::string& dir,
                                             const std::string& artifact_path);
  absl::Status EndRun(const std::string& run_id, RunStatus status);

  // `run_id` may be a unique prefix of an id (at least 4 characters).
  absl::StatusOr<Run> GetRun(const std::string& run_id);
  // Newest first; `experiment` empty: every experiment; `limit` 0: all.
  absl::StatusOr<std::vector<Run>> ListRuns(const std::string& experiment, int limit);

 private:
  absl::StatusOr<RunInfo> Info(Sql& sql, const std::string& run_id);
  Store& store_;
};

}  // namespace fraud
