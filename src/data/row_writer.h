#pragma once

// Formats transactions as lines of the Otus layout, CSV with a header, or JSON lines.
// Output is canonical: a file written here, read back and written again is byte-identical
// (amounts keep the number of decimals they were read with). Absent optional fields are
// written as empty CSV fields or omitted JSON keys. Thread-safe (pure functions).

#include <string>
#include <string_view>

#include "core/transaction.h"
#include "data/layout.h"

namespace fraud {

// The header line including its newline; empty for JSON lines.
std::string_view HeaderLine(Format format);

// Appends one row and its newline.
void AppendRow(Format format, const Transaction& tx, std::string* out);

// Appends the amount as text, e.g. 1234 cents with 2 decimals -> "12.34".
void AppendAmount(int64_t cents, int decimals, std::string* out);

}  // namespace fraud
