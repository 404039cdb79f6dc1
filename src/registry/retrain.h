#pragma once

// `fraudstream retrain`: scheduled retraining (DESIGN §6).
//
//   RetrainOptions options;
//   options.data_dir = "incoming/";
//   ASSIGN_OR_RETURN(RetrainResult r, RetrainOnce(*store, options));
//   std::puts(r.message.c_str());
//
// One cycle:
// 1. list the data files of data_dir (regular files, sorted by name; hidden files, *.tmp and
//    faults.jsonl sidecars are skipped) and fingerprint each one's bytes (FNV-1a 64);
// 2. if every fingerprint is already recorded as trained on (table data_files), do nothing
//    and say so — a cycle without new data changes nothing;
// 3. clean every file (data/cleaner.h; cached per fingerprint under work_dir/clean, with the
//    quarantine and quality report beside it) and join them into one training file;
// 4. train on the latest split that fits the data (or the given --train-start), with a run
//    in `experiment` and the model registered as the next version of `model`;
// 5. record the files as trained on (so a failed promotion does not retrain the same data);
// 6. promote the new version to `alias` through the validation gate on the same file and
//    split (registry/promote.h): promoted if there is no champion or it wins.
// Two retrains of the same store at once may both train (each registers its own version);
// the alias still only moves through the gate's compare-and-set.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "registry/promote.h"
#include "registry/store.h"
#include "registry/tracked_train.h"

namespace fraud {

struct RetrainOptions {
  std::string data_dir;
  std::string model = "fraud-detector";
  std::string alias = "Production";
  std::string experiment = "retrain";
  std::string work_dir;  // empty: <artifact root>/retrain
  TrainOptions train;    // kind, params, feature set, split shape; data and out are set here
  GateOptions gate;
};

struct DataFile {
  std::string path;
  std::string fingerprint;
  uint64_t bytes = 0;
};

struct RetrainResult {
  bool trained = false;
  std::string message;  // one line saying what happened
  std::vector<DataFile> files;
  std::vector<DataFile> new_files;
  std::optional<TrackedTrainResult> train;
  std::optional<PromoteResult> promote;
};

absl::StatusOr<RetrainResult> RetrainOnce(Store& store, const RetrainOptions& options);

// The data files of a directory with their fingerprints (step 1).
absl::StatusOr<std::vector<DataFile>> ListDataFiles(const std::string& dir);

// "90s", "60m", "2h", "1d" → seconds. kInvalidArgument otherwise.
absl::StatusOr<int64_t> ParseInterval(const std::string& text);

}  // namespace fraud
