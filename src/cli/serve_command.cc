// fraudstream serve: the REST scoring API (DESIGN §8, src/serve, docs/SERVING.md).

#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "cli/kafka_flags.h"
#include "cli/registry_common.h"
#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "data/reader.h"
#include "fmt/format.h"
#include "serve/server.h"

namespace fraud::cli {
namespace {

struct ServeFlags {
  ServeOptions options;
  RegistryFlags registry;
  std::string model;
  std::string token_file;
  std::string warm_up;
};

absl::Status RunServe(ServeFlags flags) {
  InstallStopHandlers();
  if (!flags.token_file.empty()) {
    ASSIGN_OR_RETURN(const std::string token, ReadFile(flags.token_file));
    flags.options.token = std::string(Trim(token));
    if (flags.options.token.empty()) {
      return absl::InvalidArgumentError(
          fmt::format("--token-file {}: the file is empty", flags.token_file));
    }
  }
  // Listening first: /healthz answers and /readyz says 503 while the model and the warm-up
  // history load.
  ASSIGN_OR_RETURN(std::unique_ptr<ScoringServer> server, ScoringServer::Start(flags.options));
  ASSIGN_OR_RETURN(const std::shared_ptr<LiveModel> live,
                   OpenLiveModel(flags.model, flags.registry, flags.options.refresh_ms));
  std::vector<Transaction> history;
  if (!flags.warm_up.empty()) {
    ASSIGN_OR_RETURN(history, ReadHistory(flags.warm_up));
  }
  RETURN_IF_ERROR(server->Load(live, history));
  const std::shared_ptr<const LoadedModel> model = live->Current();
  std::fprintf(stderr,
               "fraudstream serve: ready on %s:%d (%d threads), model %s version %s%s%s%s\n",
               flags.options.host.c_str(), server->port(), server->threads(), model->name.c_str(),
               model->version.c_str(),
               live->follows() ? fmt::format(" (following {})", live->reference()).c_str() : "",
               history.empty()
                   ? ""
                   : fmt::format(", state warmed up with {} transactions", history.size()).c_str(),
               flags.options.token.empty() ? "; no --token-file: admin routes answer 403" : "");
  while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::fprintf(stderr, "fraudstream serve: stopping: finishing the requests in flight\n");
  server->Stop();
  return absl::OkStatus();
}

}  // namespace

void AddServeCommand(CLI::App& app, Action* action) {
  auto flags = std::make_shared<ServeFlags>();
  ServeOptions& o = flags->options;
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "REST scoring API: POST /v1/predict (one transaction or {\"transactions\": [...]}, "
      "?explain=true), GET /v1/models, /healthz, /readyz, /metrics, POST /v1/reload (admin, "
      "bearer token). Features from this replica's own window state. SIGINT/SIGTERM: stop "
      "accepting, finish the requests in flight, exit 0. See docs/SERVING.md.");
  cmd->add_option("--port", o.port, "TCP port (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--host", o.host, "address to listen on")->capture_default_str();
  cmd->add_option("-m,--model,--model-dir", flags->model,
                  "a model directory, or a registry reference: NAME@ALIAS (e.g. "
                  "fraud@Production) and NAME/latest are followed while running, NAME/VERSION "
                  "is pinned")
      ->required();
  flags->registry.AddTo(cmd);
  cmd->add_option("--model-refresh-ms", o.refresh_ms,
                  "how often the registry is asked where the reference points (0: only on "
                  "POST /v1/reload)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--threads", o.threads,
                  "HTTP worker (I/O) threads, each serving any number of connections (0: one "
                  "per core)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  cmd->add_option("--token-file", flags->token_file,
                  "file holding the bearer token of the admin routes (trimmed); without it they "
                  "answer 403");
  cmd->add_option("--warm-up", flags->warm_up,
                  "history (a file or a directory of files) recorded in the feature state before "
                  "serving, as stream --warm-up");
  cmd->callback([flags, action] { *action = [flags] { return RunServe(*flags); }; });
}

}  // namespace fraud::cli
