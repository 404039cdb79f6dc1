#include "cli/commands.h"

namespace fraud::cli {

void AddPredictCommand(CLI::App&, Action*) {}  // being written

}  // namespace fraud::cli
