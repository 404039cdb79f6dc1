#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "core/status.h"

#ifndef FRAUD_VERSION
#define FRAUD_VERSION "unknown"
#endif

namespace fraud::cli {
namespace {

// "fraudstream clean" for the deepest subcommand that was given, for error hints.
std::string CommandPath(const CLI::App& app) {
  std::string path = app.get_name();
  const CLI::App* current = &app;
  while (true) {
    const auto chosen = current->get_subcommands();
    if (chosen.empty()) break;
    current = chosen.front();
    path += " " + current->get_name();
  }
  return path;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app(
      "fraudstream: real-time fraud detection for card transactions, the whole loop in one "
      "binary.\nSee 'fraudstream COMMAND --help' for each command.",
      "fraudstream");
  app.set_version_flag("--version", std::string("fraudstream ") + FRAUD_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  Action action;
  AddGenerateCommand(app, &action);
  AddCleanCommand(app, &action);
  AddFeaturesCommand(app, &action);
  AddTrainCommand(app, &action);
  AddEvaluateCommand(app, &action);
  AddPredictCommand(app, &action);
  AddBrokerCommand(app, &action);
  AddReplayCommand(app, &action);
  AddStreamCommand(app, &action);
  AddMonitorCommand(app, &action);
  AddCapacityCommand(app, &action);
  AddRunsCommand(app, &action);
  AddModelsCommand(app, &action);
  AddPromoteCommand(app, &action);
  AddRetrainCommand(app, &action);
  AddServeCommand(app, &action);
  AddDashboardCommand(app, &action);
  AddDemoCommand(app, &action);

  const auto known = [&app](const std::string& name) {
    for (const CLI::App* sub : app.get_subcommands({})) {
      if (sub->check_name(name)) return true;
    }
    return false;
  };
  if (argc > 1 && argv[1][0] != '-' && !known(argv[1])) {
    std::fprintf(stderr, "fraudstream: error: unknown command '%s' (run 'fraudstream --help' for "
                 "the list)\n", argv[1]);
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    const std::string path = CommandPath(app);
    std::fprintf(stderr, "%s: error: %s (run '%s --help' for usage)\n", path.c_str(), e.what(),
                 path.c_str());
    return kExitUsage;
  }
  const std::string path = CommandPath(app);
  if (!action) {
    std::fprintf(stderr, "%s: error: no command given (run '%s --help' for usage)\n",
                 path.c_str(), path.c_str());
    return kExitUsage;
  }
  absl::Status status;
  try {
    status = action();
  } catch (const std::exception& e) {  // a bug of ours, reported as such rather than a crash
    status = absl::InternalError(e.what());
  }
  if (!status.ok()) {
    const std::string hint = ExitCodeFor(status) == kExitUsage
                                 ? " (run '" + path + " --help' for usage)"
                                 : std::string();
    std::fprintf(stderr, "%s: error: %s%s\n", path.c_str(), std::string(status.message()).c_str(),
                 hint.c_str());
  }
  return ExitCodeFor(status);
}

}  // namespace fraud::cli
