#pragma once

// A one-line progress display for long jobs: rows/s, MB/s, percent and ETA, redrawn in place
// at most a few times a second. It draws only when stderr is a terminal and CI is not set, so
// pipes, logs and CI stay quiet.
//
//   Progress progress("clean", total_bytes);  // draws on stderr if it is a terminal
//   for (...) progress.Update(rows_done, bytes_done);
//   progress.Finish();
//
// Not thread-safe: call from one thread.

#include <cstdint>
#include <cstdio>
#include <string>

#include "core/clock.h"

namespace fraud {

// stderr when it is a terminal and CI is not set; nullptr otherwise.
FILE* InteractiveStderr();

class Progress {
 public:
  // total_bytes = 0 when unknown (no percentage or ETA then). out = nullptr: draws nothing.
  Progress(std::string label, uint64_t total_bytes, FILE* out = InteractiveStderr(),
           Clock& clock = Clock::Real());
  ~Progress();

  void Update(uint64_t rows, uint64_t bytes);
  // Clears the line. Called by the destructor too.
  void Finish();

  bool enabled() const { return out_ != nullptr; }
  // The text of the line for the given state; public for tests.
  std::string Line(uint64_t rows, uint64_t bytes, double elapsed_seconds) const;

 private:
  std::string label_;
  uint64_t total_bytes_;
  Clock& clock_;
  FILE* out_;
  int64_t start_nanos_;
  int64_t last_draw_nanos_ = 0;
  bool drawn_ = false;
};


}  // namespace fraud
