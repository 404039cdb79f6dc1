#include "data/dirty.h"

#include <charconv>
#include <utility>

#include "nlohmann/json.hpp"

namespace fraud {
namespace {

constexpr int kFieldCount = 9;
constexpr size_t kDateLength = 10;  // "YYYY-MM-DD"

struct FaultInfo {
  std::string_view name;
  std::string_view expect;
};

// clang-format off
constexpr FaultInfo kFaults[kNumFaultKinds] = {
    {"terminal_empty", "bad_terminal_id"},
    {"terminal_err", "bad_terminal_id"},
    {"customer_negative", "bad_customer_id"},
    {"hour24", "tx_datetime_hour24_rebuilt"},
    {"amount_zero", "nonpositive_tx_amount"},
    {"duplicate_row", "duplicate_transaction_id"},
    {"too_few_fields", "wrong_field_count"},
    {"text_in_numeric", "bad_tx_amount"},
};
// clang-format on

// Appends `row` with field `field` (0-based) replaced by `value`. `commas` holds the
// positions of the row's commas.
void ReplaceField(std::string_view row, const size_t* commas, int field, std::string_view value,
                  std::string* out) {
  const size_t begin = field == 0 ? 0 : commas[field - 1] + 1;
  const size_t end = commas[field];
  out->append(row.substr(0, begin));
  out->append(value);
  out->append(row.substr(end));
}

void AppendInt(int64_t value, std::string* out) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out->append(buffer, result.ptr);
}

}  // namespace

std::string_view FaultName(FaultKind kind) { return kFaults[static_cast<int>(kind)].name; }
std::string_view ExpectedRule(FaultKind kind) { return kFaults[static_cast<int>(kind)].expect; }

void ApplyFault(FaultKind kind, std::string_view row, std::string* out) {
  if (kind == FaultKind::kDuplicateRow) {
    out->append(row);
    out->append(row);
    return;
  }
  // Commas of the row; the end of the text (before '\n') closes the last field.
  const std::string_view text =
      row.empty() || row.back() != '\n' ? row : row.substr(0, row.size() - 1);
  size_t commas[kFieldCount];
  int n = 0;
  for (size_t i = 0; i < text.size() && n < kFieldCount - 1; ++i) {
    if (text[i] == ',') commas[n++] = i;
  }
  if (n != kFieldCount - 1) {  // not a row we know how to spoil
    out->append(row);
    return;
  }
  commas[kFieldCount - 1] = text.size();
  switch (kind) {
    case FaultKind::kTerminalEmpty:
      ReplaceField(row, commas, 3, "", out);
      return;
    case FaultKind::kTerminalErr:
      ReplaceField(row, commas, 3, "Err", out);
      return;
    case FaultKind::kCustomerNegative:
      ReplaceField(row, commas, 2, "-999999", out);
      return;
    case FaultKind::kHour24: {
      const std::string_view datetime = text.substr(commas[0] + 1, commas[1] - commas[0] - 1);
      std::string value(datetime.substr(0, std::min(datetime.size(), kDateLength)));
      value += " 24:00:00";
      ReplaceField(row, commas, 1, value, out);
      return;
    }
    case FaultKind::kAmountZero:
      ReplaceField(row, commas, 4, "0.00", out);
      return;
    case FaultKind::kTooFewFields:
      out->append(text.substr(0, commas[kFieldCount - 3]));
      out->append(row.substr(text.size()));  // the newline, if any
      return;
    case FaultKind::kTextInNumeric:
      ReplaceField(row, commas, 4, "N/A", out);
      return;
    case FaultKind::kDuplicateRow:
      break;
  }
  out->append(row);
}

DirtyInjector::DirtyInjector(double rate, uint64_t seed, int64_t skip_rows)
    : rate_(rate), skip_rows_(skip_rows), random_(seed) {}

void DirtyInjector::StartFile(std::string path, int64_t header_lines) {
  path_json_ = nlohmann::json(std::move(path)).dump();
  rows_in_file_ = 0;
  lines_in_file_ = header_lines;
}

void DirtyInjector::AfterRow(int64_t transaction_id, std::string* buffer, size_t row_start) {
  ++rows_in_file_;
  ++lines_in_file_;
  if (rows_in_file_ <= skip_rows_ || !(random_.Uniform01() < rate_)) return;
  const auto kind = static_cast<FaultKind>(random_.UniformInt(kNumFaultKinds));
  scratch_.assign(*buffer, row_start, std::string::npos);
  buffer->resize(row_start);
  ApplyFault(kind, scratch_, buffer);
  if (kind == FaultKind::kDuplicateRow) ++lines_in_file_;
  ++per_kind_[static_cast<int>(kind)];

  sidecar_.append("{\"file\":");
  sidecar_.append(path_json_);
  sidecar_.append(",\"line\":");
  AppendInt(lines_in_file_, &sidecar_);
  sidecar_.append(",\"transaction_id\":");
  AppendInt(transaction_id, &sidecar_);
  sidecar_.append(",\"fault\":\"");
  sidecar_.append(FaultName(kind));
  sidecar_.append("\",\"expect\":\"");
  sidecar_.append(ExpectedRule(kind));
  sidecar_.append("\"}\n");
}

int64_t DirtyInjector::total_faults() const {
  int64_t total = 0;
  for (int64_t n : per_kind_) total += n;
  return total;
}

}  // namespace fraud
