#include "monitor/burrow.h"

#include <algorithm>
#include <vector>

namespace fraud {

PartitionStatus EvaluatePartition(std::span<const LagSample> window, int64_t last_commit_ms) {
  if (window.size() < 2) return PartitionStatus::kOk;
  if (std::ranges::any_of(window, [](const LagSample& s) { return s.lag == 0; })) {
    return PartitionStatus::kOk;
  }
  const LagSample& oldest = window.front();
  const LagSample& newest = window.back();
  if (newest.time_ms - last_commit_ms > newest.time_ms - oldest.time_ms) {
    return PartitionStatus::kStop;
  }
  if (std::ranges::all_of(window,
                          [&](const LagSample& s) { return s.committed == oldest.committed; })) {
    return PartitionStatus::kStall;
  }
  // Lag at the samples where a commit was seen (Burrow's window holds one entry per commit):
  // between commits lag is a sawtooth whose height depends on when a sample falls.
  std::vector<int64_t> at_commits;
  for (size_t i = 1; i < window.size(); ++i) {
    if (window[i].committed != window[i - 1].committed) at_commits.push_back(window[i].lag);
  }
  if (at_commits.size() < 2) at_commits = {oldest.lag, newest.lag};  // too few: the ends
  bool never_fell = true;
  for (size_t i = 1; i < at_commits.size(); ++i) never_fell &= at_commits[i] >= at_commits[i - 1];
  if (never_fell && at_commits.back() > at_commits.front()) return PartitionStatus::kWarn;
  return PartitionStatus::kOk;
}

GroupStatus EvaluateGroup(std::span<const PartitionStatus> partitions) {
  GroupStatus worst = GroupStatus::kOk;
  for (const PartitionStatus p : partitions) {
    if (p == PartitionStatus::kStall || p == PartitionStatus::kStop) return GroupStatus::kErr;
    if (p == PartitionStatus::kWarn) worst = GroupStatus::kWarn;
  }
  return worst;
}

std::string_view Name(PartitionStatus status) {
  switch (status) {
    case PartitionStatus::kOk:
      return "OK";
    case PartitionStatus::kWarn:
      return "WARN";
    case PartitionStatus::kStall:
      return "STALL";
    case PartitionStatus::kStop:
      return "STOP";
  }
  return "?";
}

std::string_view Name(GroupStatus status) {
  switch (status) {
    case GroupStatus::kOk:
      return "OK";
    case GroupStatus::kWarn:
      return "WARN";
    case GroupStatus::kErr:
      return "ERR";
  }
  return "?";
}

}  // namespace fraud
