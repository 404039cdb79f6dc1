#pragma once

// Which of the three input formats of DESIGN §1 a file is in, and where each column sits.
// Formats are detected from the first line, never configured:
//   "# tranaction_id | tx_datetime | ..."   Otus source layout (the typo is real)
//   "{..."                                  JSON lines, one transaction object per line
//   a header naming the columns (any case)  CSV with a header
//   a row whose first field is a number     Otus column order without its header line

#include <array>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace fraud {

enum class Format { kOtus, kCsv, kJsonLines };

std::string_view FormatName(Format format);  // "otus", "csv", "jsonl"
absl::StatusOr<Format> ParseFormatName(std::string_view name);

// The columns of DESIGN §1, in the Otus order.
enum Column : int {
  kTransactionIdColumn,
  kTxDatetimeColumn,
  kCustomerIdColumn,
  kTerminalIdColumn,
  kTxAmountColumn,
  kTxTimeSecondsColumn,
  kTxTimeDaysColumn,
  kTxFraudColumn,
  kTxFraudScenarioColumn,
  kNumColumns,
};

std::string_view ColumnName(Column column);  // "transaction_id", ...
// Case-insensitive; also accepts the Otus spelling "tranaction_id". -1 when unknown.
int ColumnFromName(std::string_view name);
// Columns every row must carry; the others may be absent (e.g. labels when scoring).
bool IsRequiredColumn(Column column);

inline constexpr int kAbsentField = -1;

struct Layout {
  Format format = Format::kOtus;
  bool has_header_line = false;
  int field_count = kNumColumns;  // CSV/Otus: fields per row
  std::array<int, kNumColumns> field_of_column{};  // CSV/Otus: field index, or kAbsentField

  static Layout Otus(bool has_header_line);
  static Layout JsonLines();
};

// Detects the layout from the first line of a file (without its newline).
absl::StatusOr<Layout> DetectLayout(std::string_view first_line);

}  // namespace fraud
