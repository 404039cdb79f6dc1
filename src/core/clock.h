#pragma once

// Time as an injected dependency (leveldb's Env idea, reduced to what we need so far):
// code that paces, times out or reports rates takes a Clock&, tests pass a ManualClock.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

namespace fraud {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time in nanoseconds from an arbitrary origin.
  virtual int64_t NowNanos() const = 0;
  virtual void SleepForNanos(int64_t nanos) = 0;

  double NowSeconds() const { return static_cast<double>(NowNanos()) * 1e-9; }

  // The process-wide steady clock. Thread-safe.
  static Clock& Real();
};

// A clock that only moves when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  int64_t NowNanos() const override { return now_.load(); }
  void SleepForNanos(int64_t nanos) override { now_ += nanos; }
  void AdvanceSeconds(double seconds) { now_ += static_cast<int64_t>(seconds * 1e9); }

 private:
  std::atomic<int64_t> now_{0};
};

}  // namespace fraud
