#pragma once

// What the registry subcommands (train, runs, models, promote, retrain) share: the
// --registry / --artifact-root flags and plain-text tables.

#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "cli/common.h"
#include "model/trainer.h"
#include "registry/live_model.h"
#include "registry/promote.h"
#include "registry/store.h"

namespace fraud::cli {

struct RegistryFlags {
  std::string uri;
  std::string artifact_root;

  void AddTo(CLI::App* cmd);
  absl::StatusOr<std::unique_ptr<Store>> Open() const;
};

// The model of a scoring command (stream, serve): a model directory, or a registry reference
// (NAME@ALIAS, NAME/latest followed; NAME/VERSION pinned) on its own connection.
absl::StatusOr<std::shared_ptr<LiveModel>> OpenLiveModel(const std::string& model,
                                                         const RegistryFlags& registry,
                                                         int64_t refresh_ms);

// --track [--experiment NAME] and the registry flags: the commands that can log what they
// measure as a run of the tracking store (monitor, capacity).
struct TrackFlags {
  bool track = false;
  std::string experiment;
  RegistryFlags registry;

  // `what`: the help text of --track.
  void AddTo(CLI::App* cmd, const std::string& what, const std::string& default_experiment);
};

// Sets the split, model kind and XGBoost params (key=value) of `options` from the flags
// `train` and `retrain` share.
absl::Status ApplyModelFlags(const SplitFlags& split, const std::string& kind,
                             const std::vector<std::string>& params, TrainOptions* options);

// The gate's figures as printed by promote and retrain (several lines).
std::string GateSummary(const PromoteResult& result, uint64_t seed);

// Columns padded to their widest cell, two spaces apart, header first.
std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows);

// A double with 4 decimals, or "-" when absent.
std::string FormatMetric(const std::map<std::string, double>& metrics, const std::string& key);

}  // namespace fraud::cli
