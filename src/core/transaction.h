#pragma once

// The transaction record of DESIGN §1, as every module holds it in memory.

#include <cstdint>
#include <limits>

#include "core/ids.h"

namespace fraud {

// Marks an optional integer field that the source did not carry.
inline constexpr int64_t kAbsent = std::numeric_limits<int64_t>::min();
inline constexpr int8_t kAbsentLabel = -1;

struct Transaction {
  TransactionId transaction_id;
  int64_t tx_datetime = 0;  // event time, core/time.h
  CustomerId customer_id;
  TerminalId terminal_id;
  int64_t amount_cents = 0;  // tx_amount, exact
  int64_t tx_time_seconds = kAbsent;
  int64_t tx_time_days = kAbsent;
  int8_t tx_fraud = kAbsentLabel;           // 0/1, or kAbsentLabel when scoring
  int8_t tx_fraud_scenario = kAbsentLabel;  // 0..3, or kAbsentLabel
  // Digits after the decimal point in the source text (0..2). Writers reproduce it, so a
  // file read and written again is byte-identical; freshly made amounts use 2.
  int8_t amount_decimals = 2;

  double amount() const { return static_cast<double>(amount_cents) / 100.0; }
  bool operator==(const Transaction&) const = default;
};

}  // namespace fraud
