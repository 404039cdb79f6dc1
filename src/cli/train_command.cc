// fraudstream train --data FILE --out MODEL_DIR [split flags] [--model gbdt|rf] [--param k=v]...
//   [--registry URI] [--experiment NAME] [--register NAME]

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/registry_common.h"
#include "core/status.h"
#include "model/trainer.h"
#include "registry/tracked_train.h"
#include "nlohmann/json.hpp"

namespace fraud::cli {
namespace {

struct TrainFlags {
  TrackedTrainOptions tracked;
  RegistryFlags registry;
  SplitFlags split;
  std::string kind = "gbdt";
  std::vector<std::string> params;
  bool json = false;
};

absl::Status RunTrain(TrainFlags flags) {
  RETURN_IF_ERROR(ApplyModelFlags(flags.split, flags.kind, flags.params, &flags.tracked.train));
  ASSIGN_OR_RETURN(auto store, flags.registry.Open());
  ASSIGN_OR_RETURN(const TrackedTrainResult logged, TrainTracked(*store, flags.tracked));
  const TrainResult& result = logged.train;
  if (flags.json) {
    nlohmann::ordered_json out;
    out["model_dir"] = flags.tracked.train.out_dir;
    out["run_id"] = logged.run.run_id;
    out["artifact"] = logged.artifact_path;
    if (logged.version) out["registered"] = logged.version->ToJson();
    out["threshold"] = result.threshold;
    out["threshold_chosen_on"] = result.threshold_source;
    out["test"] = result.test.ToJson();
    if (result.validation) out["validation"] = result.validation->ToJson();
    out["seconds"] = {{"features", result.seconds_features},
                      {"training", result.seconds_training},
                      {"total", result.seconds_total}};
    std::puts(out.dump(2).c_str());
    return absl::OkStatus();
  }
  std::printf("trained %s on %lld rows (%lld frauds); model in %s\n", flags.kind.c_str(),
              static_cast<long long>(result.train_rows),
              static_cast<long long>(result.train_frauds), flags.tracked.train.out_dir.c_str());
  std::fputs(MetricsTable(result.test).c_str(), stdout);
  std::printf("  threshold chosen on the %s split (%s); %.2f s (features %.2f s, training %.2f s)\n",
              result.threshold_source.c_str(), flags.tracked.train.threshold_rule.c_str(),
              result.seconds_total, result.seconds_features, result.seconds_training);
  std::printf("  report: %s/report.html\n", flags.tracked.train.out_dir.c_str());
  std::printf("  run %s in experiment %s\n", logged.run.run_id.c_str(),
              logged.run.experiment_name.c_str());
  if (logged.version) {
    std::printf("  registered %s version %lld\n", logged.version->name.c_str(),
                static_cast<long long>(logged.version->version));
  }
  return absl::OkStatus();
}

}  // namespace

void AddTrainCommand(CLI::App& app, Action* action) {
  auto flags = std::make_shared<TrainFlags>();
  CLI::App* cmd = app.add_subcommand(
      "train",
      "Train a fraud model on a transactions file with the Fraud Detection Handbook's protocol "
      "(train / delay / test days, known compromised customers removed from the test set), "
      "choose the operating threshold on a validation split, and write the model artifact.");
  cmd->add_option("--data", flags->tracked.train.data_path, "transactions file (clean)")->required();
  cmd->add_option("--out,-o", flags->tracked.train.out_dir, "model directory to write")->required();
  flags->split.AddTo(cmd);
  cmd->add_option("--model", flags->kind, "gbdt (boosted trees) or rf (random forest)")
      ->check(CLI::IsMember({"gbdt", "rf"}));
  cmd->add_option("--param", flags->params,
                  "XGBoost parameter key=value over the defaults (repeatable); rounds=N sets "
                  "the boosting rounds, scale_pos_weight=balanced weighs the classes, "
                  "base_score=prior (the default) starts from the training fraud rate");
  cmd->add_option("--feature-set", flags->tracked.train.feature_set,
                  "feature set: handbook-v1 (the 15 handbook inputs), fraudstream-v2, "
                  "fraudstream-v3 or fraudstream-v4 (the default)");
  cmd->add_option("--threshold-rule", flags->tracked.train.threshold_rule,
                  "operating threshold rule: fpr<=0.05 (max recall at that FPR) or f1");
  cmd->add_option("--threads", flags->tracked.train.threads, "training threads (default: all cores)")
      ->check(CLI::Range(0, 256));
  cmd->add_flag("--json", flags->json, "print the result as JSON");
  flags->registry.AddTo(cmd);
  cmd->add_option("--experiment", flags->tracked.experiment,
                  "experiment the run is logged in")
      ->capture_default_str();
  cmd->add_option("--run-name", flags->tracked.run_name, "name of the run (default: its id)");
  cmd->add_option("--register", flags->tracked.register_as,
                  "also register the model as a new version of this registered model");
  cmd->callback([flags, action] { *action = [flags] { return RunTrain(*flags); }; });
}

}  // namespace fraud::cli
