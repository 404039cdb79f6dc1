#include "cli/metrics_flags.h"

#include <cstdio>

namespace fraud::cli {

void AddMetricsFlags(CLI::App* cmd, MetricsFlags* flags) {
  cmd->add_option("--metrics-port", flags->port,
                  "serve Prometheus metrics at http://HOST:PORT/metrics (0: any free port, "
                  "printed on stderr)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--metrics-host", flags->host, "the address --metrics-port listens on")
      ->capture_default_str();
}

absl::StatusOr<std::unique_ptr<MetricsServer>> StartMetricsServer(const MetricsFlags& flags,
                                                                  MetricsRegistry& registry,
                                                                  const char* command) {
  if (flags.port < 0) return nullptr;
  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start(flags.host, flags.port, registry);
  if (server.ok()) {
    std::fprintf(stderr, "fraudstream %s: metrics on http://%s:%d/metrics\n", command,
                 flags.host.c_str(), (*server)->port());
  }
  return server;
}

}  // namespace fraud::cli
