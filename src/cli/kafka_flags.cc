#include "cli/kafka_flags.h"

#include <csignal>

namespace fraud::cli {

std::atomic<bool> g_stop = false;

namespace {
void OnSignal(int) { g_stop.store(true); }
}  // namespace

void InstallStopHandlers() {
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

void AddKafkaFlags(CLI::App* cmd, KafkaFlags* flags, bool brokers_required) {
  auto* brokers = cmd->add_option("--brokers,-b", flags->brokers,
                                  "Kafka bootstrap servers HOST:PORT[,...] (fraudstream broker "
                                  "prints its address)");
  if (brokers_required) brokers->required();
  cmd->add_option("-X", flags->settings,
                  "librdkafka setting key=value (repeatable; e.g. security.protocol=SASL_SSL)");
  cmd->add_option("--kafka-config", flags->config_file,
                  "librdkafka settings from a properties file (key=value lines)");
}

}  // namespace fraud::cli
