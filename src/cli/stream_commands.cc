// fraudstream broker | replay | stream: the Kafka side (DESIGN §7, src/stream).

#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "cli/kafka_flags.h"
#include "cli/metrics_flags.h"
#include "cli/registry_common.h"
#include "core/file.h"
#include "core/progress.h"
#include "core/status.h"
#include "core/strings.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "registry/live_model.h"
#include "stream/kafka.h"
#include "stream/replay.h"
#include "stream/worker.h"

namespace fraud::cli {
namespace {

// ------------------------------------------------------------------------------------------
// broker

struct BrokerFlags {
  int partitions = 3;
  int brokers = 1;
  std::string bootstrap_file;
  double seconds = 0;
};

absl::Status RunBroker(const BrokerFlags& flags) {
  InstallStopHandlers();
  ASSIGN_OR_RETURN(std::unique_ptr<MockCluster> cluster, MockCluster::Start(flags.brokers));
  for (const char* topic : {kInputTopic, kPredictionsTopic, kDlqTopic}) {
    RETURN_IF_ERROR(cluster->CreateTopic(topic, flags.partitions));
  }
  if (!flags.bootstrap_file.empty()) {
    RETURN_IF_ERROR(WriteFile(flags.bootstrap_file, cluster->bootstrap_servers() + "\n"));
  }
  std::printf("%s\n", cluster->bootstrap_servers().c_str());
  std::fflush(stdout);
  std::fprintf(stderr,
               "fraudstream broker: librdkafka mock cluster, %d broker(s), topics %s, %s, %s "
               "(%d partitions each), in memory only; Ctrl-C stops it\n",
               flags.brokers, kInputTopic, kPredictionsTopic, kDlqTopic, flags.partitions);
  const auto start = std::chrono::steady_clock::now();
  while (!g_stop.load()) {
    if (flags.seconds > 0 &&
        std::chrono::steady_clock::now() - start >= std::chrono::duration<double>(flags.seconds)) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::OkStatus();
}

// ------------------------------------------------------------------------------------------
// replay

struct ReplayFlags {
  KafkaFlags kafka;
  std::string input;
  std::string topic = kInputTopic;
  std::string rate = "400";
  std::string ramp;
  double step_seconds = 60;
  int64_t limit = 0;
  bool loop = false;
  std::string format = "csv";
  bool quiet = false;
  bool json = false;
};

absl::Status RunReplay(const ReplayFlags& flags) {
  InstallStopHandlers();
  ReplayOptions options;
  options.brokers = flags.kafka.brokers;
  options.kafka_settings = flags.kafka.settings;
  options.kafka_config_file = flags.kafka.config_file;
  options.topic = flags.topic;
  if (flags.rate == "max") {
    options.rate = 0;
  } else {
    char* end = nullptr;
    options.rate = std::strtod(flags.rate.c_str(), &end);
    if (flags.rate.empty() || *end != '\0' || !(options.rate > 0)) {
      return absl::InvalidArgumentError(
          fmt::format("--rate {}: a positive number of messages per second, or max", flags.rate));
    }
  }
  if (!flags.ramp.empty()) {
    for (const std::string_view item : Split(flags.ramp, ',')) {
      char* end = nullptr;
      const std::string text(Trim(item));
      const double rate = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || !(rate > 0)) {
        return absl::InvalidArgumentError(fmt::format("--ramp: '{}' is not a rate", text));
      }
      options.ramp.push_back(rate);
    }
  }
  options.step_seconds = flags.step_seconds;
  options.limit = flags.limit;
  options.loop = flags.loop;
  if (flags.format == "json") {
    options.format = Format::kJsonLines;
  } else if (flags.format == "csv") {
    options.format = Format::kCsv;
  } else {
    return absl::InvalidArgumentError(fmt::format("--format {}: json or csv", flags.format));
  }
  options.per_second = flags.quiet || flags.json ? nullptr : stderr;
  ASSIGN_OR_RETURN(const ReplaySummary summary, Replay(flags.input, options, g_stop));
  int64_t slowest = INT64_MAX, fastest = 0;
  for (const int64_t n : summary.per_second) {
    slowest = std::min(slowest, n);
    fastest = std::max(fastest, n);
  }
  if (summary.per_second.empty()) slowest = 0;
  if (flags.json) {
    std::printf(
        "{\"sent\": %lld, \"acknowledged\": %lld, \"unparsed\": %lld, \"seconds\": %.3f, "
        "\"rate\": %.1f, \"target_rate\": %s, \"slowest_second\": %lld, \"fastest_second\": "
        "%lld}\n",
        static_cast<long long>(summary.sent), static_cast<long long>(summary.acknowledged),
        static_cast<long long>(summary.unparsed), summary.seconds, summary.rate,
        options.rate > 0 && options.ramp.empty() ? fmt::format("{}", options.rate).c_str() : "null",
        static_cast<long long>(slowest), static_cast<long long>(fastest));
  } else {
    std::printf(
        "replay: %lld messages to %s in %.2f s: %.1f msg/s (target %s); %lld "
        "acknowledged, %lld rows sent unparsed\n",
        static_cast<long long>(summary.sent), flags.topic.c_str(), summary.seconds, summary.rate,
        flags.ramp.empty() ? flags.rate.c_str() : flags.ramp.c_str(),
        static_cast<long long>(summary.acknowledged), static_cast<long long>(summary.unparsed));
  }
  return absl::OkStatus();
}

// ------------------------------------------------------------------------------------------
// stream

struct StreamFlags {
  KafkaFlags kafka;
  MetricsFlags metrics;
  RegistryFlags registry;
  std::string model;
  int64_t model_refresh_ms = 1000;
  StreamOptions options;
  bool json = false;
};

absl::Status RunStream(StreamFlags flags) {
  InstallStopHandlers();
  // Keep freed memory in the process. Every micro-batch allocates its buffers (~1 MiB) on
  // one thread and frees them on another, and librdkafka's threads do the same with message
  // buffers; glibc's defaults hand such memory back to the kernel and fault it in again page
  // by page (mmap, mprotect, zeroed pages). Fixed thresholds keep it in the heap (~5 % less
  // worker CPU end to end, docs/PERFORMANCE.md); what is kept is bounded by the peak in use.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  // A model directory, or a registry reference followed while running.
  ASSIGN_OR_RETURN(const std::shared_ptr<LiveModel> live,
                   OpenLiveModel(flags.model, flags.registry, flags.model_refresh_ms));
  const std::shared_ptr<const LoadedModel> first = live->Current();
  StreamOptions& options = flags.options;
  options.brokers = flags.kafka.brokers;
  options.kafka_settings = flags.kafka.settings;
  options.kafka_config_file = flags.kafka.config_file;
  options.progress = !flags.json;
  if (options.exactly_once && options.transactional_id.empty()) {
    char host[256] = "localhost";
    gethostname(host, sizeof(host) - 1);
    options.transactional_id = fmt::format("fraudstream-{}-{}-{}", options.group, host, getpid());
  }
  MetricsRegistry registry;
  ASSIGN_OR_RETURN(const std::unique_ptr<MetricsServer> metrics,
                   StartMetricsServer(flags.metrics, registry, "stream"));
  if (metrics != nullptr) options.metrics = &registry;
  ASSIGN_OR_RETURN(auto worker, StreamWorker::Create(options, live));
  std::fprintf(
      stderr, "fraudstream stream: %s -> %s (DLQ %s), group %s, model %s version %s%s%s\n",
      options.input_topic.c_str(), options.output_topic.c_str(), options.dlq_topic.c_str(),
      options.group.c_str(), first->name.c_str(), first->version.c_str(),
      live->follows() ? fmt::format(" (following {})", live->reference()).c_str() : "",
      worker->stats().warmed_up > 0
          ? fmt::format(", state warmed up with {} transactions", worker->stats().warmed_up).c_str()
          : "");
  const absl::Status run = worker->Run(g_stop);
  const StreamStats& s = worker->stats();
  if (flags.json) {
    const nlohmann::ordered_json summary = {{"consumed", s.consumed},
                                            {"predicted", s.predicted},
                                            {"dead_lettered", s.dead_lettered},
                                            {"offset_resets", s.offset_resets},
                                            {"batches", s.batches},
                                            {"transactions", s.transactions},
                                            {"aborted_transactions", s.aborted_transactions},
                                            {"rebuilt", s.rebuilt},
                                            {"restored", s.restored},
                                            {"checkpoints", s.checkpoints},
                                            {"fed", s.fed},
                                            {"model_version", s.model_version},
                                            {"model_swaps", s.model_swaps},
                                            {"seconds", s.seconds},
                                            {"latency_p50_ms", s.latency_p50_ms},
                                            {"latency_p99_ms", s.latency_p99_ms}};
    std::printf("%s\n", summary.dump().c_str());
  } else {
    std::printf(
        "stream: %lld consumed, %lld predicted, %lld to the DLQ, %lld offset resets in "
        "%.1f s; latency p50 %.1f ms, p99 %.1f ms\n",
        static_cast<long long>(s.consumed), static_cast<long long>(s.predicted),
        static_cast<long long>(s.dead_lettered), static_cast<long long>(s.offset_resets), s.seconds,
        s.latency_p50_ms, s.latency_p99_ms);
  }
  return run;
}

}  // namespace

void AddBrokerCommand(CLI::App& app, Action* action) {
  auto flags = std::make_shared<BrokerFlags>();
  CLI::App* cmd = app.add_subcommand(
      "broker",
      "Run an embedded Kafka broker (librdkafka's mock cluster: the Kafka protocol on loopback, "
      "in memory) with the topics transactions-input, fraud-predictions and transactions-dlq; "
      "prints its bootstrap address and runs until stopped. For the demo and tests; production "
      "uses real Kafka.");
  cmd->add_option("--partitions", flags->partitions, "partitions per topic")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--brokers", flags->brokers, "brokers in the cluster")
      ->check(CLI::Range(1, 10))
      ->capture_default_str();
  cmd->add_option("--bootstrap-file", flags->bootstrap_file,
                  "also write the bootstrap address to this file (its port is random)");
  cmd->add_option("--seconds", flags->seconds, "stop after this many seconds (default: never)");
  cmd->callback([flags, action] { *action = [flags] { return RunBroker(*flags); }; });
}

void AddReplayCommand(CLI::App& app, Action* action) {
  auto flags = std::make_shared<ReplayFlags>();
  CLI::App* cmd = app.add_subcommand(
      "replay",
      "Produce a transactions file to Kafka at an exact rate, keyed by customer_id (rows that do "
      "not parse are sent as they are, for the DLQ); prints the rate achieved each second and a "
      "summary.");
  cmd->add_option("input", flags->input, "transactions file")->required();
  AddKafkaFlags(cmd, &flags->kafka);
  cmd->add_option("--topic", flags->topic, "topic")->capture_default_str();
  cmd->add_option("--rate", flags->rate, "messages per second, or max")->capture_default_str();
  cmd->add_option("--ramp", flags->ramp, "rates one after another, e.g. 50,100,200,400");
  cmd->add_option("--step-seconds", flags->step_seconds, "seconds per ramp step")
      ->capture_default_str();
  cmd->add_option("--limit", flags->limit, "stop after this many messages");
  cmd->add_flag("--loop", flags->loop, "start the file again at its end");
  cmd->add_option("--format", flags->format, "message format: csv (Otus column order) or json")
      ->capture_default_str();
  cmd->add_flag("-q,--quiet", flags->quiet, "no per-second lines");
  cmd->add_flag("--json", flags->json, "print the summary as JSON");
  cmd->callback([flags, action] { *action = [flags] { return RunReplay(*flags); }; });
}

void AddStreamCommand(CLI::App& app, Action* action) {
  auto flags = std::make_shared<StreamFlags>();
  StreamOptions& o = flags->options;
  CLI::App* cmd = app.add_subcommand(
      "stream",
      "Score a Kafka stream in a consumer group: transactions in (JSON lines or CSV rows), "
      "features from the shared window state, micro-batches scored, predictions out; malformed "
      "messages to the DLQ with their reason. At-least-once: offsets are committed only after "
      "the predictions are acknowledged (--exactly-once: transactions). SIGINT/SIGTERM: finish "
      "the batch, flush, commit, exit.");
  AddKafkaFlags(cmd, &flags->kafka);
  cmd->add_option("-m,--model,--model-dir", flags->model,
                  "a model directory, or a registry reference: NAME@ALIAS (e.g. "
                  "fraud@Production) and NAME/latest are followed while running (the new version "
                  "scores from the next micro-batch), NAME/VERSION is pinned")
      ->required();
  flags->registry.AddTo(cmd);
  cmd->add_option("--model-refresh-ms", flags->model_refresh_ms,
                  "how often the registry is asked where the reference points")
      ->capture_default_str();
  cmd->add_option("--input", o.input_topic, "input topic")->capture_default_str();
  cmd->add_option("--output", o.output_topic, "predictions topic")->capture_default_str();
  cmd->add_option("--dlq", o.dlq_topic, "dead-letter topic")->capture_default_str();
  cmd->add_option("--group", o.group, "consumer group")->capture_default_str();
  cmd->add_option("--max-batch", o.max_batch, "messages per micro-batch")->capture_default_str();
  cmd->add_option("--linger-ms", o.linger_ms,
                  "the longest a micro-batch collects what is already fetched (a batch never "
                  "waits for messages still to come)")
      ->capture_default_str();
  cmd->add_option("--warm-up", o.warm_up,
                  "history (a file or a directory of files) replayed into the feature state "
                  "before consuming");
  cmd->add_option("--checkpoint-dir", o.checkpoint_dir,
                  "snapshots of the customer windows per partition, written on hand-over, "
                  "periodically and at shutdown; a worker taking a partition over reads only the "
                  "messages after the snapshot (a directory all workers share)");
  cmd->add_option("--checkpoint-interval", o.checkpoint_interval_seconds,
                  "seconds between periodic snapshots")
      ->capture_default_str();
  cmd->add_flag("--exactly-once", o.exactly_once,
                "transactional producer: predictions, DLQ records and input offsets commit "
                "together per micro-batch; read_committed readers see each prediction once");
  cmd->add_option("--transactional-id", o.transactional_id,
                  "transactional.id for --exactly-once; keep it stable per worker (e.g. the pod "
                  "name) so a restart fences the previous one's open transaction (default: "
                  "fraudstream-GROUP-HOST-PID)");
  cmd->add_flag("--allow-offset-reset", o.allow_offset_reset,
                "go on after an offset reset (data loss; counted and logged either way)");
  cmd->add_option("--max-messages", o.max_messages, "stop after this many messages");
  cmd->add_option("--max-rate", o.max_rate,
                  "at most this many messages per second (0: unlimited); the rest waits in "
                  "Kafka as lag, protecting downstream systems")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--idle-exit", o.idle_exit_seconds,
                  "stop after this many seconds without a message");
  AddMetricsFlags(cmd, &flags->metrics);
  cmd->add_flag("--json", flags->json, "print the summary as JSON");
  cmd->callback([flags, action] { *action = [flags] { return RunStream(*flags); }; });
}

}  // namespace fraud::cli
