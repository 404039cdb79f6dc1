#pragma once

// `fraudstream clean`: applies the data-quality rules of DESIGN §1 to a file of any format.
//
// Every input row ends up in exactly one place: the clean output, or the quarantine file
// with its reason (a rule broken, or a duplicate transaction_id after its first occurrence).
// rows_in == rows_out + rows_rejected + duplicates_removed always holds. Repairable rows
// ("24:00:00" datetimes) are repaired, counted and kept. No statistical outlier filter: large
// amounts are often the fraud we are looking for.
//
// Quarantine file: tab-separated, a header line, then per row
//   line <TAB> reason <TAB> detail <TAB> raw
// where raw is the original line byte for byte (`cut -f4-` gives the rows back).
//
//   CleanOptions options{.input = "in.txt", .output = "clean.txt",
//                        .quarantine = "rejected.tsv", .report = "report.json"};
//   ASSIGN_OR_RETURN(CleanReport report, Clean(options));
//
// Parsing runs on `threads` workers; memory stays bounded whatever the file size. Outputs are
// written atomically (temp file + rename): on error no output is left half-written.

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "data/chunk_reader.h"
#include "data/layout.h"
#include "data/row_parser.h"

namespace fraud {

struct CleanOptions {
  std::string input;       // path or "-"
  std::string output;      // path or "-"
  std::string quarantine;  // path; empty: <output>.rejected.tsv
  std::string report;      // JSON report path; empty: none. A .txt twin is written beside it.
  std::optional<Format> output_format;  // default: the input's (JSON lines stay JSON lines)
  int threads = 0;                      // 0: one per core
  int64_t dataset_start = kAbsent;      // kAbsent: inferred from the first rows
  bool progress = true;                 // progress line on a terminal
  size_t chunk_bytes = kDefaultChunkBytes;  // unit of parallel work
};

struct CleanReport {
  std::string input;
  std::string output;
  std::string quarantine;
  Format input_format = Format::kOtus;
  Format output_format = Format::kOtus;
  int64_t dataset_start = kAbsent;
  int64_t rows_in = 0;
  int64_t rows_out = 0;
  int64_t rows_rejected = 0;       // broke a rule
  int64_t duplicates_removed = 0;  // repeated transaction_id, first kept
  int64_t rows_repaired = 0;
  std::array<int64_t, static_cast<size_t>(Fault::kCount)> by_fault{};  // rejected + duplicates
  int64_t bytes_in = 0;
  double seconds = 0;

  int64_t count(Fault fault) const { return by_fault[static_cast<size_t>(fault)]; }
};

absl::StatusOr<CleanReport> Clean(const CleanOptions& options);

std::string ReportJson(const CleanReport& report);
std::string ReportText(const CleanReport& report);

}  // namespace fraud
