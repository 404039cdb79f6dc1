#pragma once

// A child process of `fraudstream demo`: another fraudstream command (or any program),
// started in its own process group so that a Ctrl-C reaches the demo only and the demo stops
// each part in order; it gets SIGTERM if the demo dies.
//
//   ASSIGN_OR_RETURN(Subprocess broker, Subprocess::Start("broker", {self, "broker"}, "b.log"));
//   ...
//   broker.Stop(std::chrono::seconds(10));  // SIGTERM, then SIGKILL after the grace time
//
// Output goes to a log file, or to the demo's own stdout/stderr when the path is empty.
// Not thread-safe; the destructor stops a child still running.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fraud::cli {

class Subprocess {
 public:
  // Unavailable when fork or exec fails (exec failures show as exit code 127).
  static absl::StatusOr<Subprocess> Start(std::string name, const std::vector<std::string>& argv,
                                          const std::string& log_path = "",
                                          const std::string& stdout_path = "");
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  ~Subprocess();

  const std::string& name() const { return name_; }
  int pid() const { return pid_; }
  // The exit code once it has exited (128 + signal when killed by one); nullopt while running.
  std::optional<int> Poll();
  // Waits up to `timeout` for the exit; nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  // SIGTERM (what Ctrl-C does to a command), then SIGKILL after `grace`. The exit code.
  int Stop(std::chrono::milliseconds grace);

 private:
  Subprocess(std::string name, int pid) : name_(std::move(name)), pid_(pid) {}
  std::string name_;
  int pid_ = -1;
  std::optional<int> exit_code_;
};

}  // namespace fraud::cli
