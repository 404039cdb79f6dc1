// fraudstream dashboard: the live web page of the loop (src/dashboard, issue 9).

#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "cli/kafka_flags.h"
#include "cli/registry_common.h"
#include "core/status.h"
#include "dashboard/dashboard.h"
#include "dashboard/page.h"
#include "fmt/format.h"
#include "metrics/metrics_server.h"

namespace fraud::cli {
namespace {

struct DashboardFlags {
  KafkaFlags kafka;
  DashboardOptions options;
  RegistryFlags registry;
  std::string model;
  std::string host = "127.0.0.1";
  int port = 8090;
};

absl::Status RunDashboard(DashboardFlags flags) {
  InstallStopHandlers();
  flags.options.brokers = flags.kafka.brokers;
  flags.options.kafka_settings = flags.kafka.settings;
  flags.options.kafka_config_file = flags.kafka.config_file;
  std::shared_ptr<LiveModel> model;
  if (!flags.model.empty()) {
    ASSIGN_OR_RETURN(model, OpenLiveModel(flags.model, flags.registry, 0));
  }
  ASSIGN_OR_RETURN(const std::unique_ptr<LiveDashboard> live,
                   LiveDashboard::Start(flags.options, model));
  MetricsRegistry metrics;  // /metrics: the process' own CPU and memory
  ASSIGN_OR_RETURN(const std::unique_ptr<MetricsServer> server,
                   MetricsServer::Start(flags.host, flags.port, metrics, DashboardRoutes(*live)));
  std::fprintf(stderr,
               "fraudstream dashboard: http://%s:%d/ (group %s on %s, predictions from %s)\n",
               flags.host.c_str(), server->port(), flags.options.group.c_str(),
               flags.options.input_topic.c_str(), flags.options.predictions_topic.c_str());
  while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return absl::OkStatus();
}

}  // namespace

void AddDashboardCommand(CLI::App& app, Action* action) {
  auto flags = std::make_shared<DashboardFlags>();
  DashboardOptions& o = flags->options;
  CLI::App* cmd = app.add_subcommand(
      "dashboard",
      "A live web page of the loop: input and processed TPS, lag per partition with its status, "
      "fraud rate, latency percentiles, the model serving and its metrics, recently flagged "
      "transactions. Reads the group's offsets and the predictions topic (from its end, in no "
      "group); changes nothing. GET / (the page), /api/state (its JSON), /metrics.");
  AddKafkaFlags(cmd, &flags->kafka);
  cmd->add_option("--port", flags->port, "TCP port (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--host", flags->host, "address to listen on")->capture_default_str();
  cmd->add_option("--group,-g", o.group, "the scoring workers' consumer group")
      ->capture_default_str();
  cmd->add_option("--input", o.input_topic, "their input topic")->capture_default_str();
  cmd->add_option("--predictions", o.predictions_topic, "their predictions topic")
      ->capture_default_str();
  cmd->add_option("-m,--model,--model-dir", flags->model,
                  "the model card: a model directory or a registry reference (NAME@ALIAS is "
                  "followed); without it the card shows what the predictions carry");
  flags->registry.AddTo(cmd);
  cmd->add_option("--interval-ms", o.interval_ms, "time between samples (chart points)")
      ->check(CLI::Range(100, 60000))
      ->capture_default_str();
  cmd->callback([flags, action] { *action = [flags] { return RunDashboard(*flags); }; });
}

}  // namespace fraud::cli
