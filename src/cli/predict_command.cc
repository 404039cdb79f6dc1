// fraudstream predict --model MODEL_DIR IN --out OUT

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/status.h"
#include "model/evaluation.h"

namespace fraud::cli {
namespace {

struct PredictFlags {
  std::string model_dir;
  std::string input;
  std::string output;
};

absl::Status RunPredict(const PredictFlags& flags) {
  ASSIGN_OR_RETURN(const ModelArtifact model, ModelArtifact::Load(flags.model_dir));
  ASSIGN_OR_RETURN(const PredictSummary summary, PredictFile(model, flags.input, flags.output));
  std::fprintf(flags.output == "-" ? stderr : stdout,
               "scored %lld rows, %lld flagged (threshold %.4f), %.2f s -> %s\n",
               static_cast<long long>(summary.rows), static_cast<long long>(summary.flagged),
               model.threshold, summary.seconds, flags.output.c_str());
  return absl::OkStatus();
}

}  // namespace

void AddPredictCommand(CLI::App& app, Action* action) {
  auto flags = std::make_shared<PredictFlags>();
  CLI::App* cmd = app.add_subcommand(
      "predict",
      "Score every row of a transactions file (features from the file's own history); writes "
      "CSV: the transaction's columns, score and is_fraud, in input order.");
  cmd->add_option("--model,-m", flags->model_dir, "model directory")->required();
  cmd->add_option("input", flags->input, "transactions file")->required();
  cmd->add_option("--out,-o", flags->output, "output CSV, or - for stdout")->required();
  cmd->callback([flags, action] { *action = [flags] { return RunPredict(*flags); }; });
}

}  // namespace fraud::cli
