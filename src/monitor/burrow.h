#pragma once

// Consumer-lag status with Burrow's rules (DESIGN §7; github.com/linkedin/Burrow, "Consumer
// Lag Evaluation Rules"), as pure functions over a window of samples, so every rule is tested
// with hand-made windows and no broker.
//
// A window holds the last kWindowSize samples of one partition, oldest first: when it was taken,
// the group's committed offset and the lag (log-end offset minus committed offset). Kafka keeps no
// commit times and librdkafka does not commit an offset again that has not moved, so the caller
// dates the newest commit by the sample at which the committed offset was first seen at its
// present value (LagMonitor in monitor/lag_monitor.h does).
//
// Rules, in Burrow's order, for a window whose newest sample has lag > 0:
//   OK     lag was 0 at some sample of the window (the consumer reached the end), or the window
//          has fewer than 2 samples (no evidence yet);
//   STOP   nothing was committed for longer than the window's span (newest - oldest time);
//   STALL  the committed offset did not move across the window while lag > 0;
//   WARN   lag grew across the whole window: measured at the samples where the committed offset
//          had moved (Burrow evaluates one entry per commit; between commits lag is a sawtooth
//          that depends on when a sample falls), it never fell from one to the next and the last
//          is above the first; with fewer than two such samples, the newest is above the oldest;
//   OK     otherwise (the consumer keeps up or catches up).
// A group's status is the worst of its partitions': OK, WARN, or ERR for STALL or STOP.
//
//   std::vector<LagSample> window = ...;  // oldest first
//   PartitionStatus s = EvaluatePartition(window, last_commit_ms);
//   GroupStatus g = EvaluateGroup({s, ...});

#include <cstdint>
#include <span>
#include <string_view>

namespace fraud {

inline constexpr int kWindowSize = 10;  // samples per window, as Burrow's default

struct LagSample {
  int64_t time_ms = 0;     // when it was taken (monotonic or wall clock, one per window)
  int64_t committed = -1;  // the group's committed offset; -1: none yet
  int64_t lag = 0;         // log-end offset minus committed offset (or the log start), >= 0
};

enum class PartitionStatus { kOk, kWarn, kStall, kStop };
enum class GroupStatus { kOk, kWarn, kErr };

// window: oldest first (empty: OK). last_commit_ms: when the committed offset last moved (see
// above); ignored unless needed.
PartitionStatus EvaluatePartition(std::span<const LagSample> window, int64_t last_commit_ms);
// The worst status; OK for no partitions.
GroupStatus EvaluateGroup(std::span<const PartitionStatus> partitions);

std::string_view Name(PartitionStatus status);  // "OK", "WARN", "STALL", "STOP"
std::string_view Name(GroupStatus status);      // "OK", "WARN", "ERR"

}  // namespace fraud
