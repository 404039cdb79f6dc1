#pragma once

// --metrics-port / --metrics-host of the long-running commands (stream, monitor): Prometheus'
// GET /metrics (metrics/metrics_server.h) served from the command's MetricsRegistry.

#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "metrics/metrics.h"
#include "metrics/metrics_server.h"

namespace fraud::cli {

struct MetricsFlags {
  int port = -1;  // -1: no server; 0: an ephemeral port (printed)
  std::string host = "0.0.0.0";
};

void AddMetricsFlags(CLI::App* cmd, MetricsFlags* flags);

// The server when --metrics-port was given (its address on stderr: "<command>: metrics on
// http://HOST:PORT/metrics"), else null. Unavailable when the port cannot be bound.
absl::StatusOr<std::unique_ptr<MetricsServer>> StartMetricsServer(const MetricsFlags& flags,
                                                                  MetricsRegistry& registry,
                                                                  const char* command);

}  // namespace fraud::cli
