#include "cli/commands.h"

namespace fraud::cli {

void AddTrainCommand(CLI::App&, Action*) {}  // being written

}  // namespace fraud::cli
