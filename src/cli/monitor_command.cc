// fraudstream monitor --brokers B [--group G] [--topic T] [--interval 1s] [--json]
//                     [--samples N | --seconds S] [--metrics-port P] [--track]
// A consumer group's lag on one topic with Burrow's statuses (DESIGN §7, src/monitor).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "cli/kafka_flags.h"
#include "cli/metrics_flags.h"
#include "cli/registry_common.h"
#include "core/status.h"
#include "fmt/format.h"
#include "monitor/lag_metrics.h"
#include "monitor/lag_monitor.h"
#include "nlohmann/json.hpp"
#include "registry/tracking.h"

namespace fraud::cli {
namespace {

struct MonitorFlags {
  KafkaFlags kafka;
  MetricsFlags metrics;
  MonitorOptions options;
  std::string interval = "1s";
  bool json = false;
  int64_t samples = 0;  // 0: until stopped
  double seconds = 0;   // 0: until stopped
  TrackFlags tracking;
};

// "1s", "500ms", "2m", or a plain number of seconds; at least 10 ms.
absl::StatusOr<double> ParseIntervalSeconds(const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = used > 0 ? text.substr(used) : "";
  const double scale = unit == "ms" ? 1e-3 : unit == "s" || unit.empty() ? 1 : unit == "m" ? 60 : 0;
  if (used == 0 || scale == 0 || !std::isfinite(value) || value * scale < 0.01) {
    return absl::InvalidArgumentError(
        fmt::format("bad interval '{}': a number with ms, s or m, at least 10ms (e.g. 1s)", text));
  }
  return value * scale;
}

std::string TimeOfDay(int64_t time_ms) {
  const int64_t s = (time_ms / 1000) % 86400;
  return fmt::format("{:02}:{:02}:{:02}.{:03}", s / 3600, s / 60 % 60, s % 60, time_ms % 1000);
}

void Print(const MonitorOptions& o, const LagReport& r, bool json) {
  if (json) {
    for (const StatusChange& c : r.changes) {
      nlohmann::ordered_json alert = {{"event", "alert"},
                                      {"time_ms", r.time_ms},
                                      {"group", o.group},
                                      {"topic", o.topic},
                                      {"scope", c.partition < 0 ? "group" : "partition"}};
      if (c.partition >= 0) alert["partition"] = c.partition;
      alert["from"] = c.from;
      alert["to"] = c.to;
      alert["lag"] = c.lag;
      std::printf("%s\n", alert.dump().c_str());
    }
    nlohmann::ordered_json sample = {{"event", "sample"},
                                     {"time_ms", r.time_ms},
                                     {"group", o.group},
                                     {"topic", o.topic},
                                     {"status", std::string(Name(r.status))},
                                     {"lag", r.lag},
                                     {"input_rate", r.input_rate},
                                     {"processing_rate", r.processing_rate}};
    nlohmann::ordered_json partitions = nlohmann::ordered_json::array();
    for (const PartitionReport& p : r.partitions) {
      partitions.push_back({{"partition", p.partition},
                            {"committed", p.committed},
                            {"log_end", p.log_end},
                            {"lag", p.lag},
                            {"status", std::string(Name(p.status))}});
    }
    sample["partitions"] = std::move(partitions);
    std::printf("%s\n", sample.dump().c_str());
  } else {
    for (const StatusChange& c : r.changes) {
      std::printf("%s ALERT group %s topic %s %s: %s -> %s (lag %lld)\n",
                  TimeOfDay(r.time_ms).c_str(), o.group.c_str(), o.topic.c_str(),
                  c.partition < 0 ? "status" : fmt::format("partition {}", c.partition).c_str(),
                  c.from.c_str(), c.to.c_str(), static_cast<long long>(c.lag));
    }
    std::printf("%s group %s topic %s: %s, lag %lld, input %.1f msg/s, processed %.1f msg/s\n",
                TimeOfDay(r.time_ms).c_str(), o.group.c_str(), o.topic.c_str(),
                std::string(Name(r.status)).c_str(), static_cast<long long>(r.lag), r.input_rate,
                r.processing_rate);
    for (const PartitionReport& p : r.partitions) {
      std::printf("  partition %d: committed %s, log-end %lld, lag %lld, %s\n", p.partition,
                  p.committed < 0 ? "-" : std::to_string(p.committed).c_str(),
                  static_cast<long long>(p.log_end), static_cast<long long>(p.lag),
                  std::string(Name(p.status)).c_str());
    }
  }
  std::fflush(stdout);
}

absl::Status RunMonitor(MonitorFlags flags) {
  InstallStopHandlers();
  ASSIGN_OR_RETURN(const double interval, ParseIntervalSeconds(flags.interval));
  flags.options.brokers = flags.kafka.brokers;
  flags.options.kafka_settings = flags.kafka.settings;
  flags.options.kafka_config_file = flags.kafka.config_file;
  ASSIGN_OR_RETURN(auto monitor, LagMonitor::Create(flags.options));
  MetricsRegistry registry;
  LagMetrics lag_metrics(registry, flags.options.group, flags.options.topic);
  ASSIGN_OR_RETURN(const std::unique_ptr<MetricsServer> metrics,
                   StartMetricsServer(flags.metrics, registry, "monitor"));
  // --track: the watch is one run; each sample's figures are metrics at step = whole seconds
  // since the start (the rates from the second sample on: the first has nothing to compare).
  std::unique_ptr<Store> store;
  std::unique_ptr<Tracking> tracking;
  std::string run_id;
  if (flags.tracking.track) {
    ASSIGN_OR_RETURN(store, flags.tracking.registry.Open());
    tracking = std::make_unique<Tracking>(*store);
    ASSIGN_OR_RETURN(const RunInfo run, tracking->CreateRun(flags.tracking.experiment,
                                                            "monitor " + flags.options.group));
    run_id = run.run_id;
    RETURN_IF_ERROR(tracking->LogParams(run_id, {{"group", flags.options.group},
                                                 {"topic", flags.options.topic},
                                                 {"interval", flags.interval}}));
    std::fprintf(stderr, "fraudstream monitor: tracking run %s in experiment %s\n", run_id.c_str(),
                 flags.tracking.experiment.c_str());
  }
  using Steady = std::chrono::steady_clock;
  const Steady::time_point start = Steady::now();
  const auto period =
      std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(interval));
  const absl::Status watched = [&]() -> absl::Status {
    int64_t slot = 0;
    for (int64_t n = 1; !g_stop.load(); ++n) {
      ASSIGN_OR_RETURN(const LagReport report, monitor->Sample());
      lag_metrics.Publish(report);
      Print(flags.options, report, flags.json);
      if (tracking != nullptr) {
        const int64_t step =
            std::chrono::duration_cast<std::chrono::seconds>(Steady::now() - start).count();
        std::vector<Metric> metrics = {{"lag", static_cast<double>(report.lag), step}};
        if (n > 1) {
          metrics.push_back({"input_tps", report.input_rate, step});
          metrics.push_back({"processed_tps", report.processing_rate, step});
        }
        RETURN_IF_ERROR(tracking->LogMetrics(run_id, metrics));
      }
      if (flags.samples > 0 && n >= flags.samples) break;
      // Samples on a fixed schedule from the start; a slot missed while a query was slow is
      // skipped, not made up with samples milliseconds apart.
      slot = std::max(slot + 1, static_cast<int64_t>((Steady::now() - start) / period) + 1);
      const Steady::time_point next = start + period * slot;
      if (flags.seconds > 0 && next - start > std::chrono::duration<double>(flags.seconds)) break;
      while (!g_stop.load() && Steady::now() < next) {
        std::this_thread::sleep_for(
            std::min<Steady::duration>(next - Steady::now(), std::chrono::milliseconds(50)));
      }
    }
    return absl::OkStatus();
  }();
  if (tracking != nullptr) {
    RETURN_IF_ERROR(
        tracking->EndRun(run_id, watched.ok() ? RunStatus::kFinished : RunStatus::kFailed));
  }
  return watched;
}

}  // namespace

void AddMonitorCommand(CLI::App& app, Action* action) {
  auto flags = std::make_shared<MonitorFlags>();
  CLI::App* cmd = app.add_subcommand(
      "monitor",
      "A consumer group's lag per partition (committed and log-end offsets), the topic's input "
      "and processing rates, and a status per partition and for the group by Burrow's rules over "
      "the last 10 samples (OK, WARN, STALL, STOP; group OK, WARN, ERR), with an alert line on "
      "every status change. Runs until stopped, --samples or --seconds.");
  AddKafkaFlags(cmd, &flags->kafka);
  cmd->add_option("--group,-g", flags->options.group, "consumer group")->capture_default_str();
  cmd->add_option("--topic,-t", flags->options.topic, "topic")->capture_default_str();
  cmd->add_option("--interval", flags->interval, "time between samples, e.g. 1s, 500ms")
      ->capture_default_str();
  cmd->add_flag("--json", flags->json,
                "one JSON object a line: {\"event\":\"sample\",...} and {\"event\":\"alert\",...}");
  cmd->add_option("--samples", flags->samples, "stop after this many samples")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--seconds", flags->seconds, "stop after this many seconds")
      ->check(CLI::NonNegativeNumber);
  AddMetricsFlags(cmd, &flags->metrics);
  flags->tracking.AddTo(cmd,
                        "log lag, input_tps and processed_tps of every sample as metrics of a run "
                        "of the tracking store (--registry; step = seconds since the start)",
                        "monitor");
  cmd->callback([flags, action] { *action = [flags] { return RunMonitor(*flags); }; });
}

}  // namespace fraud::cli
