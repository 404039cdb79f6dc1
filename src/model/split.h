#pragma once

// The Fraud Detection Handbook's evaluation protocol (ch. 3.4, 5.2):
//
//   train [S, S+train)   delay [S+train, S+train+delay)   test [S+train+delay, +test)
//
// Days are whole calendar days of event time. The test set drops, on each test day i, the
// customers already known to be compromised: those with a fraud in the training period or on
// the delay-period days up to S+train+i-1 (labels arrive one day at a time, `delay` late).
// The validation split used to pick the operating threshold is the same protocol shifted back
// by train+delay days: it trains on [S-delay-train, S-delay) and tests on the training period
// [S, S+train), so the threshold never sees the test days (the handbook's model selection).

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "core/transaction.h"

namespace fraud {

struct SplitDays {
  int64_t train_start_day = 0;  // core/time.h DayIndex of S
  int train_days = 7;
  int delay_days = 7;
  int test_days = 7;

  int64_t test_start_day() const { return train_start_day + train_days + delay_days; }
  int64_t end_day() const { return test_start_day() + test_days; }  // exclusive
};

struct SplitRows {
  std::vector<int64_t> train;  // indices into the transactions, in order
  std::vector<int64_t> test;
};

// txs in any order. Errors (FailedPrecondition) when the training or the test period holds no
// transaction, naming the dates.
absl::StatusOr<SplitRows> MakeHandbookSplit(std::span<const Transaction> txs, const SplitDays& split);

// The split whose test period is `split`'s training period (for choosing the threshold).
SplitDays ValidationSplit(const SplitDays& split);

// The default training start: 2018-07-25 (the handbook's) when the data covers that split,
// else the latest start whose test period ends on the data's last day.
absl::StatusOr<int64_t> DefaultTrainStartDay(std::span<const Transaction> txs, const SplitDays& shape);

}  // namespace fraud
