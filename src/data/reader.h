#pragma once

// Reading transaction files of any format (detected, DESIGN §1), in parallel and in order.
//
//   ASSIGN_OR_RETURN(std::vector<Transaction> txs, ReadTransactions("day.csv"));
//
// ReadTransactions is strict: the first row that breaks a cleaning rule is an error naming
// its line and the rule (run `fraudstream clean` on such files first).

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/transaction.h"
#include "data/chunk_reader.h"
#include "data/layout.h"

namespace fraud {

// An opened file: its reader positioned after any header, and what was learnt from its head.
struct DataSource {
  std::unique_ptr<ChunkReader> reader;
  Layout layout;
  int64_t dataset_start = kAbsent;  // see InferDatasetStart (row_parser.h)
  int header_lines = 0;             // 1 when the first line is a header, else 0
};

// dataset_start: kAbsent to infer it from the first rows.
absl::StatusOr<DataSource> OpenDataSource(const std::string& path,
                                          int64_t dataset_start = kAbsent,
                                          size_t chunk_bytes = kDefaultChunkBytes);

struct ReadOptions {
  int threads = 0;  // 0: one per core
  int64_t dataset_start = kAbsent;
  size_t chunk_bytes = kDefaultChunkBytes;
};

absl::StatusOr<std::vector<Transaction>> ReadTransactions(const std::string& path,
                                                          const ReadOptions& options = {});

// History for a feature state (`stream --warm-up`, `serve --warm-up`): a file, or every regular
// file of a directory in name order, all read strictly (as ReadTransactions) and returned in
// event-time order (stable: same-second transactions keep their file order).
absl::StatusOr<std::vector<Transaction>> ReadHistory(const std::string& file_or_dir);

}  // namespace fraud
