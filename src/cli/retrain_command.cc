// fraudstream retrain --data-dir DIR [--every 60m] [--model NAME] [--alias Production]
//   [--work-dir DIR] [train flags] [--resamples N] [--seed S] [--json]

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/registry_common.h"
#include "core/clock.h"
#include "core/status.h"
#include "fmt/format.h"
#include "registry/retrain.h"

namespace fraud::cli {
namespace {

struct RetrainFlags {
  RegistryFlags registry;
  RetrainOptions options;
  SplitFlags split;
  std::string kind = "gbdt";
  std::vector<std::string> params;
  std::string every;
  bool json = false;
};

absl::Status Cycle(const RetrainFlags& flags) {
  ASSIGN_OR_RETURN(auto store, flags.registry.Open());
  ASSIGN_OR_RETURN(const RetrainResult r, RetrainOnce(*store, flags.options));
  if (flags.json) {
    nlohmann::ordered_json out;
    out["trained"] = r.trained;
    out["message"] = r.message;
    out["files"] = r.files.size();
    out["new_files"] = nlohmann::ordered_json::array();
    for (const DataFile& f : r.new_files) out["new_files"].push_back(f.path);
    if (r.train) {
      out["run_id"] = r.train->run.run_id;
      out["version"] = r.train->version->version;
      out["test_roc_auc"] = r.train->train.test.roc_auc;
    }
    out["promotion"] = r.promote ? r.promote->ToJson() : nlohmann::ordered_json(nullptr);
    std::puts(out.dump(2).c_str());
  } else {
    std::printf("retrain: %s\n", r.message.c_str());
    if (r.promote) std::fputs(GateSummary(*r.promote, flags.options.gate.seed).c_str(), stdout);
  }
  std::fflush(stdout);
  return absl::OkStatus();
}

absl::Status RunRetrain(RetrainFlags flags) {
  RETURN_IF_ERROR(ApplyModelFlags(flags.split, flags.kind, flags.params, &flags.options.train));
  if (flags.every.empty()) return Cycle(flags);
  ASSIGN_OR_RETURN(const int64_t seconds, ParseInterval(flags.every));
  // A scheduler loop: a failed cycle is reported and the next one runs on time.
  while (true) {
    const absl::Status status = Cycle(flags);
    if (!status.ok()) {
      std::fprintf(stderr, "fraudstream retrain: error: %s (next try in %s)\n",
                   std::string(status.message()).c_str(), flags.every.c_str());
    } else if (!flags.json) {
      std::printf("retrain: next check in %s\n", flags.every.c_str());
      std::fflush(stdout);
    }
    Clock::Real().SleepForNanos(seconds * 1'000'000'000);
  }
}

}  // namespace

void AddRetrainCommand(CLI::App& app, Action* action) {
  auto flags = std::make_shared<RetrainFlags>();
  RetrainOptions& o = flags->options;
  CLI::App* cmd = app.add_subcommand(
      "retrain",
      "Retrain when new data arrives: finds the files of --data-dir not trained on yet (by "
      "content fingerprint), cleans all files, trains on the newest split, registers a new "
      "version and promotes it through the validation gate against the alias. Without new "
      "data it does nothing and says so. --every repeats it (for a loop in a container; cron, "
      "a Kubernetes CronJob, a systemd timer or Airflow can run it once instead).");
  flags->registry.AddTo(cmd);
  cmd->add_option("--data-dir", o.data_dir, "directory of transaction files")->required();
  cmd->add_option("--every", flags->every, "repeat every interval, e.g. 30m, 1h, 1d");
  cmd->add_option("--model", o.model, "registered model name")->capture_default_str();
  cmd->add_option("--alias", o.alias, "alias to promote to")->capture_default_str();
  cmd->add_option("--experiment", o.experiment, "experiment of the training runs")
      ->capture_default_str();
  cmd->add_option("--work-dir", o.work_dir,
                  "cleaned files and training data (default: <artifact root>/retrain)");
  flags->split.AddTo(cmd);
  cmd->add_option("--model-kind", flags->kind, "gbdt or rf")->check(CLI::IsMember({"gbdt", "rf"}));
  cmd->add_option("--param", flags->params, "XGBoost parameter key=value (repeatable)");
  cmd->add_option("--feature-set", o.train.feature_set, "feature set")->capture_default_str();
  cmd->add_option("--threads", o.train.threads, "training threads (default: all cores)")
      ->check(CLI::Range(0, 256));
  cmd->add_option("--resamples", o.gate.resamples, "bootstrap resamples of the gate")
      ->capture_default_str()
      ->check(CLI::Range(2, 100000));
  cmd->add_option("--seed", o.gate.seed, "bootstrap seed")->capture_default_str();
  cmd->add_flag("--json", flags->json, "print each cycle's result as JSON");
  cmd->callback([flags, action] { *action = [flags] { return RunRetrain(*flags); }; });
}

}  // namespace fraud::cli
