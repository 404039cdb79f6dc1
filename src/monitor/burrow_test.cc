#include "monitor/burrow.h"

#include <vector>

#include "gtest/gtest.h"
#include "monitor/lag_monitor.h"

namespace fraud {
namespace {

// A window of samples one second apart from t = 1000 s: committed offsets and lags.
std::vector<LagSample> Window(const std::vector<int64_t>& committed,
                              const std::vector<int64_t>& lag) {
  std::vector<LagSample> out;
  for (size_t i = 0; i < committed.size(); ++i) {
    out.push_back({.time_ms = 1'000'000 + static_cast<int64_t>(i) * 1000,
                   .committed = committed[i],
                   .lag = lag[i]});
  }
  return out;
}

// The newest commit at the newest sample: never STOP.
int64_t Fresh(const std::vector<LagSample>& w) { return w.back().time_ms; }

TEST(Burrow, FewerThanTwoSamplesIsOk) {
  EXPECT_EQ(EvaluatePartition({}, 0), PartitionStatus::kOk);
  const auto one = Window({5}, {100});
  EXPECT_EQ(EvaluatePartition(one, 0), PartitionStatus::kOk);
}

TEST(Burrow, LagZeroAnywhereInTheWindowIsOk) {
  // Even a stopped consumer with growing lag: it reached the end within the window.
  const auto w = Window({10, 10, 10, 10}, {0, 5, 10, 20});
  EXPECT_EQ(EvaluatePartition(w, /*last_commit_ms=*/0), PartitionStatus::kOk);
  const auto newest_zero = Window({10, 20, 30}, {5, 3, 0});
  EXPECT_EQ(EvaluatePartition(newest_zero, 0), PartitionStatus::kOk);
  const auto middle = Window({10, 20, 30}, {5, 0, 7});
  EXPECT_EQ(EvaluatePartition(middle, Fresh(middle)), PartitionStatus::kOk);
}

TEST(Burrow, StopWhenNothingWasCommittedForLongerThanTheSpan) {
  const auto w = Window({10, 10, 10, 10}, {5, 5, 5, 5});  // span 3 s
  // The last commit 3.001 s before the newest sample: longer than the span.
  EXPECT_EQ(EvaluatePartition(w, w.back().time_ms - 3001), PartitionStatus::kStop);
  // Exactly the span: not yet STOP but the offset did not move: STALL.
  EXPECT_EQ(EvaluatePartition(w, w.back().time_ms - 3000), PartitionStatus::kStall);
  // STOP comes before WARN even while lag grows.
  const auto growing = Window({10, 10, 10}, {5, 6, 7});
  EXPECT_EQ(EvaluatePartition(growing, growing.front().time_ms - 1), PartitionStatus::kStop);
}

TEST(Burrow, StallWhenTheOffsetDidNotMoveWhileLagged) {
  const auto w = Window({7, 7, 7}, {3, 3, 3});
  EXPECT_EQ(EvaluatePartition(w, w.front().time_ms), PartitionStatus::kStall);
  const auto growing = Window({7, 7, 7}, {3, 9, 30});
  EXPECT_EQ(EvaluatePartition(growing, growing.front().time_ms), PartitionStatus::kStall);
  // One move anywhere in the window is not a stall.
  const auto moved = Window({7, 7, 8}, {3, 3, 3});
  EXPECT_EQ(EvaluatePartition(moved, Fresh(moved)), PartitionStatus::kOk);
}

TEST(Burrow, WarnWhenLagGrewAcrossTheWholeWindow) {
  const auto rising = Window({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  EXPECT_EQ(EvaluatePartition(rising, Fresh(rising)), PartitionStatus::kWarn);
  // Flat steps are allowed as long as it never fell and ends higher.
  const auto steps = Window({1, 2, 3, 4}, {4, 4, 6, 6});
  EXPECT_EQ(EvaluatePartition(steps, Fresh(steps)), PartitionStatus::kWarn);
  // One fall anywhere: the consumer catches up at times, OK.
  const auto dip = Window({1, 2, 3, 4}, {4, 5, 4, 9});
  EXPECT_EQ(EvaluatePartition(dip, Fresh(dip)), PartitionStatus::kOk);
  // Constant lag with moving offsets keeps pace: OK.
  const auto flat = Window({1, 2, 3, 4}, {4, 4, 4, 4});
  EXPECT_EQ(EvaluatePartition(flat, Fresh(flat)), PartitionStatus::kOk);
  // Shrinking lag: OK.
  const auto shrinking = Window({1, 5, 9}, {9, 5, 1});
  EXPECT_EQ(EvaluatePartition(shrinking, Fresh(shrinking)), PartitionStatus::kOk);
  // Offsets committed every other sample: lag is a sawtooth and dips where a commit lands;
  // what counts is the lag at the commits (140, 180, 220: growing).
  const auto sawtooth = Window({10, 10, 20, 20, 30, 30, 40}, {100, 150, 140, 190, 180, 230, 220});
  EXPECT_EQ(EvaluatePartition(sawtooth, Fresh(sawtooth)), PartitionStatus::kWarn);
  // The same sawtooth with the lag at the commits falling (140, 130, 120): catching up, OK.
  const auto catching_up =
      Window({10, 10, 20, 20, 30, 30, 40}, {100, 150, 140, 190, 130, 180, 120});
  EXPECT_EQ(EvaluatePartition(catching_up, Fresh(catching_up)), PartitionStatus::kOk);
  // Equal lag at the commits: keeps pace, OK.
  const auto level = Window({10, 10, 20, 20, 30}, {100, 150, 100, 150, 100});
  EXPECT_EQ(EvaluatePartition(level, Fresh(level)), PartitionStatus::kOk);
  // One commit only in the window: the ends decide.
  const auto one_commit = Window({10, 10, 10, 20}, {100, 150, 200, 170});
  EXPECT_EQ(EvaluatePartition(one_commit, Fresh(one_commit)), PartitionStatus::kWarn);
  const auto one_commit_down = Window({10, 10, 10, 20}, {100, 150, 200, 90});
  EXPECT_EQ(EvaluatePartition(one_commit_down, Fresh(one_commit_down)), PartitionStatus::kOk);
  // Two samples suffice.
  const auto two = Window({1, 2}, {1, 2});
  EXPECT_EQ(EvaluatePartition(two, Fresh(two)), PartitionStatus::kWarn);
}

TEST(Burrow, NoCommitYetCountsAsAnOffsetThatDoesNotMove) {
  const auto w = Window({-1, -1, -1}, {10, 20, 30});
  EXPECT_EQ(EvaluatePartition(w, w.front().time_ms), PartitionStatus::kStall);
  EXPECT_EQ(EvaluatePartition(w, w.front().time_ms - 1), PartitionStatus::kStop);
}

TEST(Burrow, GroupIsTheWorstPartition) {
  using P = PartitionStatus;
  EXPECT_EQ(EvaluateGroup({}), GroupStatus::kOk);
  const std::vector<P> ok = {P::kOk, P::kOk};
  EXPECT_EQ(EvaluateGroup(ok), GroupStatus::kOk);
  const std::vector<P> warn = {P::kOk, P::kWarn, P::kOk};
  EXPECT_EQ(EvaluateGroup(warn), GroupStatus::kWarn);
  for (const P bad : {P::kStall, P::kStop}) {
    const std::vector<P> mixed = {P::kWarn, bad, P::kOk};
    EXPECT_EQ(EvaluateGroup(mixed), GroupStatus::kErr) << Name(bad);
    const std::vector<P> first = {bad, P::kWarn};
    EXPECT_EQ(EvaluateGroup(first), GroupStatus::kErr) << Name(bad);
  }
  EXPECT_EQ(Name(P::kOk), "OK");
  EXPECT_EQ(Name(P::kWarn), "WARN");
  EXPECT_EQ(Name(P::kStall), "STALL");
  EXPECT_EQ(Name(P::kStop), "STOP");
  EXPECT_EQ(Name(GroupStatus::kErr), "ERR");
}

// The tracker: lag from the committed offset (or the log start with no commit), rates from
// the growth between samples, commits dated by the sample where the offset moved, the window
// cut to kWindowSize, and one change per status move.
TEST(LagTracker, LagRatesWindowsAndAlerts) {
  LagTracker tracker;
  auto at = [&](int64_t second, int64_t committed0, int64_t end0, int64_t committed1,
                int64_t end1) {
    return tracker.Add(
        second * 1000,
        {{.partition = 0, .committed = committed0, .log_end = end0},
         {.partition = 1, .committed = committed1, .log_start = 4, .log_end = end1}});
  };
  LagReport r = at(0, 0, 5, -1, 9);
  EXPECT_EQ(r.lag, 10);
  EXPECT_EQ(r.status, GroupStatus::kOk);  // one sample: no evidence yet
  EXPECT_TRUE(r.changes.empty());
  EXPECT_EQ(r.input_rate, 0);
  // Partition 0 falls behind: lag grows while its offset moves (WARN); partition 1 has no
  // commit, lag from the log start (4), and an offset that does not move (STALL).
  r = at(1, 10, 20, -1, 14);
  EXPECT_EQ(r.partitions[0].lag, 10);
  EXPECT_EQ(r.partitions[1].lag, 10);
  EXPECT_EQ(r.lag, 20);
  EXPECT_DOUBLE_EQ(r.input_rate, 20);       // log ends 5+9 -> 20+14
  EXPECT_DOUBLE_EQ(r.processing_rate, 10);  // committed (or log start) 0+4 -> 10+4
  EXPECT_EQ(r.log_end, 34);
  EXPECT_EQ(r.committed, 14);  // partition 1 counts its log start
  EXPECT_EQ(r.partitions[0].status, PartitionStatus::kWarn);
  EXPECT_EQ(r.partitions[1].status, PartitionStatus::kStall);
  EXPECT_EQ(r.status, GroupStatus::kErr);
  ASSERT_EQ(r.changes.size(), 3u);  // two partitions and the group
  EXPECT_EQ(r.changes[0].partition, 0);
  EXPECT_EQ(r.changes[0].to, "WARN");
  EXPECT_EQ(r.changes[1].to, "STALL");
  EXPECT_EQ(r.changes[2].partition, -1);
  EXPECT_EQ(r.changes[2].from, "OK");
  EXPECT_EQ(r.changes[2].to, "ERR");
  EXPECT_EQ(r.changes[2].lag, 20);
  // Partition 0 catches up; partition 1's offset (first seen at t=0) stays STALL while the
  // window reaches back to t=0, and is STOP once that sample left the window (t=10: the span
  // is 9 s, nothing committed for 10 s).
  r = at(2, 20, 20, -1, 24);
  EXPECT_EQ(r.partitions[0].status, PartitionStatus::kOk);
  EXPECT_EQ(r.partitions[1].status, PartitionStatus::kStall);
  ASSERT_EQ(r.changes.size(), 1u);  // partition 0 only, the group stays ERR
  EXPECT_EQ(r.changes[0].from, "WARN");
  for (int64_t t = 3; t <= 9; ++t) {
    r = at(t, 20, 20, -1, 4 + 10 * t);
    EXPECT_EQ(r.partitions[1].status, PartitionStatus::kStall) << t;
    EXPECT_TRUE(r.changes.empty()) << t;
  }
  r = at(10, 20, 20, -1, 104);
  EXPECT_EQ(r.partitions[1].status, PartitionStatus::kStop);
  EXPECT_EQ(r.status, GroupStatus::kErr);
  ASSERT_EQ(r.changes.size(), 1u);
  EXPECT_EQ(r.changes[0].partition, 1);
  EXPECT_EQ(r.changes[0].from, "STALL");
  EXPECT_EQ(r.changes[0].to, "STOP");
  // A commit on partition 1 that reaches the end: all OK again.
  r = at(11, 20, 20, 124, 124);
  EXPECT_EQ(r.status, GroupStatus::kOk);
  EXPECT_EQ(r.lag, 0);
  EXPECT_DOUBLE_EQ(r.processing_rate, 120);  // 20+4 -> 20+124 in 1 s
  ASSERT_EQ(r.changes.size(), 2u);
  EXPECT_EQ(r.changes[0].from, "STOP");
  EXPECT_EQ(r.changes[1].from, "ERR");
  EXPECT_EQ(r.changes[1].to, "OK");
}

}  // namespace
}  // namespace fraud
