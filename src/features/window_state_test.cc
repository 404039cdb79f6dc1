#include "features/window_state.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "core/time.h"
#include "gtest/gtest.h"

namespace fraud {
namespace {

constexpr int64_t kDay = kSecondsPerDay;
// 2018-04-02 00:00:00, a Monday.
const int64_t kMonday = DaysFromCivil(2018, 4, 2) * kDay;

const FeatureSpec& V1() { return *FindFeatureSpec("handbook-v1"); }
const FeatureSpec& V2() { return *FindFeatureSpec("fraudstream-v2"); }
const FeatureSpec& V3() { return *FindFeatureSpec("fraudstream-v3"); }
const FeatureSpec& V4() { return *FindFeatureSpec("fraudstream-v4"); }

Transaction Tx(int64_t id, int64_t customer, int64_t terminal, int64_t time, int64_t cents,
               int8_t fraud = 0) {
  Transaction tx;
  tx.transaction_id = TransactionId(id);
  tx.customer_id = CustomerId(customer);
  tx.terminal_id = TerminalId(terminal);
  tx.tx_datetime = time;
  tx.amount_cents = cents;
  tx.tx_fraud = fraud;
  return tx;
}

std::vector<float> Process(FeatureState& state, const Transaction& tx) {
  std::vector<float> row(state.spec().size(), -1.0f);
  state.Process(tx, row.data());
  return row;
}

float Feature(const FeatureState& state, const std::vector<float>& row, std::string_view name) {
  const int i = state.spec().IndexOf(name);
  EXPECT_GE(i, 0) << name;
  return row[i];
}

TEST(TransactionFeatures, WeekendAndNightBoundaries) {
  float row[3];
  const auto at = [&](int64_t t) {
    ComputeTransactionFeatures(Tx(1, 1, 1, t, 1234), row);
    return std::pair<float, float>(row[1], row[2]);
  };
  EXPECT_EQ(row[0] = 0, 0);
  ComputeTransactionFeatures(Tx(1, 1, 1, kMonday, 1234), row);
  EXPECT_FLOAT_EQ(row[0], 12.34f);
  const int64_t saturday = kMonday + 5 * kDay;
  EXPECT_EQ(at(saturday - 1).first, 0.0f);             // Friday 23:59:59
  EXPECT_EQ(at(saturday).first, 1.0f);                 // Saturday 00:00:00
  EXPECT_EQ(at(saturday + 2 * kDay - 1).first, 1.0f);  // Sunday 23:59:59
  EXPECT_EQ(at(saturday + 2 * kDay).first, 0.0f);      // Monday 00:00:00
  EXPECT_EQ(at(kMonday).second, 1.0f);                 // 00:00:00
  EXPECT_EQ(at(kMonday + 7 * 3600 - 1).second, 1.0f);  // 06:59:59
  EXPECT_EQ(at(kMonday + 7 * 3600).second, 0.0f);      // 07:00:00
  EXPECT_EQ(at(kMonday + kDay - 1).second, 0.0f);      // 23:59:59
}

TEST(CustomerWindows, ExactlyNDaysOldIsOutside) {
  FeatureState state(V1());
  const int64_t t0 = kMonday + 12 * 3600;
  Process(state, Tx(1, 7, 1, t0, 1000));
  // One second less than a day later: inside the 1-day window.
  std::vector<float> row(15);
  state.Compute(Tx(2, 7, 1, t0 + kDay - 1, 3000), row.data());
  EXPECT_EQ(Feature(state, row, "CUSTOMER_ID_NB_TX_1DAY_WINDOW"), 2.0f);
  EXPECT_FLOAT_EQ(Feature(state, row, "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW"), 20.0f);
  // Exactly a day later: (t - 1 day, t] leaves it out.
  row = Process(state, Tx(2, 7, 1, t0 + kDay, 3000));
  EXPECT_EQ(Feature(state, row, "CUSTOMER_ID_NB_TX_1DAY_WINDOW"), 1.0f);
  EXPECT_FLOAT_EQ(Feature(state, row, "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW"), 30.0f);
  EXPECT_EQ(Feature(state, row, "CUSTOMER_ID_NB_TX_7DAY_WINDOW"), 2.0f);
  EXPECT_FLOAT_EQ(Feature(state, row, "CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW"), 20.0f);
  // 7 and 30 days after the first.
  row = Process(state, Tx(3, 7, 1, t0 + 7 * kDay, 500));
  EXPECT_EQ(Feature(state, row, "CUSTOMER_ID_NB_TX_7DAY_WINDOW"), 2.0f);  // t0 is out
  EXPECT_EQ(Feature(state, row, "CUSTOMER_ID_NB_TX_30DAY_WINDOW"), 3.0f);
  row = Process(state, Tx(4, 7, 1, t0 + 30 * kDay, 500));
  EXPECT_EQ(Feature(state, row, "CUSTOMER_ID_NB_TX_30DAY_WINDOW"), 3.0f);  // t0 is out
  EXPECT_FLOAT_EQ(Feature(state, row, "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW"), 40.0f / 3);
  // Another customer is not affected.
  row = Process(state, Tx(5, 8, 1, t0 + 30 * kDay, 100));
  EXPECT_EQ(Feature(state, row, "CUSTOMER_ID_NB_TX_30DAY_WINDOW"), 1.0f);
  EXPECT_FLOAT_EQ(Feature(state, row, "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW"), 1.0f);
}

TEST(CustomerWindows, SameSecondCountsInArrivalOrder) {
  FeatureState state(V1());
  const int64_t t = kMonday + 100;
  auto a = Process(state, Tx(1, 7, 1, t, 1000));
  auto b = Process(state, Tx(2, 7, 2, t, 2000));
  auto c = Process(state, Tx(3, 7, 3, t, 6000));
  EXPECT_EQ(a[3], 1.0f);
  EXPECT_EQ(b[3], 2.0f);
  EXPECT_EQ(c[3], 3.0f);
  EXPECT_FLOAT_EQ(a[4], 10.0f);
  EXPECT_FLOAT_EQ(b[4], 15.0f);
  EXPECT_FLOAT_EQ(c[4], 30.0f);
}

TEST(TerminalWindows, DelayedWindowBoundaries) {
  const int64_t e = kMonday + 3600;
  const auto features_at = [&](int64_t t) {
    FeatureState state(V1());
    Process(state, Tx(1, 1, 5, e, 1000, 1));
    std::vector<float> row(15);
    state.Compute(Tx(2, 2, 5, t, 1000), row.data());
    return row;
  };
  // (t - (N+D), t - D] with D = 7 days.
  auto row = features_at(e + 7 * kDay - 1);  // younger than the delay
  EXPECT_EQ(row[9], 0.0f);
  EXPECT_EQ(row[10], 0.0f);  // risk 0 for an empty window
  EXPECT_EQ(row[13], 0.0f);
  row = features_at(e + 7 * kDay);  // exactly the delay old: inside, label known
  EXPECT_EQ(row[9], 1.0f);
  EXPECT_EQ(row[10], 1.0f);
  EXPECT_EQ(row[11], 1.0f);
  EXPECT_EQ(row[13], 1.0f);
  row = features_at(e + 8 * kDay - 1);
  EXPECT_EQ(row[9], 1.0f);
  row = features_at(e + 8 * kDay);  // exactly N + D old: out of the 1-day window
  EXPECT_EQ(row[9], 0.0f);
  EXPECT_EQ(row[10], 0.0f);
  EXPECT_EQ(row[11], 1.0f);
  row = features_at(e + 14 * kDay);
  EXPECT_EQ(row[11], 0.0f);
  EXPECT_EQ(row[13], 1.0f);
  row = features_at(e + 37 * kDay - 1);
  EXPECT_EQ(row[13], 1.0f);
  EXPECT_EQ(row[14], 1.0f);
  row = features_at(e + 37 * kDay);
  EXPECT_EQ(row[13], 0.0f);
  EXPECT_EQ(row[14], 0.0f);
}

TEST(TerminalWindows, RiskAndAbsentLabels) {
  FeatureState state(V1());
  const int64_t t = kMonday;
  Process(state, Tx(1, 1, 5, t, 1000, 1));
  Process(state, Tx(2, 2, 5, t + 10, 1000, 0));
  Process(state, Tx(3, 3, 5, t + 20, 1000, kAbsentLabel));  // not known as fraud
  Process(state, Tx(4, 4, 5, t + 30, 1000, 1));
  std::vector<float> row(15);
  state.Compute(Tx(9, 9, 5, t + 8 * kDay - 1, 1000), row.data());
  EXPECT_EQ(row[9], 4.0f);
  EXPECT_FLOAT_EQ(row[10], 0.5f);
  // Only the first three are old enough.
  state.Compute(Tx(9, 9, 5, t + 7 * kDay + 25, 1000), row.data());
  EXPECT_EQ(row[9], 3.0f);
  EXPECT_FLOAT_EQ(row[10], 1.0f / 3);
}

TEST(TerminalWindows, SetLabelUpdatesARecordedTransaction) {
  FeatureState state(V1());
  const int64_t t = kMonday;
  Process(state, Tx(1, 1, 5, t, 1000, kAbsentLabel));
  Process(state, Tx(2, 2, 5, t, 1000, kAbsentLabel));  // same second: found by id
  Process(state, Tx(3, 3, 5, t + 50, 1000, kAbsentLabel));
  std::vector<float> row(15);
  const Transaction probe = Tx(9, 9, 5, t + 7 * kDay + 60, 1000);
  state.Compute(probe, row.data());
  EXPECT_EQ(row[9], 3.0f);
  EXPECT_EQ(row[10], 0.0f);
  EXPECT_TRUE(state.SetLabel(TransactionId(2), TerminalId(5), t, 1));
  state.Compute(probe, row.data());
  EXPECT_FLOAT_EQ(row[10], 1.0f / 3);
  EXPECT_TRUE(state.SetLabel(TransactionId(1), TerminalId(5), t, 1));
  state.Compute(probe, row.data());
  EXPECT_FLOAT_EQ(row[10], 2.0f / 3);
  EXPECT_TRUE(state.SetLabel(TransactionId(2), TerminalId(5), t, 0));  // revoked
  state.Compute(probe, row.data());
  EXPECT_FLOAT_EQ(row[10], 1.0f / 3);
  // Unknown transaction, wrong time or wrong terminal: not applied.
  EXPECT_FALSE(state.SetLabel(TransactionId(7), TerminalId(5), t, 1));
  EXPECT_FALSE(state.SetLabel(TransactionId(3), TerminalId(5), t, 1));
  EXPECT_FALSE(state.SetLabel(TransactionId(3), TerminalId(6), t + 50, 1));
  // A label younger than the delay never counts.
  EXPECT_TRUE(state.SetLabel(TransactionId(3), TerminalId(5), t + 50, 1));
  state.Compute(Tx(9, 9, 5, t + 7 * kDay + 49, 1000), row.data());
  EXPECT_EQ(row[9], 2.0f);
  EXPECT_FLOAT_EQ(row[10], 0.5f);
}

TEST(FeatureState, ComputeDoesNotChangeTheState) {
  FeatureState state(V2());
  Process(state, Tx(1, 1, 1, kMonday, 1000));
  const std::string before = state.Serialize();
  std::vector<float> a(V2().size()), b(V2().size());
  state.Compute(Tx(2, 1, 1, kMonday + 5, 2000), a.data());
  state.Compute(Tx(2, 1, 1, kMonday + 5, 2000), b.data());
  EXPECT_EQ(a, b);
  EXPECT_EQ(state.Serialize(), before);
  const auto c = Process(state, Tx(2, 1, 1, kMonday + 5, 2000));
  EXPECT_EQ(a, c);
  EXPECT_NE(state.Serialize(), before);
}

TEST(CustomerProfile, HandComputedValues) {
  FeatureState state(V2());
  const int64_t t = kMonday + 12 * 3600;
  auto first = Process(state, Tx(1, 7, 1, t - 3 * kDay, 1000));
  EXPECT_EQ(Feature(state, first, "CUSTOMER_ID_AMOUNT_RATIO_30DAY_WINDOW"), 1.0f);
  EXPECT_EQ(Feature(state, first, "CUSTOMER_ID_STD_AMOUNT_30DAY_WINDOW"), 0.0f);
  EXPECT_EQ(Feature(state, first, "CUSTOMER_ID_AMOUNT_ZSCORE_30DAY_WINDOW"), 0.0f);
  EXPECT_EQ(Feature(state, first, "CUSTOMER_ID_SECONDS_SINCE_PREV_TX"), 30.0f * kDay);
  Process(state, Tx(2, 7, 1, t - 100, 2000));
  const auto row = Process(state, Tx(3, 7, 1, t, 6000));
  EXPECT_FLOAT_EQ(Feature(state, row, "CUSTOMER_ID_AMOUNT_RATIO_1DAY_WINDOW"), 3.0f);  // 60/20
  EXPECT_FLOAT_EQ(Feature(state, row, "CUSTOMER_ID_AMOUNT_RATIO_7DAY_WINDOW"), 4.0f);  // 60/15
  EXPECT_FLOAT_EQ(Feature(state, row, "CUSTOMER_ID_AMOUNT_RATIO_30DAY_WINDOW"), 4.0f);
  // {10, 20, 60}: mean 30, population variance (400 + 100 + 900) / 3.
  EXPECT_NEAR(Feature(state, row, "CUSTOMER_ID_STD_AMOUNT_30DAY_WINDOW"), std::sqrt(1400.0 / 3),
              1e-4);
  // Earlier {10, 20}: mean 15, std 5 -> (60 - 15) / 5.
  EXPECT_FLOAT_EQ(Feature(state, row, "CUSTOMER_ID_AMOUNT_ZSCORE_30DAY_WINDOW"), 9.0f);
  EXPECT_EQ(Feature(state, row, "CUSTOMER_ID_SECONDS_SINCE_PREV_TX"), 100.0f);
  // Equal earlier amounts: std floored at one cent.
  FeatureState flat(V2());
  Process(flat, Tx(1, 1, 1, t, 1000));
  Process(flat, Tx(2, 1, 1, t + 1, 1000));
  const auto z = Process(flat, Tx(3, 1, 1, t + 2, 1500));
  EXPECT_FLOAT_EQ(Feature(flat, z, "CUSTOMER_ID_AMOUNT_ZSCORE_30DAY_WINDOW"), 500.0f);
}

TEST(CustomerAnomalyProfile, HandComputedValues) {
  FeatureState state(V3());
  const int64_t t = kMonday + 12 * 3600;
  const auto ratio = [&](const std::vector<float>& row) {
    return Feature(state, row, "CUSTOMER_ID_AMOUNT_RATIO_BASELINE");
  };
  const auto over2 = [&](const std::vector<float>& row) {
    return Feature(state, row, "CUSTOMER_ID_NB_TX_OVER_2X_BASELINE_7DAY_WINDOW");
  };
  const auto over3 = [&](const std::vector<float>& row) {
    return Feature(state, row, "CUSTOMER_ID_NB_TX_OVER_3X_BASELINE_7DAY_WINDOW");
  };
  const auto largest = [&](const std::vector<float>& row) {
    return Feature(state, row, "CUSTOMER_ID_MAX_RATIO_BASELINE_7DAY_WINDOW");
  };
  // No baseline yet: ratio 1, nothing counted.
  auto row = Process(state, Tx(1, 7, 1, t - 20 * kDay, 1000));
  EXPECT_EQ(ratio(row), 1.0f);
  EXPECT_EQ(over2(row), 0.0f);
  EXPECT_EQ(largest(row), 0.0f);
  Process(state, Tx(2, 7, 1, t - 10 * kDay, 3000));  // baseline {10, 30}: mean 20
  // Exactly 7 days old: in the baseline (t - 30 days, t - 7 days], not recent.
  Process(state, Tx(3, 7, 1, t - 7 * kDay, 2000));      // baseline {10, 30, 20}: mean 20
  Process(state, Tx(4, 7, 1, t - 7 * kDay + 1, 5000));  // recent: 2.5x
  Process(state, Tx(5, 7, 1, t - 100, 7000));           // recent: 3.5x
  row = Process(state, Tx(6, 7, 1, t, 10000));
  EXPECT_FLOAT_EQ(ratio(row), 5.0f);  // 100 / 20; this one is not counted as recent
  EXPECT_EQ(over2(row), 2.0f);
  EXPECT_EQ(over3(row), 1.0f);
  EXPECT_FLOAT_EQ(largest(row), 3.5f);
  // 10 days later the baseline (t - 20 days, t + 3 days] holds ids 2..6 (id 1, exactly 30
  // days old, has left): {30, 20, 50, 70, 100}, mean 54; nothing is recent.
  row = Process(state, Tx(7, 7, 1, t + 10 * kDay, 100));
  EXPECT_FLOAT_EQ(ratio(row), 1.0f / 54.0f);
  EXPECT_EQ(over2(row), 0.0f);
  EXPECT_EQ(largest(row), 0.0f);
  // Exactly 3x the baseline is not over 3x.
  FeatureState exact(V3());
  Process(exact, Tx(1, 1, 1, t - 8 * kDay, 1000));
  Process(exact, Tx(2, 1, 1, t - 1, 3000));
  row = Process(exact, Tx(3, 1, 1, t, 3000));
  EXPECT_EQ(Feature(exact, row, "CUSTOMER_ID_NB_TX_OVER_2X_BASELINE_7DAY_WINDOW"), 1.0f);
  EXPECT_EQ(Feature(exact, row, "CUSTOMER_ID_NB_TX_OVER_3X_BASELINE_7DAY_WINDOW"), 0.0f);
  EXPECT_FLOAT_EQ(Feature(exact, row, "CUSTOMER_ID_MAX_RATIO_BASELINE_7DAY_WINDOW"), 3.0f);
}

// The definitions of window_state.h, computed the slow and obvious way: transaction i sees
// the transactions before it in arrival order, filtered by event time.
std::vector<float> Reference(const FeatureSpec& spec, const std::vector<Transaction>& txs,
                             size_t i) {
  const Transaction& tx = txs[i];
  const int64_t t = tx.tx_datetime;
  std::vector<float> row(spec.size());
  ComputeTransactionFeatures(tx, row.data());
  const auto& cw = spec.customer_windows_days;
  for (size_t w = 0; w < cw.size(); ++w) {
    int64_t n = 1, sum = tx.amount_cents;
    for (size_t j = 0; j < i; ++j) {
      if (txs[j].customer_id == tx.customer_id && txs[j].tx_datetime <= t &&
          txs[j].tx_datetime > t - cw[w] * kDay) {
        ++n;
        sum += txs[j].amount_cents;
      }
    }
    row[3 + 2 * w] = static_cast<float>(n);
    row[4 + 2 * w] = static_cast<float>(sum / 100.0 / n);
    if (spec.customer_profile) {
      row[spec.first_profile_column() + w] =
          n > 1 ? static_cast<float>(tx.amount_cents /
                                     (static_cast<double>(sum - tx.amount_cents) / (n - 1)))
                : 1.0f;
    }
  }
  const int first_terminal = spec.first_terminal_column();
  const auto& tw = spec.terminal_windows_days;
  const int64_t delay = spec.terminal_delay_days * kDay;
  for (size_t w = 0; w < tw.size(); ++w) {
    int64_t n = 0, frauds = 0;
    for (size_t j = 0; j < i; ++j) {
      if (txs[j].terminal_id == tx.terminal_id && txs[j].tx_datetime <= t - delay &&
          txs[j].tx_datetime > t - delay - tw[w] * kDay) {
        ++n;
        frauds += txs[j].tx_fraud == 1;
      }
    }
    row[first_terminal + 2 * w] = static_cast<float>(n);
    row[first_terminal + 2 * w + 1] = n ? static_cast<float>(double(frauds) / n) : 0.0f;
    if (spec.terminal_profile) {
      row[spec.first_terminal_profile_column() + w] = static_cast<float>(frauds);
    }
  }
  if (spec.terminal_profile) {
    const int64_t longest = tw.back() * kDay;
    int64_t newest = kAbsent;
    for (size_t j = 0; j < i; ++j) {
      if (txs[j].terminal_id == tx.terminal_id && txs[j].tx_fraud == 1 &&
          txs[j].tx_datetime <= t - delay) {
        newest = std::max(newest, txs[j].tx_datetime);
      }
    }
    row[spec.first_terminal_profile_column() + tw.size()] =
        static_cast<float>(newest == kAbsent ? longest : std::min(t - delay - newest, longest));
    int64_t oldest = kAbsent;
    for (size_t j = 0; j < i; ++j) {
      if (txs[j].terminal_id == tx.terminal_id && txs[j].tx_fraud == 1 &&
          txs[j].tx_datetime <= t - delay && txs[j].tx_datetime > t - delay - longest &&
          (oldest == kAbsent || txs[j].tx_datetime < oldest)) {
        oldest = txs[j].tx_datetime;
      }
    }
    row[spec.first_terminal_profile_column() + tw.size() + 1] =
        static_cast<float>(oldest == kAbsent ? longest : t - delay - oldest);
  }
  if (spec.has_terminal_streak()) {
    // The known transactions of the delayed longest window in event-time order (ties in
    // arrival order), then the frauds in a row at its end.
    const int64_t longest = tw.back() * kDay;
    std::vector<size_t> known;
    for (size_t j = 0; j < i; ++j) {
      if (txs[j].terminal_id == tx.terminal_id && txs[j].tx_datetime <= t - delay &&
          txs[j].tx_datetime > t - delay - longest) {
        known.push_back(j);
      }
    }
    std::stable_sort(known.begin(), known.end(),
                     [&](size_t a, size_t b) { return txs[a].tx_datetime < txs[b].tx_datetime; });
    int streak = 0;
    while (streak < static_cast<int>(known.size()) &&
           txs[known[known.size() - 1 - streak]].tx_fraud == 1) {
      ++streak;
    }
    row[spec.streak_column()] = static_cast<float>(streak);
  }
  if (spec.customer_profile) {
    const int64_t longest = cw.back() * kDay;
    std::vector<double> earlier;
    int64_t prev = kAbsent;
    for (size_t j = 0; j < i; ++j) {
      if (txs[j].customer_id != tx.customer_id || txs[j].tx_datetime > t) continue;
      prev = std::max(prev, txs[j].tx_datetime);
      if (txs[j].tx_datetime > t - longest) earlier.push_back(txs[j].amount_cents);
    }
    const auto stats = [](const std::vector<double>& v) {
      double mean = 0, var = 0;
      for (double x : v) mean += x / v.size();
      for (double x : v) var += (x - mean) * (x - mean) / v.size();
      return std::pair<double, double>(mean, std::sqrt(var));
    };
    std::vector<double> all = earlier;
    all.push_back(tx.amount_cents);
    const int p = spec.first_profile_column() + static_cast<int>(cw.size());
    row[p] = static_cast<float>(stats(all).second / 100);
    if (earlier.size() < 2) {
      row[p + 1] = 0.0f;
    } else {
      const auto [mean, sd] = stats(earlier);
      row[p + 1] = static_cast<float>((tx.amount_cents - mean) / std::max(sd, 1.0));
    }
    row[p + 2] = static_cast<float>(prev == kAbsent ? longest : std::min(t - prev, longest));
  }
  if (spec.has_anomaly_profile()) {
    const int64_t longest = cw.back() * kDay;
    const int64_t b = spec.customer_baseline_days * kDay;
    std::vector<int64_t> baseline, recent;
    for (size_t j = 0; j < i; ++j) {
      const int64_t tj = txs[j].tx_datetime;
      if (txs[j].customer_id != tx.customer_id || tj > t || tj <= t - longest) continue;
      (tj <= t - b ? baseline : recent).push_back(txs[j].amount_cents);
    }
    // "amount > k x mean" compared exactly: amount * n > k * sum.
    const int64_t nb = static_cast<int64_t>(baseline.size());
    int64_t sb = 0;
    for (int64_t a : baseline) sb += a;
    const double mean = nb > 0 ? static_cast<double>(sb) / nb : 0;
    const int q = spec.first_anomaly_column();
    const size_t nk = spec.anomaly_factors.size();
    row[q] = mean > 0 ? static_cast<float>(tx.amount_cents / mean) : 1.0f;
    double largest = 0;
    for (size_t k = 0; k < nk; ++k) {
      int n = 0;
      for (int64_t a : recent) n += mean > 0 && a * nb > spec.anomaly_factors[k] * sb;
      row[q + 1 + k] = static_cast<float>(n);
    }
    for (int64_t a : recent) largest = std::max(largest, mean > 0 ? a / mean : 0.0);
    row[q + 1 + nk] = static_cast<float>(largest);
  }
  return row;
}

// A small random history: few keys (many collisions), same-second ties, labels of all kinds.
std::vector<Transaction> RandomHistory(uint32_t seed, int n, int days) {
  std::mt19937_64 rng(seed);
  std::vector<Transaction> txs;
  for (int i = 0; i < n; ++i) {
    const int64_t time = kMonday + static_cast<int64_t>(rng() % (days * kDay / 3600)) * 3600 +
                         static_cast<int64_t>(rng() % 3) * 1800;                // coarse: many ties
    const int8_t label = static_cast<int8_t>(static_cast<int>(rng() % 4) - 1);  // -1, 0, 1, 2->1
    txs.push_back(Tx(i, rng() % 5, rng() % 4, time, 1 + rng() % 30000, std::min<int8_t>(label, 1)));
  }
  std::stable_sort(txs.begin(), txs.end(),
                   [](const auto& a, const auto& b) { return a.tx_datetime < b.tx_datetime; });
  return txs;
}

void ExpectRowsNear(const std::vector<float>& got, const std::vector<float>& want,
                    const FeatureSpec& spec, size_t i) {
  for (size_t c = 0; c < got.size(); ++c) {
    EXPECT_NEAR(got[c], want[c], 1e-5 * std::max(1.0f, std::abs(want[c])))
        << "row " << i << " " << spec.names[c];
  }
}

TEST(FeatureState, MatchesTheReferenceInOrder) {
  for (const FeatureSpec* spec : {&V1(), &V2(), &V3(), &V4()}) {
    const auto txs = RandomHistory(1, 600, 80);
    FeatureState state(*spec);
    for (size_t i = 0; i < txs.size(); ++i) {
      ExpectRowsNear(Process(state, txs[i]), Reference(*spec, txs, i), *spec, i);
    }
  }
}

TEST(FeatureState, MatchesTheReferenceOutOfOrder) {
  // Shuffle within a few days: late arrivals insert at their sorted position and see exactly
  // the history with time <= theirs that has arrived so far.
  auto txs = RandomHistory(2, 600, 60);
  std::mt19937_64 rng(3);
  for (size_t i = 0; i + 1 < txs.size(); ++i) {
    const size_t j = i + rng() % std::min<size_t>(20, txs.size() - i);
    std::swap(txs[i], txs[j]);
  }
  StateOptions options;
  options.allowed_lateness_seconds = 60 * kDay;
  for (const FeatureSpec* spec : {&V2(), &V3(), &V4()}) {
    FeatureState state(*spec, options);
    for (size_t i = 0; i < txs.size(); ++i) {
      ExpectRowsNear(Process(state, txs[i]), Reference(*spec, txs, i), *spec, i);
    }
  }
}

TEST(FeatureState, BoundedMemory) {
  FeatureState state(V1());
  // One customer and one terminal, 4 transactions a day for 60 days; plus a customer and a
  // terminal that stop after day 5 (swept by EvictExpired).
  int id = 0;
  for (int day = 0; day < 60; ++day) {
    for (int k = 0; k < 4; ++k) {
      Process(state, Tx(id++, 1, 1, kMonday + day * kDay + k * 6 * 3600, 1000));
      if (day < 5) Process(state, Tx(id++, 2, 2, kMonday + day * kDay + k * 6 * 3600, 1000));
    }
  }
  const int64_t newest = kMonday + 59 * kDay + 18 * 3600;
  EXPECT_EQ(state.customers().newest_time(), newest);
  EXPECT_EQ(state.customers().EventCount(CustomerId(1)), 30u * 4);
  EXPECT_GT(state.customers().OldestTime(CustomerId(1)), newest - 30 * kDay);
  EXPECT_EQ(state.terminals().EventCount(TerminalId(1)), 37u * 4);
  EXPECT_GT(state.terminals().OldestTime(TerminalId(1)), newest - 37 * kDay);
  EXPECT_EQ(state.customers().num_keys(), 2u);
  state.EvictExpired();
  EXPECT_EQ(state.customers().num_keys(), 1u);
  EXPECT_EQ(state.terminals().num_keys(), 1u);
  EXPECT_EQ(state.customers().EventCount(CustomerId(2)), 0u);
  EXPECT_EQ(state.customers().num_events(), 120u);
}

TEST(FeatureState, AllowedLatenessKeepsMore) {
  StateOptions options;
  options.allowed_lateness_seconds = 2 * kDay;
  FeatureState state(V1(), options);
  for (int day = 0; day < 60; ++day) Process(state, Tx(day, 1, 1, kMonday + day * kDay, 1000));
  EXPECT_EQ(state.customers().EventCount(CustomerId(1)), 32u);
  EXPECT_EQ(state.terminals().EventCount(TerminalId(1)), 39u);
  // A transaction older than the retention is not recorded.
  state.Update(Tx(99, 1, 1, kMonday, 1000));
  EXPECT_EQ(state.customers().EventCount(CustomerId(1)), 32u);
}

// History recorded far ahead of what is processed (a stream partition rebuilt up to where a
// faster worker left it) evicts what processing still needs, unless only Process moves time.
TEST(FeatureState, HistoryAheadDoesNotEvictWithoutMovingTime) {
  for (const bool moves : {true, false}) {
    const StateOptions options{.allowed_lateness_seconds = 2 * kDay, .history_moves_time = moves};
    CustomerState customers(V1(), options);
    TerminalState terminals(V1(), options);
    std::vector<float> row(V1().size());
    for (int day = 0; day < 30; ++day) {
      const Transaction tx = Tx(day, 1, 1, kMonday + day * kDay, 1000);
      customers.Process(tx, row.data());
      terminals.Process(tx, row.data());
    }
    // Another customer's and terminal's history, 60 days ahead; merged in as a rebuilt state.
    CustomerState ahead(V1(), options);
    ahead.Update(Tx(100, 2, 2, kMonday + 90 * kDay, 1000));
    customers.Merge(ahead);
    terminals.Update(Tx(101, 2, 2, kMonday + 90 * kDay, 1000));
    for (int day : {30, 31}) {  // the second sees what the first may have evicted
      const Transaction next = Tx(day, 1, 1, kMonday + day * kDay, 1000);
      customers.Process(next, row.data());
      terminals.Process(next, row.data());
    }
    const auto& spec = V1();
    const int nb_30 = spec.IndexOf("CUSTOMER_ID_NB_TX_30DAY_WINDOW");
    const int terminal_30 = spec.IndexOf("TERMINAL_ID_NB_TX_30DAY_WINDOW");
    if (moves) {
      EXPECT_LT(row[nb_30], 30) << "the history ahead evicted customer 1's days";
      EXPECT_LT(row[terminal_30], 25);
    } else {
      EXPECT_EQ(row[nb_30], 30);        // days 2..31
      EXPECT_EQ(row[terminal_30], 25);  // days 0..24: (31-37, 31-7]
    }
  }
}

TEST(FeatureState, SparseAndDenseIds) {
  // Ids beyond the dense range, negative ids, and dense growth that absorbs sparse entries.
  std::vector<Transaction> txs;
  std::mt19937_64 rng(5);
  const int64_t ids[] = {0, 1, 70000, 100000, 200000, -5, int64_t{1} << 40, 3, 150000, 65535};
  for (int i = 0; i < 400; ++i) {
    txs.push_back(Tx(i, ids[rng() % 10], ids[rng() % 10], kMonday + i * 3000, 100 + i));
  }
  FeatureState state(V3());
  for (size_t i = 0; i < txs.size(); ++i) {
    ExpectRowsNear(Process(state, txs[i]), Reference(V3(), txs, i), V3(), i);
  }
  EXPECT_EQ(state.customers().num_keys(), 10u);
  size_t total = 0;
  for (int64_t id : ids) total += state.customers().EventCount(CustomerId(id));
  EXPECT_EQ(total, txs.size());
}

TEST(FeatureState, CheckpointMidStreamGivesIdenticalFeatures) {
  for (const FeatureSpec* spec : {&V1(), &V2(), &V3(), &V4()}) {
    const auto txs = RandomHistory(7, 800, 90);
    FeatureState a(*spec);
    for (size_t i = 0; i < 400; ++i) Process(a, txs[i]);
    const std::string blob = a.Serialize();
    auto b = FeatureState::Deserialize(blob, *spec);
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(b->Serialize(), blob);
    for (size_t i = 400; i < txs.size(); ++i) {
      ASSERT_EQ(Process(a, txs[i]), Process(*b, txs[i])) << i;
    }
  }
}

TEST(FeatureState, CheckpointErrors) {
  FeatureState state(V1());
  for (const auto& tx : RandomHistory(8, 50, 10)) Process(state, tx);
  const std::string blob = state.Serialize();
  EXPECT_EQ(FeatureState::Deserialize(blob, V2()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  for (size_t cut : {size_t{0}, size_t{3}, size_t{10}, blob.size() / 2, blob.size() - 1}) {
    EXPECT_EQ(FeatureState::Deserialize(blob.substr(0, cut), V1()).status().code(),
              absl::StatusCode::kDataLoss)
        << cut;
  }
  EXPECT_EQ(FeatureState::Deserialize(blob + "x", V1()).status().code(),
            absl::StatusCode::kDataLoss);
  std::string bad = blob;
  bad[0] = 'X';
  EXPECT_EQ(FeatureState::Deserialize(bad, V1()).status().code(), absl::StatusCode::kDataLoss);
  // A checkpoint of shorter windows cannot serve longer ones.
  const FeatureSpec short_spec = MakeFeatureSpec("short", 1, {1, 7}, {1}, 1, false);
  CustomerState few(short_spec);
  EXPECT_EQ(CustomerState::Deserialize(few.Serialize(), V1()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(FeatureState, PartitionCustomersMoveBetweenWorkers) {
  // Customer state split by partition (id % 2), checkpointed separately, restored and merged
  // on another worker: features afterwards are those of the undivided state.
  const auto txs = RandomHistory(9, 600, 70);
  FeatureState whole(V3());
  for (size_t i = 0; i < 300; ++i) Process(whole, txs[i]);
  FeatureState donor = *FeatureState::Deserialize(whole.Serialize(), V3());
  const auto even = [](CustomerId id) { return id.value() % 2 == 0; };
  const std::string even_blob = donor.customers().Serialize(even);
  CustomerState odd = donor.customers().ExtractIf([&](CustomerId id) { return !even(id); });
  EXPECT_EQ(donor.customers().num_keys() + odd.num_keys(), whole.customers().num_keys());
  auto even_state = CustomerState::Deserialize(even_blob, V3());
  ASSERT_TRUE(even_state.ok()) << even_state.status();
  EXPECT_EQ(even_state->num_events(), donor.customers().num_events());
  auto odd_state = CustomerState::Deserialize(odd.Serialize(), V3());
  ASSERT_TRUE(odd_state.ok());
  FeatureState receiver(V3());
  receiver.customers().Merge(*even_state);
  receiver.customers().Merge(*odd_state);
  receiver.terminals().Merge(whole.terminals());
  for (size_t i = 300; i < txs.size(); ++i) {
    ASSERT_EQ(Process(whole, txs[i]), Process(receiver, txs[i])) << i;
  }
}

}  // namespace
}  // namespace fraud

namespace fraud {
namespace {

TEST(TerminalProfile, KnownFraudsOnlyAfterTheDelay) {
  FeatureState state(V2());
  const int64_t t = kMonday;
  const int nb_fraud_1d = V2().IndexOf("TERMINAL_ID_NB_FRAUD_1DAY_WINDOW");
  const int since = V2().IndexOf("TERMINAL_ID_SECONDS_SINCE_KNOWN_FRAUD");
  Transaction fraud = Tx(1, 1, 5, t, 1000);
  fraud.tx_fraud = 1;
  Process(state, fraud);
  // Six days later the fraud is not known yet: no count, the cap of 30 days.
  auto row = Process(state, Tx(2, 2, 5, t + 6 * kDay, 1000));
  EXPECT_EQ(row[nb_fraud_1d], 0.0f);
  EXPECT_EQ(row[since], 30.0f * kDay);
  // Seven days and an hour later it is: one fraud, known for an hour.
  row = Process(state, Tx(3, 3, 5, t + 7 * kDay + 3600, 1000));
  EXPECT_EQ(row[nb_fraud_1d], 1.0f);
  EXPECT_EQ(row[since], 3600.0f);
  // Another terminal knows nothing.
  row = Process(state, Tx(4, 3, 6, t + 7 * kDay + 3600, 1000));
  EXPECT_EQ(row[since], 30.0f * kDay);
}

TEST(TerminalProfile, KnownFraudStreak) {
  FeatureState state(V4());
  const int64_t t = kMonday;
  const int streak = V4().IndexOf("TERMINAL_ID_KNOWN_FRAUD_STREAK");
  const auto at = [&](int64_t id, int64_t time, int8_t fraud) {
    Transaction tx = Tx(id, id, 5, time, 1000);
    tx.tx_fraud = fraud;
    return Process(state, tx)[streak];
  };
  // A genuine transaction, then three frauds an hour apart (a terminal being compromised).
  EXPECT_EQ(at(1, t, 0), 0.0f);
  for (int k = 1; k <= 3; ++k) at(1 + k, t + k * 3600, 1);
  // A week later the frauds become known one by one: the streak grows with each.
  EXPECT_EQ(at(10, t + 7 * kDay + 1800, kAbsentLabel), 0.0f);  // only the genuine one known
  EXPECT_EQ(at(11, t + 7 * kDay + 3600, kAbsentLabel), 1.0f);
  EXPECT_EQ(at(12, t + 7 * kDay + 3 * 3600, kAbsentLabel), 3.0f);
  // Unlabelled transactions are not known frauds: once the first of them is 7 days old, the
  // streak is broken.
  EXPECT_EQ(at(13, t + 14 * kDay + 1800, kAbsentLabel), 0.0f);
  // Frauds older than the delayed 30-day window leave it.
  FeatureState old(V4());
  Transaction fraud = Tx(1, 1, 5, t, 1000);
  fraud.tx_fraud = 1;
  Process(old, fraud);
  const auto probe = [&](int64_t terminal, int64_t time) {  // Compute leaves the state as it is
    std::vector<float> row(V4().size());
    old.Compute(Tx(2, 2, terminal, time, 1000), row.data());
    return row[streak];
  };
  EXPECT_EQ(probe(5, t + 7 * kDay), 1.0f);
  EXPECT_EQ(probe(5, t + 37 * kDay - 1), 1.0f);
  EXPECT_EQ(probe(5, t + 37 * kDay), 0.0f);
  // A terminal without history has no streak.
  EXPECT_EQ(probe(6, t + 7 * kDay), 0.0f);
}

}  // namespace
}  // namespace fraud
