#include "data/cleaner.h"

#include <memory>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "fmt/format.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/progress.h"
#include "core/status.h"
#include "core/time.h"
#include "data/parallel_chunks.h"
#include "data/reader.h"
#include "data/row_writer.h"
#include "nlohmann/json.hpp"

namespace fraud {
namespace {

// Remembers transaction ids already seen. Ids in [0, 2^36) live in a lazily paged bitmap
// (dense ids cost 1 bit each); any other id goes to a hash set.
class SeenIds {
 public:
  // True if id was not seen before.
  bool Insert(int64_t id) {
    if (id < 0 || id >= kDenseLimit) return others_.insert(id).second;
    const uint64_t u = static_cast<uint64_t>(id);
    const size_t page = u >> kPageBits;
    if (page >= pages_.size()) pages_.resize(page + 1);
    if (!pages_[page]) pages_[page] = std::make_unique<uint64_t[]>(kWordsPerPage);
    uint64_t& word = pages_[page][(u & kPageMask) >> 6];
    const uint64_t bit = uint64_t{1} << (u & 63);
    if (word & bit) return false;
    word |= bit;
    return true;
  }

 private:
  static constexpr int kPageBits = 20;  // 1 M ids, 128 KiB per page
  static constexpr uint64_t kPageMask = (uint64_t{1} << kPageBits) - 1;
  static constexpr size_t kWordsPerPage = (size_t{1} << kPageBits) / 64;
  static constexpr int64_t kDenseLimit = int64_t{1} << 36;
  std::vector<std::unique_ptr<uint64_t[]>> pages_;
  absl::flat_hash_set<int64_t> others_;
};

// What a worker makes of one chunk.
struct CleanedChunk {
  struct Good {
    int64_t transaction_id;
    uint32_t out_end;  // end of its formatted line in `out`
    uint32_t line;     // index within the chunk
    uint32_t raw_begin;  // the original line in the chunk, for the quarantine
    uint32_t raw_size;
  };
  struct Bad {
    uint32_t line;
    Fault fault;
    std::string detail;
    std::string_view raw;  // points into the chunk
  };
  std::string out;
  std::vector<Good> good;
  std::vector<Bad> bad;
  int64_t lines = 0;
  int64_t repaired = 0;
};

std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

void AppendQuarantine(int64_t line, Fault fault, std::string_view detail, std::string_view raw,
                      std::string* out) {
  fmt::format_to(std::back_inserter(*out), "{}\t{}\t{}\t{}\n", line, FaultName(fault), detail, raw);
}

}  // namespace

absl::StatusOr<CleanReport> Clean(const CleanOptions& options) {
  const int64_t start_nanos = Clock::Real().NowNanos();
  ASSIGN_OR_RETURN(DataSource source, OpenDataSource(options.input, options.dataset_start, options.chunk_bytes));
  CleanReport report;
  report.input = options.input;
  report.output = options.output;
  report.quarantine =
      options.quarantine.empty() ? options.output + ".rejected.tsv" : options.quarantine;
  if (options.output == "-" && options.quarantine.empty()) {
    return absl::InvalidArgumentError("--quarantine is required when the output is stdout");
  }
  report.input_format = source.layout.format;
  report.output_format = options.output_format.value_or(source.layout.format);
  report.dataset_start = source.dataset_start;
  const Format out_format = report.output_format;

  ASSIGN_OR_RETURN(auto out, OutputFile::Open(options.output));
  ASSIGN_OR_RETURN(auto quarantine, OutputFile::Open(report.quarantine));
  RETURN_IF_ERROR(out->Append(HeaderLine(out_format)));
  RETURN_IF_ERROR(quarantine->Append("line\treason\tdetail\traw\n"));

  Progress progress("clean", source.reader->total_bytes(),
                    options.progress ? InteractiveStderr() : nullptr);
  SeenIds seen;
  int64_t line_base = source.header_lines;  // lines before the current chunk
  std::string quarantine_text;
  const absl::Status status = ProcessChunksInOrder<CleanedChunk>(
      *source.reader, options.threads,
      [&](const Chunk& chunk, CleanedChunk* result) {
        RowParser parser(source.layout, source.dataset_start);
        Transaction tx;
        result->out.reserve(chunk.size + chunk.size / 8);
        uint32_t line_index = 0;
        ForEachLine(chunk.text(), kChunkPadding, [&](std::string_view line, size_t after) {
          const Fault fault = parser.Parse(line, &tx, after);
          if (fault == Fault::kNone) {
            AppendRow(out_format, tx, &result->out);
            result->good.push_back({tx.transaction_id.value(),
                                    static_cast<uint32_t>(result->out.size()), line_index,
                                    static_cast<uint32_t>(line.data() - chunk.buffer.get()),
                                    static_cast<uint32_t>(line.size())});
            if (parser.repair() != Repair::kNone) ++result->repaired;
          } else {
            result->bad.push_back({line_index, fault, OneLine(parser.Describe()), line});
          }
          ++line_index;
        });
        result->lines = line_index;
      },
      [&](const Chunk& chunk, CleanedChunk& cleaned) -> absl::Status {
        // Merge good rows (deduplicated, in order) and rejected rows by line.
        quarantine_text.clear();
        size_t bad_next = 0;
        auto flush_bad_before = [&](uint32_t line) {
          while (bad_next < cleaned.bad.size() && cleaned.bad[bad_next].line < line) {
            const auto& bad = cleaned.bad[bad_next++];
            AppendQuarantine(line_base + bad.line + 1, bad.fault, bad.detail, bad.raw,
                             &quarantine_text);
            ++report.by_fault[static_cast<size_t>(bad.fault)];
          }
        };
        uint32_t run_begin = 0;  // start in cleaned.out of the rows not yet written
        uint32_t row_begin = 0;
        for (const auto& good : cleaned.good) {
          flush_bad_before(good.line);
          if (!seen.Insert(good.transaction_id)) {
            RETURN_IF_ERROR(out->Append(
                std::string_view(cleaned.out).substr(run_begin, row_begin - run_begin)));
            run_begin = good.out_end;
            const std::string_view raw = chunk.text().substr(good.raw_begin, good.raw_size);
            AppendQuarantine(line_base + good.line + 1, Fault::kDuplicateTransactionId,
                             fmt::format("transaction_id {} seen before; the first row is kept",
                                         good.transaction_id),
                             raw, &quarantine_text);
            ++report.by_fault[static_cast<size_t>(Fault::kDuplicateTransactionId)];
            ++report.duplicates_removed;
          } else {
            ++report.rows_out;
          }
          row_begin = good.out_end;
        }
        flush_bad_before(UINT32_MAX);
        RETURN_IF_ERROR(out->Append(std::string_view(cleaned.out).substr(run_begin)));
        RETURN_IF_ERROR(quarantine->Append(quarantine_text));
        report.rows_rejected += static_cast<int64_t>(cleaned.bad.size());
        report.rows_repaired += cleaned.repaired;
        report.rows_in += cleaned.lines;
        line_base += cleaned.lines;
        progress.Update(static_cast<uint64_t>(report.rows_in), chunk.byte_offset + chunk.size);
        return absl::OkStatus();
      });
  RETURN_IF_ERROR(status);
  progress.Finish();
  RETURN_IF_ERROR(out->Close());
  RETURN_IF_ERROR(quarantine->Close());
  report.bytes_in = static_cast<int64_t>(source.reader->bytes_read());
  report.seconds = static_cast<double>(Clock::Real().NowNanos() - start_nanos) * 1e-9;
  if (report.rows_in != report.rows_out + report.rows_rejected + report.duplicates_removed) {
    return absl::InternalError("row accounting does not add up; this is a bug");
  }
  if (!options.report.empty()) {
    RETURN_IF_ERROR(WriteFile(options.report, ReportJson(report)));
    std::string text_path = options.report;
    if (text_path.size() > 5 && text_path.substr(text_path.size() - 5) == ".json") {
      text_path.resize(text_path.size() - 5);
    }
    RETURN_IF_ERROR(WriteFile(text_path + ".txt", ReportText(report)));
  }
  return report;
}

std::string ReportJson(const CleanReport& r) {
  nlohmann::ordered_json j;
  j["input"] = r.input;
  j["output"] = r.output;
  j["quarantine"] = r.quarantine;
  j["input_format"] = FormatName(r.input_format);
  j["output_format"] = FormatName(r.output_format);
  j["dataset_start"] = r.dataset_start == kAbsent ? nlohmann::ordered_json(nullptr)
                                                  : nlohmann::ordered_json(FormatDateTime(r.dataset_start));
  j["rows_in"] = r.rows_in;
  j["rows_out"] = r.rows_out;
  j["rows_rejected"] = r.rows_rejected;
  j["duplicates_removed"] = r.duplicates_removed;
  j["rows_repaired"] = r.rows_repaired;
  nlohmann::ordered_json rules = nlohmann::ordered_json::object();
  for (size_t f = 1; f < r.by_fault.size(); ++f) rules[std::string(FaultName(Fault(f)))] = r.by_fault[f];
  j["quarantined_by_rule"] = rules;  // rows_rejected + duplicates_removed
  j["repaired_by_rule"] = {{std::string(RepairName(Repair::kHour24Rebuilt)), r.rows_repaired}};
  j["bytes_in"] = r.bytes_in;
  j["seconds"] = r.seconds;
  j["rows_per_second"] = r.seconds > 0 ? static_cast<double>(r.rows_in) / r.seconds : 0.0;
  return j.dump(2) + "\n";
}

std::string ReportText(const CleanReport& r) {
  std::string text = fmt::format(
      "data quality report: {} ({}) -> {} ({})\n"
      "  rows in             {:>12}\n"
      "  rows out            {:>12}\n"
      "  rows rejected       {:>12}\n"
      "  duplicates removed  {:>12}\n"
      "  rows repaired       {:>12}  (kept)\n"
      "  per rule (rows sent to {}):\n",
      r.input, FormatName(r.input_format), r.output, FormatName(r.output_format), r.rows_in,
      r.rows_out, r.rows_rejected, r.duplicates_removed, r.rows_repaired, r.quarantine);
  auto out = std::back_inserter(text);
  for (size_t f = 1; f < r.by_fault.size(); ++f) {
    fmt::format_to(out, "    {:<26} {:>10}\n", FaultName(Fault(f)), r.by_fault[f]);
  }
  fmt::format_to(out, "  repairs:\n    {:<26} {:>10}\n", RepairName(Repair::kHour24Rebuilt),
                 r.rows_repaired);
  const double seconds = std::max(r.seconds, 1e-9);
  fmt::format_to(out, "  {:.2f} s, {:.2f} M rows/s, {:.0f} MB/s\n", r.seconds,
                 static_cast<double>(r.rows_in) / seconds / 1e6,
                 static_cast<double>(r.bytes_in) / seconds / 1e6);
  return text;
}

}  // namespace fraud
