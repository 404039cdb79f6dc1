#pragma once

// Parses one line of a data file (any Layout) into a Transaction, applying the per-row
// cleaning rules of DESIGN §1. A row either parses, possibly after a repair, or gets exactly
// one Fault: the first rule it breaks, checking columns in the Otus order.
//
// One RowParser per thread (it owns a simdjson parser). Parse() allocates nothing in steady
// state.
//
//   RowParser parser(layout, dataset_start);
//   Transaction tx;
//   if (parser.Parse(line, &tx) == Fault::kNone) ...
//   else std::cerr << parser.Describe();

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/transaction.h"
#include "data/layout.h"

namespace fraud {

enum class Fault : uint8_t {
  kNone,
  kWrongFieldCount,
  kBadJson,
  kBadTransactionId,
  kBadTxDatetime,
  kBadCustomerId,
  kBadTerminalId,
  kBadTxAmount,
  kNonPositiveTxAmount,
  kBadTxTimeSeconds,
  kBadTxTimeDays,
  kTxTimeDaysMismatch,
  kBadTxFraud,
  kBadTxFraudScenario,
  kDuplicateTransactionId,  // found across rows by the cleaner, never by Parse()
  kCount,
};

// Stable snake_case names used in reports and quarantine files: "bad_terminal_id", ...
std::string_view FaultName(Fault fault);

// Repairs Parse() may make; a repaired row is kept.
enum class Repair : uint8_t {
  kNone,
  kHour24Rebuilt,  // "24:00:00" tx_datetime rebuilt from dataset start + tx_time_seconds
};
std::string_view RepairName(Repair repair);

class RowParser {
 public:
  // dataset_start: epoch second of the data set's start (tx_datetime - tx_time_seconds), used
  // to rebuild a "24:00:00" datetime; kAbsent when unknown (such rows are then rejected).
  RowParser(const Layout& layout, int64_t dataset_start);
  ~RowParser();

  // `line` excludes its newline. `readable_after` is how many bytes after the line may be read
  // (JSON parsing wants 64 bytes of padding; with fewer, the line is copied first).
  Fault Parse(std::string_view line, Transaction* tx, size_t readable_after = 0);

  // The repair made by the last successful Parse(), if any.
  Repair repair() const { return repair_; }
  // A one-line explanation of the last fault, naming the field and quoting its value.
  std::string Describe() const;

 private:
  Fault ParseDelimited(std::string_view line, Transaction* tx);
  Fault ParseJson(std::string_view line, Transaction* tx, size_t readable_after);
  Fault ApplyFields(const std::string_view* fields, Transaction* tx);

  Layout layout_;
  int64_t dataset_start_;
  Repair repair_ = Repair::kNone;
  Fault fault_ = Fault::kNone;
  std::string_view bad_value_;
  int field_count_seen_ = 0;
  std::string detail_;  // extra words for the last fault, when bad_value_ is not enough
  struct Json;
  std::unique_ptr<Json> json_;
};

// Infers the data set's start from the first rows of a file: the most common value of
// tx_datetime - tx_time_seconds among rows that parse. kAbsent if no row carries both.
int64_t InferDatasetStart(const Layout& layout, std::string_view text, int max_rows = 1000);

}  // namespace fraud
