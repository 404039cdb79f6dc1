#pragma once

// What the Kafka commands (broker, replay, stream, monitor) share: the -X / --kafka-config
// pass-through flags and the stop flag set by SIGINT / SIGTERM.

#include <atomic>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"

namespace fraud::cli {

// Set by SIGINT / SIGTERM once InstallStopHandlers() ran: stop fetching, finish the batch in
// flight, flush, commit, exit 0.
extern std::atomic<bool> g_stop;
void InstallStopHandlers();

// -X key=value and --kafka-config FILE.
struct KafkaFlags {
  std::string brokers;
  std::vector<std::string> settings;
  std::string config_file;
};

void AddKafkaFlags(CLI::App* cmd, KafkaFlags* flags, bool brokers_required = true);

}  // namespace fraud::cli
