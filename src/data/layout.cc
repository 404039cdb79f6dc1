#include "data/layout.h"

#include <cctype>

#include "core/strings.h"
#include "fmt/format.h"
#include "fmt/ranges.h"

namespace fraud {
namespace {

constexpr std::array<std::string_view, kNumColumns> kColumnNames = {
    "transaction_id", "tx_datetime",  "customer_id", "terminal_id",      "tx_amount",
    "tx_time_seconds", "tx_time_days", "tx_fraud",    "tx_fraud_scenario"};

}  // namespace

std::string_view FormatName(Format format) {
  switch (format) {
    case Format::kOtus:
      return "otus";
    case Format::kCsv:
      return "csv";
    case Format::kJsonLines:
      return "jsonl";
  }
  return "unknown";
}

absl::StatusOr<Format> ParseFormatName(std::string_view name) {
  for (Format f : {Format::kOtus, Format::kCsv, Format::kJsonLines}) {
    if (name == FormatName(f)) return f;
  }
  if (name == "json") return Format::kJsonLines;
  return absl::InvalidArgumentError(
      fmt::format("unknown format '{}': use otus, csv or jsonl", name));
}

std::string_view ColumnName(Column column) { return kColumnNames[column]; }

int ColumnFromName(std::string_view name) {
  if (EqualsIgnoreCase(name, "tranaction_id")) return kTransactionIdColumn;
  for (int c = 0; c < kNumColumns; ++c) {
    if (EqualsIgnoreCase(name, kColumnNames[c])) return c;
  }
  return -1;
}

bool IsRequiredColumn(Column column) { return column <= kTxAmountColumn; }

Layout Layout::Otus(bool has_header_line) {
  Layout layout;
  layout.format = Format::kOtus;
  layout.has_header_line = has_header_line;
  layout.field_count = kNumColumns;
  for (int c = 0; c < kNumColumns; ++c) layout.field_of_column[c] = c;
  return layout;
}

Layout Layout::JsonLines() {
  Layout layout;
  layout.format = Format::kJsonLines;
  layout.field_count = 0;
  layout.field_of_column.fill(kAbsentField);
  return layout;
}

absl::StatusOr<Layout> DetectLayout(std::string_view first_line) {
  if (first_line.ends_with('\r')) first_line.remove_suffix(1);
  // A UTF-8 byte order mark is not part of the header.
  if (first_line.starts_with("\xEF\xBB\xBF")) first_line.remove_prefix(3);
  const std::string_view trimmed = Trim(first_line);
  if (trimmed.empty()) {
    return absl::FailedPreconditionError("the file is empty or starts with an empty line");
  }
  if (trimmed[0] == '{') return Layout::JsonLines();
  if (trimmed[0] == '#') {
    const std::string_view names = Trim(trimmed.substr(1));
    const std::vector<std::string_view> parts = Split(names, '|');
    bool ok = parts.size() == kNumColumns;
    for (int c = 0; ok && c < kNumColumns; ++c) {
      ok = ColumnFromName(Trim(parts[c])) == c;
    }
    if (!ok) {
      return absl::FailedPreconditionError(fmt::format(
          "unrecognised '#' header line (expected the Otus layout '# tranaction_id | "
          "tx_datetime | ... | tx_fraud_scenario'): {}",
          first_line.substr(0, 200)));
    }
    return Layout::Otus(/*has_header_line=*/true);
  }
  if (std::isdigit(static_cast<unsigned char>(trimmed[0])) || trimmed[0] == '-') {
    return Layout::Otus(/*has_header_line=*/false);
  }
  Layout layout;
  layout.format = Format::kCsv;
  layout.has_header_line = true;
  layout.field_of_column.fill(kAbsentField);
  const std::vector<std::string_view> names = Split(first_line, ',');
  layout.field_count = static_cast<int>(names.size());
  for (int i = 0; i < layout.field_count; ++i) {
    std::string_view name = Trim(names[i]);
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      name = name.substr(1, name.size() - 2);
    }
    const int column = ColumnFromName(name);
    if (column < 0) continue;  // extra columns are carried by nobody, and that is fine
    if (layout.field_of_column[column] != kAbsentField) {
      return absl::FailedPreconditionError(
          fmt::format("the CSV header names column '{}' twice", name));
    }
    layout.field_of_column[column] = i;
  }
  std::vector<std::string_view> missing;
  for (int c = 0; c < kNumColumns; ++c) {
    if (IsRequiredColumn(Column(c)) && layout.field_of_column[c] == kAbsentField) {
      missing.push_back(kColumnNames[c]);
    }
  }
  if (!missing.empty()) {
    return absl::FailedPreconditionError(fmt::format("the CSV header lacks required column(s) {}; header was: '{}' (readable: the "
                    "Otus layout, CSV with a header row, JSON lines)",
                    fmt::join(missing, ", "), first_line.substr(0, 200)));
  }
  return layout;
}

}  // namespace fraud
