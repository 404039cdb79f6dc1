#include "cli/commands.h"

namespace fraud::cli {

void AddFeaturesCommand(CLI::App&, Action*) {}  // being written

}  // namespace fraud::cli
