// fraudstream train --data FILE --out MODEL_DIR [split flags] [--model gbdt|rf] [--param k=v]...

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/status.h"
#include "model/trainer.h"
#include "nlohmann/json.hpp"

namespace fraud::cli {
namespace {

struct TrainFlags {
  TrainOptions options;
  SplitFlags split;
  std::string kind = "gbdt";
  std::vector<std::string> params;
  bool json = false;
};

absl::Status RunTrain(TrainFlags flags) {
  ASSIGN_OR_RETURN(flags.options.train_start_day, flags.split.TrainStartDay());
  flags.options.train_days = flags.split.train_days;
  flags.options.delay_days = flags.split.delay_days;
  flags.options.test_days = flags.split.test_days;
  flags.options.kind = flags.kind == "rf" ? ModelKind::kRandomForest : ModelKind::kGbdt;
  for (const std::string& param : flags.params) {
    const size_t eq = param.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError("--param takes key=value, got '" + param + "'");
    }
    flags.options.params[param.substr(0, eq)] = param.substr(eq + 1);
  }
  ASSIGN_OR_RETURN(const TrainResult result, Train(flags.options));
  if (flags.json) {
    nlohmann::ordered_json out;
    out["model_dir"] = flags.options.out_dir;
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
              static_cast<long long>(result.train_frauds), flags.options.out_dir.c_str());
  std::fputs(MetricsTable(result.test).c_str(), stdout);
  std::printf("  threshold chosen on the %s split (%s); %.2f s (features %.2f s, training %.2f s)\n",
              result.threshold_source.c_str(), flags.options.threshold_rule.c_str(),
              result.seconds_total, result.seconds_features, result.seconds_training);
  std::printf("  report: %s/report.html\n", flags.options.out_dir.c_str());
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
  cmd->add_option("--data", flags->options.data_path, "transactions file (clean)")->required();
  cmd->add_option("--out,-o", flags->options.out_dir, "model directory to write")->required();
  flags->split.AddTo(cmd);
  cmd->add_option("--model", flags->kind, "gbdt (boosted trees) or rf (random forest)")
      ->check(CLI::IsMember({"gbdt", "rf"}));
  cmd->add_option("--param", flags->params,
                  "XGBoost parameter key=value over the defaults (repeatable); rounds=N sets "
                  "the boosting rounds, scale_pos_weight=balanced weighs the classes");
  cmd->add_option("--feature-set", flags->options.feature_set,
                  "feature set: handbook-v1 (the 15 handbook inputs) or fraudstream-v2");
  cmd->add_option("--threshold-rule", flags->options.threshold_rule,
                  "operating threshold rule: fpr<=0.05 (max recall at that FPR) or f1");
  cmd->add_option("--threads", flags->options.threads, "training threads (default: all cores)")
      ->check(CLI::Range(0, 256));
  cmd->add_flag("--json", flags->json, "print the result as JSON");
  cmd->callback([flags, action] { *action = [flags] { return RunTrain(*flags); }; });
}

}  // namespace fraud::cli
