// fraudstream promote --model NAME --challenger VERSION [--alias Production] [--data FILE]
//   [split flags] [--resamples 100] [--seed 0] [--alpha 0.05] [--force] [--json]

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/registry_common.h"
#include "core/status.h"
#include "fmt/format.h"
#include "registry/promote.h"

namespace fraud::cli {
namespace {

struct PromoteFlags {
  RegistryFlags registry;
  PromoteOptions options;
  SplitFlags split;
  bool split_given = false;
  bool json = false;
};

absl::Status RunPromote(PromoteFlags flags) {
  if (flags.split_given) {
    ASSIGN_OR_RETURN(const std::optional<int64_t> start, flags.split.TrainStartDay());
    if (!start) {
      return absl::InvalidArgumentError("--train-start is needed with the other split flags");
    }
    flags.options.split = SplitDays{.train_start_day = *start,
                                    .train_days = flags.split.train_days,
                                    .delay_days = flags.split.delay_days,
                                    .test_days = flags.split.test_days};
  }
  ASSIGN_OR_RETURN(auto store, flags.registry.Open());
  ASSIGN_OR_RETURN(const PromoteResult r, Promote(*store, flags.options));
  if (flags.json) {
    std::puts(r.ToJson().dump(2).c_str());
    return absl::OkStatus();
  }
  const std::string& name = flags.options.model;
  const std::string& alias = flags.options.alias;
  std::fputs(GateSummary(r, flags.options.gate.seed).c_str(), stdout);
  if (r.decision == "promoted") {
    std::printf("promoted: %s@%s -> version %lld (%s)%s\n", name.c_str(), alias.c_str(),
                static_cast<long long>(r.challenger), r.reason.c_str(),
                r.champion ? fmt::format(", was version {}", *r.champion).c_str() : "");
  } else if (r.decision == "unchanged") {
    std::printf("unchanged: %s\n", r.reason.c_str());
  } else {
    std::printf("rejected: %s@%s stays on version %lld (%s)\n", name.c_str(), alias.c_str(),
                static_cast<long long>(r.champion.value_or(0)), r.reason.c_str());
  }
  std::printf("  logged as run %s\n", r.run.run_id.c_str());
  return absl::OkStatus();
}

}  // namespace

void AddPromoteCommand(CLI::App& app, Action* action) {
  auto flags = std::make_shared<PromoteFlags>();
  PromoteOptions& o = flags->options;
  CLI::App* cmd = app.add_subcommand(
      "promote",
      "Move an alias (default Production) to a challenger version through the validation gate: "
      "champion and challenger score the same bootstrap resamples of a test set, and the "
      "challenger wins only if its mean ROC AUC is higher with a paired t-test p < alpha (or "
      "when there is no champion). The decision and its figures are logged as a run.");
  flags->registry.AddTo(cmd);
  cmd->add_option("--model", o.model, "registered model name")->required();
  cmd->add_option("--challenger", o.challenger, "version to promote")
      ->required()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--alias", o.alias, "alias to move")->capture_default_str();
  cmd->add_option("--data", o.data_path,
                  "labelled transactions for the test set (default: the challenger's training "
                  "data)");
  flags->split.AddTo(cmd);
  cmd->add_option("--resamples", o.gate.resamples, "bootstrap resamples")
      ->capture_default_str()
      ->check(CLI::Range(2, 100000));
  cmd->add_option("--seed", o.gate.seed, "bootstrap seed")->capture_default_str();
  cmd->add_option("--alpha", o.gate.alpha, "significance level")
      ->capture_default_str()
      ->check(CLI::Range(1e-9, 0.5));
  cmd->add_option("--experiment", o.experiment, "experiment of the decision's run")
      ->capture_default_str();
  cmd->add_flag("--force", o.force,
                "promote whatever the gate says (recorded as forced, with the gate's figures)");
  cmd->add_flag("--json", flags->json, "print the decision as JSON");
  cmd->callback([flags, action, cmd] {
    flags->split_given = flags->split.AnyGiven(cmd);
    *action = [flags] { return RunPromote(*flags); };
  });
}

}  // namespace fraud::cli
