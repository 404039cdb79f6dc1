// fraudstream features IN --out OUT.csv [--feature-set handbook-v1|fraudstream-v2|...]
//   [--threads N] [--report REPORT.json] [--quiet]

#include <charconv>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/progress.h"
#include "core/status.h"
#include "data/parallel_chunks.h"
#include "data/reader.h"
#include "data/row_writer.h"
#include "features/batch.h"
#include "features/feature_spec.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "nlohmann/json.hpp"

namespace fraud::cli {
namespace {

struct FeaturesFlags {
  std::string input;
  std::string output;
  std::string feature_set = std::string(kDefaultFeatureSet);
  std::string report;
  int threads = 0;
  bool quiet = false;
};

// Shortest text that reads back as the same float.
void AppendFloat(float value, std::string* out) {
  char buf[32];
  const auto result = std::to_chars(buf, buf + sizeof buf, value);
  out->append(buf, result.ptr);
}

absl::Status WriteCsv(const std::string& path, std::span<const Transaction> txs,
                      const FeatureMatrix& matrix) {
  ASSIGN_OR_RETURN(auto out, OutputFile::Open(path));
  std::string buf(HeaderLine(Format::kCsv));
  buf.pop_back();
  for (const std::string& name : matrix.names) buf += "," + name;
  buf += '\n';
  for (size_t r = 0; r < matrix.rows; ++r) {
    AppendRow(Format::kCsv, txs[r], &buf);
    buf.pop_back();  // the newline
    const float* row = matrix.row(r);
    for (size_t c = 0; c < matrix.cols; ++c) {
      buf += ',';
      AppendFloat(row[c], &buf);
    }
    buf += '\n';
    if (buf.size() >= (1 << 20)) {
      RETURN_IF_ERROR(out->Append(buf));
      buf.clear();
    }
  }
  RETURN_IF_ERROR(out->Append(buf));
  return out->Close();
}

absl::Status RunFeatures(const FeaturesFlags& flags) {
  const FeatureSpec* spec = FindFeatureSpec(flags.feature_set);
  if (spec == nullptr) {
    return absl::InvalidArgumentError(fmt::format("unknown feature set '{}' (known: {})",
                                                  flags.feature_set,
                                                  fmt::join(FeatureSetNames(), ", ")));
  }
  Clock& clock = Clock::Real();
  const int64_t start = clock.NowNanos();
  ReadOptions read_options;
  read_options.threads = flags.threads;
  ASSIGN_OR_RETURN(const std::vector<Transaction> txs, ReadTransactions(flags.input, read_options));
  const int64_t read_done = clock.NowNanos();

  Progress progress("features", 0, flags.quiet ? nullptr : InteractiveStderr());
  BatchOptions batch;
  batch.threads = flags.threads > 0 ? flags.threads : DefaultThreads();
  if (progress.enabled()) batch.progress = [&progress](size_t rows) { progress.Update(rows, 0); };
  ASSIGN_OR_RETURN(const FeatureMatrix matrix, ComputeFeatures(txs, *spec, batch));
  progress.Finish();
  const int64_t features_done = clock.NowNanos();

  RETURN_IF_ERROR(WriteCsv(flags.output, txs, matrix));
  const int64_t end = clock.NowNanos();

  const double features_s = (features_done - read_done) * 1e-9;
  if (!flags.report.empty()) {
    nlohmann::ordered_json report;
    report["input"] = flags.input;
    report["output"] = flags.output;
    report["feature_set"] = spec->name;
    report["rows"] = matrix.rows;
    report["features"] = matrix.cols;
    report["seconds_read"] = (read_done - start) * 1e-9;
    report["seconds_features"] = features_s;
    report["seconds_write"] = (end - features_done) * 1e-9;
    report["seconds"] = (end - start) * 1e-9;
    RETURN_IF_ERROR(WriteFile(flags.report, report.dump(2) + "\n"));
  }
  if (!flags.quiet) {
    std::fprintf(flags.output == "-" ? stderr : stdout,
                 "features: %zu rows x %zu features (%s) in %.2f s; features %.3f s "
                 "(%.2f M tx/s, one thread)\n",
                 matrix.rows, matrix.cols, spec->name.c_str(), (end - start) * 1e-9, features_s,
                 features_s > 0 ? matrix.rows / features_s / 1e6 : 0.0);
  }
  return absl::OkStatus();
}

}  // namespace

void AddFeaturesCommand(CLI::App& app, Action* action) {
  auto flags = std::make_shared<FeaturesFlags>();
  CLI::App* cmd = app.add_subcommand(
      "features",
      "Compute the model features of a transactions file (any format, must be clean) and write "
      "CSV: the input columns, then one column per feature, one row per input row in input "
      "order. Windows are computed in event-time order with the same code the stream engine "
      "runs.");
  cmd->add_option("input", flags->input, "input file, or - for stdin")->required();
  cmd->add_option("--out,-o", flags->output, "output CSV file, or - for stdout")->required();
  cmd->add_option("--feature-set", flags->feature_set, "feature set")
      ->capture_default_str()
      ->check(CLI::IsMember(FeatureSetNames()));
  cmd->add_option("--threads", flags->threads, "threads for parsing and features (default: one per core)")
      ->check(CLI::Range(0, 256));
  cmd->add_option("--report", flags->report,
                  "timings and counts as JSON (seconds_read, seconds_features, seconds_write)");
  cmd->add_flag("--quiet,-q", flags->quiet, "no progress and no summary line");
  cmd->callback([flags, action] { *action = [flags] { return RunFeatures(*flags); }; });
}

}  // namespace fraud::cli
