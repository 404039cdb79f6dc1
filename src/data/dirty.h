#pragma once

// Dirty-data injection for `fraudstream generate --dirty RATE`: puts the real data-quality
// faults of DESIGN §1 into formatted rows, so the cleaner can be tested at any scale, and
// records exactly what was injected in a JSON-lines sidecar:
//   {"file":"data/2018-04-01.txt","line":1234,"transaction_id":1232,
//    "fault":"terminal_err","expect":"bad_terminal_id"}
// "line" is 1-based in the data file, its header line counted; for duplicate_row it is the
// line of the inserted copy. "expect" is the cleaner rule the fault must trigger.
//
// Each row gets at most one fault, with probability `rate`, the kind chosen uniformly. The
// first `skip_rows` rows of every file stay clean (the cleaner infers the data set's start
// from them). Decisions come from their own random stream, so the rows left alone are
// byte-identical to a run without injection. Works on the text of rows of the delimited
// layouts (Otus and CSV: 9 comma-separated fields), not on JSON lines.
//
// Not thread-safe; one injector per output sequence.
//
//   DirtyInjector dirty(0.001, Random::StreamSeed(seed, 4));
//   dirty.StartFile("out.txt", /*header_lines=*/1);
//   for (const Transaction& tx : txs) {
//     const size_t start = buffer.size();
//     AppendRow(Format::kOtus, tx, &buffer);
//     dirty.AfterRow(tx.transaction_id.value(), &buffer, start);
//   }
//   sidecar.Append(dirty.sidecar());  dirty.ClearSidecar();

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "data/simulator.h"

namespace fraud {

enum class FaultKind : int {
  kTerminalEmpty,     // terminal_id field empty                  -> bad_terminal_id
  kTerminalErr,       // terminal_id = "Err"                      -> bad_terminal_id
  kCustomerNegative,  // customer_id = -999999                    -> bad_customer_id
  kHour24,            // tx_datetime = "<same date> 24:00:00"     -> tx_datetime_hour24_rebuilt
  kAmountZero,        // tx_amount = "0.00"                       -> nonpositive_tx_amount
  kDuplicateRow,      // exact copy of the row inserted after it  -> duplicate_transaction_id
  kTooFewFields,      // last two fields and their commas removed -> wrong_field_count
  kTextInNumeric,     // tx_amount = "N/A"                        -> bad_tx_amount
};
inline constexpr int kNumFaultKinds = 8;

std::string_view FaultName(FaultKind kind);     // "terminal_empty", ...
std::string_view ExpectedRule(FaultKind kind);  // "bad_terminal_id", ...

// Appends to *out the line(s) that replace `row` (one delimited row with 9 fields and its
// '\n') when it carries `kind`: one line, or two for kDuplicateRow. A row with fewer fields
// than a fault needs is appended unchanged.
void ApplyFault(FaultKind kind, std::string_view row, std::string* out);

class DirtyInjector {
 public:
  static constexpr int64_t kDefaultSkipRows = 1000;

  // rate in [0, 1].
  DirtyInjector(double rate, uint64_t seed, int64_t skip_rows = kDefaultSkipRows);

  // Starts a data file: row counting restarts, sidecar entries name `path`.
  void StartFile(std::string path, int64_t header_lines);

  // Called right after one row (with its '\n') was appended to *buffer at row_start: may
  // rewrite it in place or append a copy. Keeps the file's line count.
  void AfterRow(int64_t transaction_id, std::string* buffer, size_t row_start);

  // Sidecar JSON lines produced since the last ClearSidecar().
  const std::string& sidecar() const { return sidecar_; }
  void ClearSidecar() { sidecar_.clear(); }

  int64_t total_faults() const;
  const std::array<int64_t, kNumFaultKinds>& faults_per_kind() const { return per_kind_; }

 private:
  double rate_;
  int64_t skip_rows_;
  Random random_;
  std::string path_json_;  // the file path as a JSON string, quotes included
  int64_t rows_in_file_ = 0;
  int64_t lines_in_file_ = 0;
  std::string sidecar_;
  std::string scratch_;
  std::array<int64_t, kNumFaultKinds> per_kind_{};
};

}  // namespace fraud
