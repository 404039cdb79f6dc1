// fraudstream capacity --brokers B --data FILE [--start 50 --factor 2 --max R]
//                      [--step-seconds 30] --report DIR [--track]
// The critical TPS of the stream workers of a group (DESIGN §7, src/monitor/capacity.h).

#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/kafka_flags.h"
#include "cli/registry_common.h"
#include "core/status.h"
#include "fmt/format.h"
#include "monitor/capacity.h"

namespace fraud::cli {
namespace {

struct CapacityFlags {
  KafkaFlags kafka;
  CapacityOptions options;
  std::string format = "csv";
  std::string report;
  TrackFlags tracking;
};

absl::Status RunCapacityCommand(CapacityFlags flags) {
  InstallStopHandlers();
  CapacityOptions& o = flags.options;
  if (flags.format != "csv" && flags.format != "json") {
    return absl::InvalidArgumentError("--format: csv or json");
  }
  o.replay.format = flags.format == "json" ? Format::kJsonLines : Format::kCsv;
  o.replay.brokers = o.monitor.brokers = flags.kafka.brokers;
  o.replay.kafka_settings = o.monitor.kafka_settings = flags.kafka.settings;
  o.replay.kafka_config_file = o.monitor.kafka_config_file = flags.kafka.config_file;
  o.replay.topic = o.monitor.topic;
  o.progress = stderr;
  ASSIGN_OR_RETURN(const CapacityResult result, RunCapacity(o, g_stop));
  RETURN_IF_ERROR(WriteCapacityReport(result, flags.report));
  std::printf("critical TPS: %.1f (the highest rate with bounded lag); first failing: %s\n",
              result.critical_tps,
              result.first_failing_tps > 0 ? fmt::format("{:.1f}", result.first_failing_tps).c_str()
                                           : "none up to --max");
  for (const CapacityCheck& c : result.checks) {
    std::printf("  %4.0f TPS, %s: %s%s\n", c.rate, c.rule.c_str(),
                !c.ran     ? "not run"
                : c.passed ? "passed"
                           : "FAILED",
                c.ran ? fmt::format(" (max lag {})", c.max_lag).c_str() : "");
  }
  std::printf("report: %s/report.html, %s/summary.json\n", flags.report.c_str(),
              flags.report.c_str());
  if (flags.tracking.track) {
    ASSIGN_OR_RETURN(auto store, flags.tracking.registry.Open());
    Tracking tracking(*store);
    const std::string& experiment = flags.tracking.experiment;
    ASSIGN_OR_RETURN(const RunInfo run,
                     TrackCapacityRun(tracking, experiment, o, result, flags.report));
    std::printf("tracked: run %s in experiment %s\n", run.run_id.c_str(), experiment.c_str());
  }
  if (g_stop) std::printf("stopped before the end: the report covers the steps run\n");
  return absl::OkStatus();
}

}  // namespace

void AddCapacityCommand(CLI::App& app, Action* action) {
  auto flags = std::make_shared<CapacityFlags>();
  CLI::App* cmd = app.add_subcommand(
      "capacity",
      "Finds the critical TPS of the running stream workers: replays --data at rising rates "
      "(--start, times --factor, up to --max), each for --step-seconds, watching the group's "
      "lag; once a rate fails, narrows between the last bounded and the first failing rate to "
      "within --precision. Writes DIR/report.html, summary.json and samples.csv.");
  AddKafkaFlags(cmd, &flags->kafka);
  CapacityOptions& o = flags->options;
  cmd->add_option("--data", o.data_path, "transactions to replay (in a loop)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--report", flags->report, "directory for the report")->required();
  cmd->add_option("--group,-g", o.monitor.group, "the workers' consumer group")
      ->capture_default_str();
  cmd->add_option("--topic,-t", o.monitor.topic, "their input topic")->capture_default_str();
  cmd->add_option("--start", o.start, "first rate (messages per second)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--factor", o.factor, "rate multiplier between steps")->capture_default_str();
  cmd->add_option("--max", o.max, "highest rate tried")->capture_default_str();
  cmd->add_option("--step-seconds", o.step_seconds, "length of a step")->capture_default_str();
  cmd->add_option("--precision", o.precision,
                  "narrow until the first failing rate is within this fraction of the critical")
      ->capture_default_str();
  cmd->add_option("--drain-seconds", o.drain_seconds,
                  "longest wait for the lag to go down before a step (default: --step-seconds)");
  cmd->add_option("--format", flags->format, "message format: csv or json")->capture_default_str();
  flags->tracking.AddTo(cmd,
                        "log the series (input_tps, processed_tps, lag a second) and the result "
                        "as a run of the tracking store (--registry)",
                        "capacity");
  cmd->callback([flags, action] { *action = [flags] { return RunCapacityCommand(*flags); }; });
}

}  // namespace fraud::cli
