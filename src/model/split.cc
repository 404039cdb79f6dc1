#include "model/split.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "core/time.h"
#include "fmt/format.h"

namespace fraud {

absl::StatusOr<SplitRows> MakeHandbookSplit(std::span<const Transaction> txs, const SplitDays& split) {
  SplitRows rows;
  // Customers with a fraud, per day of the training and delay periods.
  const int64_t known_days = split.train_days + split.delay_days;
  std::vector<std::vector<int64_t>> frauds_by_day(static_cast<size_t>(known_days));
  std::vector<std::vector<int64_t>> test_by_day(static_cast<size_t>(split.test_days));
  for (size_t i = 0; i < txs.size(); ++i) {
    const Transaction& tx = txs[i];
    const int64_t day = DayIndex(tx.tx_datetime) - split.train_start_day;
    if (day < 0 || day >= split.end_day() - split.train_start_day) continue;
    if (day < split.train_days) rows.train.push_back(static_cast<int64_t>(i));
    if (day < known_days) {
      if (tx.tx_fraud == 1) frauds_by_day[day].push_back(tx.customer_id.value());
    } else {
      test_by_day[day - known_days].push_back(static_cast<int64_t>(i));
    }
  }
  absl::flat_hash_set<int64_t> known;
  for (int d = 0; d < split.train_days; ++d) known.insert(frauds_by_day[d].begin(), frauds_by_day[d].end());
  for (int d = 0; d < split.test_days; ++d) {
    // Test day d learns the labels of day train_days + d - 1 (the handbook's delay period).
    const int64_t learnt = split.train_days + d - 1;
    if (learnt >= split.train_days && learnt < known_days) {
      known.insert(frauds_by_day[learnt].begin(), frauds_by_day[learnt].end());
    }
    for (int64_t i : test_by_day[d]) {
      if (!known.contains(txs[i].customer_id.value())) rows.test.push_back(i);
    }
  }
  const auto date = [](int64_t day) { return FormatDate(day * kSecondsPerDay); };
  if (rows.train.empty()) {
    return absl::FailedPreconditionError(
        fmt::format("no transactions in the training period {} .. {}", date(split.train_start_day),
                    date(split.train_start_day + split.train_days - 1)));
  }
  if (rows.test.empty()) {
    return absl::FailedPreconditionError(fmt::format(
        "no transactions in the test period {} .. {}", date(split.test_start_day()),
        date(split.end_day() - 1)));
  }
  return rows;
}

SplitDays ValidationSplit(const SplitDays& split) {
  SplitDays validation = split;
  validation.train_start_day = split.train_start_day - split.delay_days - split.train_days;
  validation.test_days = split.train_days;
  return validation;
}

absl::StatusOr<int64_t> DefaultTrainStartDay(std::span<const Transaction> txs,
                                             const SplitDays& shape) {
  if (txs.empty()) return absl::FailedPreconditionError("no transactions");
  int64_t first = DayIndex(txs.front().tx_datetime);
  int64_t last = first;
  for (const Transaction& tx : txs) {
    first = std::min(first, DayIndex(tx.tx_datetime));
    last = std::max(last, DayIndex(tx.tx_datetime));
  }
  const int64_t span = shape.train_days + shape.delay_days + shape.test_days;
  const int64_t handbook = DayIndex(*ParseDate("2018-07-25"));
  if (handbook >= first && handbook + span - 1 <= last) return handbook;
  const int64_t latest = last - span + 1;
  if (latest < first) {
    return absl::FailedPreconditionError(fmt::format(
        "the data covers {} days ({} .. {}); train + delay + test needs {}", last - first + 1,
        FormatDate(first * kSecondsPerDay), FormatDate(last * kSecondsPerDay), span));
  }
  return latest;
}

}  // namespace fraud
