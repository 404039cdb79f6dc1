// fraudstream evaluate --model MODEL_DIR --data FILE [split flags] [--json] [--report FILE]

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/file.h"
#include "core/status.h"
#include "core/time.h"
#include "fmt/format.h"
#include "model/evaluation.h"
#include "model/evaluation_report.h"
#include "nlohmann/json.hpp"

namespace fraud::cli {
namespace {

struct EvaluateFlags {
  std::string model_dir;
  std::string data;
  SplitFlags split;
  bool split_given = false;
  bool json = false;
  std::string report;
};

absl::Status RunEvaluate(const EvaluateFlags& flags) {
  ASSIGN_OR_RETURN(const ModelArtifact model, ModelArtifact::Load(flags.model_dir));
  std::optional<SplitDays> split;
  if (flags.split_given) {
    ASSIGN_OR_RETURN(const std::optional<int64_t> start, flags.split.TrainStartDay());
    if (!start) {
      return absl::InvalidArgumentError("--train-start is needed with the other split flags");
    }
    split = SplitDays{.train_start_day = *start,
                  .train_days = flags.split.train_days,
                  .delay_days = flags.split.delay_days,
                  .test_days = flags.split.test_days};
  }
  ASSIGN_OR_RETURN(const ModelEvaluation evaluation, EvaluateModel(model, flags.data, split));
  const auto date = [](int64_t day) { return FormatDate(day * kSecondsPerDay); };
  if (!flags.report.empty()) {
    ReportContext context;
    context.title = "fraudstream model evaluation";
    context.items = {{"model", flags.model_dir},
                     {"data", flags.data},
                     {"feature set", model.features.name},
                     {"test", fmt::format("{} .. {} (known compromised customers removed)",
                                          date(evaluation.split.test_start_day()),
                                          date(evaluation.split.end_day() - 1))}};
    RETURN_IF_ERROR(WriteFile(flags.report, EvaluationReportHtml(evaluation.result, context)));
  }
  if (flags.json) {
    std::puts(evaluation.result.ToJson().dump(2).c_str());
    return absl::OkStatus();
  }
  std::printf("evaluated %s on %s, test days %s .. %s\n", flags.model_dir.c_str(),
              flags.data.c_str(), date(evaluation.split.test_start_day()).c_str(),
              date(evaluation.split.end_day() - 1).c_str());
  std::fputs(MetricsTable(evaluation.result).c_str(), stdout);
  if (!flags.report.empty()) std::printf("  report: %s\n", flags.report.c_str());
  return absl::OkStatus();
}

}  // namespace

void AddEvaluateCommand(CLI::App& app, Action* action) {
  auto flags = std::make_shared<EvaluateFlags>();
  CLI::App* cmd = app.add_subcommand(
      "evaluate",
      "Score the test days of a transactions file with a model and report ROC AUC, average "
      "precision, card precision@100 and the metrics at the model's threshold.");
  cmd->add_option("--model,-m", flags->model_dir, "model directory")->required();
  cmd->add_option("--data", flags->data, "transactions file with labels")->required();
  flags->split.AddTo(cmd);
  cmd->add_flag("--json", flags->json, "print the metrics as JSON");
  cmd->add_option("--report", flags->report, "write a self-contained HTML report here");
  cmd->callback([flags, action, cmd] {
    flags->split_given = flags->split.AnyGiven(cmd);
    *action = [flags] { return RunEvaluate(*flags); };
  });
}

}  // namespace fraud::cli
