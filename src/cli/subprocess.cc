#include "cli/subprocess.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <thread>
#include <utility>

#include "fmt/format.h"

namespace fraud::cli {

absl::StatusOr<Subprocess> Subprocess::Start(std::string name, const std::vector<std::string>& argv,
                                             const std::string& log_path,
                                             const std::string& stdout_path) {
  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int log_fd = -1, out_fd = -1;
  if (!log_path.empty()) {
    log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) {
      return absl::UnavailableError(fmt::format("{}: {}", log_path, std::strerror(errno)));
    }
  }
  if (!stdout_path.empty()) {
    out_fd = open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_fd < 0) {
      if (log_fd >= 0) close(log_fd);
      return absl::UnavailableError(fmt::format("{}: {}", stdout_path, std::strerror(errno)));
    }
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);  // the demo died before prctl
    if (out_fd >= 0) dup2(out_fd, STDOUT_FILENO);
    if (log_fd >= 0) {
      if (out_fd < 0) dup2(log_fd, STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
    }
    execv(args[0], args.data());
    _exit(127);
  }
  const int fork_errno = errno;
  if (log_fd >= 0) close(log_fd);
  if (out_fd >= 0) close(out_fd);
  if (pid < 0) {
    return absl::UnavailableError(fmt::format("{}: fork: {}", name, std::strerror(fork_errno)));
  }
  return Subprocess(std::move(name), pid);
}

Subprocess::Subprocess(Subprocess&& other) noexcept
    : name_(std::move(other.name_)),
      pid_(std::exchange(other.pid_, -1)),
      exit_code_(other.exit_code_) {}

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !exit_code_) Stop(std::chrono::seconds(5));
    name_ = std::move(other.name_);
    pid_ = std::exchange(other.pid_, -1);
    exit_code_ = other.exit_code_;
  }
  return *this;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !exit_code_) Stop(std::chrono::seconds(5));
}

std::optional<int> Subprocess::Poll() {
  if (exit_code_ || pid_ <= 0) return exit_code_;
  int status = 0;
  const pid_t done = waitpid(pid_, &status, WNOHANG);
  if (done == pid_) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return exit_code_;
}

std::optional<int> Subprocess::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!Poll()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return exit_code_;
}

int Subprocess::Stop(std::chrono::milliseconds grace) {
  if (Poll()) return *exit_code_;
  kill(pid_, SIGTERM);
  if (const std::optional<int> code = Wait(grace)) return *code;
  kill(pid_, SIGKILL);
  return Wait(std::chrono::hours(1)).value_or(128 + SIGKILL);
}

}  // namespace fraud::cli
