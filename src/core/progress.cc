#include "core/progress.h"

#include <unistd.h>

#include <cstdlib>

#include "fmt/format.h"

namespace fraud {
namespace {

constexpr int64_t kRedrawNanos = 200'000'000;

std::string Duration(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, s / 60 % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

}  // namespace

FILE* InteractiveStderr() {
  const char* ci = std::getenv("CI");
  const bool interactive = isatty(STDERR_FILENO) == 1 && (ci == nullptr || *ci == '\0');
  return interactive ? stderr : nullptr;
}

Progress::Progress(std::string label, uint64_t total_bytes, FILE* out, Clock& clock)
    : label_(std::move(label)),
      total_bytes_(total_bytes),
      clock_(clock),
      out_(out),
      start_nanos_(clock.NowNanos()) {}

Progress::~Progress() { Finish(); }

std::string Progress::Line(uint64_t rows, uint64_t bytes, double elapsed) const {
  const double rate = elapsed > 0 ? static_cast<double>(rows) / elapsed : 0.0;
  const double mbps = elapsed > 0 ? static_cast<double>(bytes) / 1e6 / elapsed : 0.0;
  std::string line = fmt::format("{}: {} rows, {:.2f} M rows/s, {:.0f} MB/s", label_, rows,
                                     rate / 1e6, mbps);
  if (total_bytes_ > 0 && bytes > 0) {
    const double fraction = static_cast<double>(bytes) / static_cast<double>(total_bytes_);
    const double eta = elapsed * (1.0 - fraction) / fraction;
    line += fmt::format(", {:.0f}%, ETA {}", fraction * 100.0, Duration(eta));
  }
  return line;
}

void Progress::Update(uint64_t rows, uint64_t bytes) {
  if (out_ == nullptr) return;
  const int64_t now = clock_.NowNanos();
  if (drawn_ && now - last_draw_nanos_ < kRedrawNanos) return;
  last_draw_nanos_ = now;
  drawn_ = true;
  const std::string line = Line(rows, bytes, static_cast<double>(now - start_nanos_) * 1e-9);
  std::fprintf(out_, "\r\033[K%s", line.c_str());
  std::fflush(out_);
}

void Progress::Finish() {
  if (out_ != nullptr && drawn_) {
    std::fprintf(out_, "\r\033[K");
    std::fflush(out_);
  }
  drawn_ = false;
}

}  // namespace fraud
