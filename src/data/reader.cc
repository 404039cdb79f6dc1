#include "data/reader.h"

#include <algorithm>
#include <filesystem>

#include "fmt/format.h"
#include "core/status.h"
#include "data/parallel_chunks.h"
#include "data/row_parser.h"

namespace fraud {

absl::StatusOr<DataSource> OpenDataSource(const std::string& path, int64_t dataset_start,
                                          size_t chunk_bytes) {
  DataSource source;
  ASSIGN_OR_RETURN(source.reader, ChunkReader::Open(path, chunk_bytes));
  if (source.reader->Peek().empty()) {
    return absl::FailedPreconditionError(path + " is empty");
  }
  auto layout = DetectLayout(source.reader->FirstLine());
  if (!layout.ok()) {
    return absl::FailedPreconditionError(fmt::format("{}: {}", path, std::string(layout.status().message())));
  }
  source.layout = *layout;
  if (source.layout.has_header_line) {
    source.reader->SkipFirstLine();
    source.header_lines = 1;
  }
  std::string_view head = source.reader->Peek();
  if (source.header_lines > 0) head.remove_prefix(std::min(head.size(), head.find('\n') + 1));
  source.dataset_start =
      dataset_start != kAbsent ? dataset_start : InferDatasetStart(source.layout, head);
  return source;
}

absl::StatusOr<std::vector<Transaction>> ReadTransactions(const std::string& path,
                                                          const ReadOptions& options) {
  ASSIGN_OR_RETURN(DataSource source, OpenDataSource(path, options.dataset_start, options.chunk_bytes));
  struct Parsed {
    std::vector<Transaction> rows;
    int64_t lines = 0;
    int64_t bad_line = -1;  // index within the chunk of the first bad row
    std::string error;
  };
  std::vector<Transaction> all;
  int64_t line_base = source.header_lines;
  const absl::Status status = ProcessChunksInOrder<Parsed>(
      *source.reader, options.threads,
      [&](const Chunk& chunk, Parsed* out) {
        RowParser parser(source.layout, source.dataset_start);
        Transaction tx;
        ForEachLine(chunk.text(), kChunkPadding, [&](std::string_view line, size_t after) {
          if (out->bad_line < 0) {
            const Fault fault = parser.Parse(line, &tx, after);
            if (fault == Fault::kNone) {
              out->rows.push_back(tx);
            } else {
              out->bad_line = out->lines;
              out->error = fmt::format("{}: {}", FaultName(fault), parser.Describe());
            }
          }
          ++out->lines;
        });
      },
      [&](const Chunk&, Parsed& parsed) -> absl::Status {
        if (parsed.bad_line >= 0) {
          return absl::FailedPreconditionError(
              fmt::format("{} line {}: {} (run 'fraudstream clean' on this file first)", path,
                          line_base + parsed.bad_line + 1, parsed.error));
        }
        line_base += parsed.lines;
        all.insert(all.end(), parsed.rows.begin(), parsed.rows.end());
        return absl::OkStatus();
      });
  RETURN_IF_ERROR(status);
  return all;
}

absl::StatusOr<std::vector<Transaction>> ReadHistory(const std::string& file_or_dir) {
  std::vector<std::string> files;
  if (std::filesystem::is_directory(file_or_dir)) {
    for (const auto& entry : std::filesystem::directory_iterator(file_or_dir)) {
      if (entry.is_regular_file()) files.push_back(entry.path().string());
    }
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(file_or_dir);
  }
  std::vector<Transaction> history;
  for (const std::string& file : files) {
    ASSIGN_OR_RETURN(std::vector<Transaction> txs, ReadTransactions(file));
    history.insert(history.end(), txs.begin(), txs.end());
  }
  std::stable_sort(
      history.begin(), history.end(),
      [](const Transaction& a, const Transaction& b) { return a.tx_datetime < b.tx_datetime; });
  return history;
}

}  // namespace fraud
