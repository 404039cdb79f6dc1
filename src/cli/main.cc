#include "cli/commands.h"

int main(int argc, char** argv) { return fraud::cli::Main(argc, argv); }
