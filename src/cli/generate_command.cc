// fraudstream generate --out FILE|DIR [--customers N] [--terminals N] [--days N]
//   [--start-date YYYY-MM-DD] [--radius R] [--seed S] [--format otus|csv]
//   [--days-per-file N] [--dirty RATE] [--quiet]

#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/status.h"
#include "core/time.h"
#include "data/layout.h"
#include "data/simulator.h"

namespace fraud::cli {
namespace {

struct GenerateFlags {
  GenerateOptions options;
  std::string start_date = "2018-04-01";
  std::string format = "otus";
  bool quiet = false;
};

absl::Status RunGenerate(GenerateFlags flags) {
  const auto start = ParseDate(flags.start_date);
  if (!start) {
    return absl::InvalidArgumentError("--start-date must be YYYY-MM-DD, got " + flags.start_date);
  }
  flags.options.simulator.start_epoch = *start;
  ASSIGN_OR_RETURN(flags.options.format, ParseFormatName(flags.format));
  flags.options.show_progress = !flags.quiet;
  ASSIGN_OR_RETURN(const GenerateSummary summary, GenerateToFiles(flags.options));
  if (!flags.quiet) {
    // With the data on stdout, the summary goes to stderr.
    std::fprintf(flags.options.out == "-" ? stderr : stdout, "%s\n", SummaryLine(summary).c_str());
  }
  return absl::OkStatus();
}

}  // namespace

void AddGenerateCommand(CLI::App& app, Action* action) {
  auto flags = std::make_shared<GenerateFlags>();
  SimulatorConfig& sim = flags->options.simulator;
  CLI::App* cmd = app.add_subcommand(
      "generate",
      "Generate a synthetic transactions data set with the Fraud Detection Handbook's process "
      "(customers, terminals, three fraud scenarios), deterministic for a seed.");
  cmd->add_option("--out,-o", flags->options.out,
                  "output file (- for stdout), or a directory with --days-per-file")
      ->required();
  cmd->add_option("--customers", sim.customers, "number of customers")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{2147483647}));
  cmd->add_option("--terminals", sim.terminals, "number of terminals")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{2147483647}));
  cmd->add_option("--days", sim.days, "number of days")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--start-date", flags->start_date, "first day, YYYY-MM-DD")
      ->capture_default_str();
  cmd->add_option("--radius", sim.radius,
                  "a customer uses the terminals closer than this (area 100 x 100)")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 1e6));
  cmd->add_option("--seed", sim.seed, "random seed; same flags and seed give the same bytes")
      ->capture_default_str();
  cmd->add_option("--format", flags->format, "output layout")
      ->capture_default_str()
      ->check(CLI::IsMember({"otus", "csv"}));
  cmd->add_option("--days-per-file", flags->options.days_per_file,
                  "write one file per N days into the directory --out, named "
                  "<first date>.txt (otus) or .csv")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--dirty", flags->options.dirty_rate,
                  "inject data-quality faults into this share of rows (0..1); what was injected "
                  "goes to OUT.faults.jsonl (or DIR/faults.jsonl)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--quiet,-q", flags->quiet, "no progress and no summary line");
  cmd->callback([flags, action] { *action = [flags] { return RunGenerate(*flags); }; });
}

}  // namespace fraud::cli
