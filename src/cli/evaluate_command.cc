#include "cli/commands.h"

namespace fraud::cli {

void AddEvaluateCommand(CLI::App&, Action*) {}  // being written

}  // namespace fraud::cli
