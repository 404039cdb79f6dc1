#pragma once

// One function per subcommand, each in its own <name>_command.cc. A function adds its
// subcommand and options to the parent app; when that subcommand is the one on the command
// line, its callback stores in *action the work to run after parsing is complete.

#include <functional>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"

namespace fraud::cli {

using Action = std::function<absl::Status()>;

void AddGenerateCommand(CLI::App& app, Action* action);
void AddCleanCommand(CLI::App& app, Action* action);
void AddFeaturesCommand(CLI::App& app, Action* action);
void AddTrainCommand(CLI::App& app, Action* action);
void AddEvaluateCommand(CLI::App& app, Action* action);
void AddPredictCommand(CLI::App& app, Action* action);
void AddBrokerCommand(CLI::App& app, Action* action);  // stream_commands.cc
void AddReplayCommand(CLI::App& app, Action* action);
void AddStreamCommand(CLI::App& app, Action* action);
void AddMonitorCommand(CLI::App& app, Action* action);  // monitor_command.cc
void AddCapacityCommand(CLI::App& app, Action* action);  // capacity_command.cc
void AddRunsCommand(CLI::App& app, Action* action);
void AddModelsCommand(CLI::App& app, Action* action);
void AddPromoteCommand(CLI::App& app, Action* action);
void AddRetrainCommand(CLI::App& app, Action* action);
void AddServeCommand(CLI::App& app, Action* action);  // serve_command.cc
void AddDashboardCommand(CLI::App& app, Action* action);
void AddDemoCommand(CLI::App& app, Action* action);

// Parses argv, runs the chosen subcommand, returns the process exit code.
int Main(int argc, char** argv);

}  // namespace fraud::cli
