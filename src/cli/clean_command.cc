// fraudstream clean IN --out OUT [--quarantine REJECTED] [--report REPORT.json]

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/status.h"
#include "core/time.h"
#include "data/cleaner.h"

namespace fraud::cli {
namespace {

struct CleanFlags {
  CleanOptions options;
  std::string format;
  std::string start_date;
  bool quiet = false;
};

absl::Status RunClean(CleanFlags flags) {
  if (!flags.format.empty()) {
    ASSIGN_OR_RETURN(flags.options.output_format, ParseFormatName(flags.format));
  }
  if (!flags.start_date.empty()) {
    const auto start = ParseDate(flags.start_date);
    if (!start) {
      return absl::InvalidArgumentError("--start-date must be YYYY-MM-DD, got " + flags.start_date);
    }
    flags.options.dataset_start = *start;
  }
  ASSIGN_OR_RETURN(const CleanReport report, Clean(flags.options));
  if (!flags.quiet) {
    std::fputs(ReportText(report).c_str(), flags.options.output == "-" ? stderr : stdout);
  }
  return absl::OkStatus();
}

}  // namespace

void AddCleanCommand(CLI::App& app, Action* action) {
  auto flags = std::make_shared<CleanFlags>();
  CLI::App* cmd = app.add_subcommand(
      "clean",
      "Apply the data-quality rules to a transactions file (Otus layout, CSV or JSON lines, "
      "detected). Every rejected row goes to the quarantine file with its reason; "
      "'24:00:00' datetimes are rebuilt from tx_time_seconds; duplicates keep their first row.");
  cmd->add_option("input", flags->options.input, "input file, or - for stdin")->required();
  cmd->add_option("--out,-o", flags->options.output, "clean output file, or - for stdout")
      ->required();
  cmd->add_option("--quarantine", flags->options.quarantine,
                  "rejected rows, tab-separated: line, reason, detail, original text "
                  "(default: OUT.rejected.tsv)");
  cmd->add_option("--report", flags->options.report,
                  "data-quality report as JSON; a .txt twin is written beside it");
  cmd->add_option("--format", flags->format, "output format (default: the input's)")
      ->check(CLI::IsMember({"otus", "csv", "jsonl"}));
  cmd->add_option("--threads", flags->options.threads, "parser threads (default: one per core)")
      ->check(CLI::Range(0, 256));
  cmd->add_option("--start-date", flags->start_date,
                  "data set start date YYYY-MM-DD used to rebuild '24:00:00' datetimes "
                  "(default: inferred from the first rows)");
  cmd->add_flag("--quiet,-q", flags->quiet, "do not print the report");
  cmd->callback([flags, action] { *action = [flags] { return RunClean(*flags); }; });
}

}  // namespace fraud::cli
