// End to end through the data module: the simulator writes a data set, --dirty injects the
// real Otus faults, and the cleaner must find every one of them, exactly, and give back the
// clean data. Also the round trip generate -> write -> read -> equal.

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/file.h"
#include "core/strings.h"
#include "core/testing.h"
#include "data/cleaner.h"
#include "data/reader.h"
#include "data/row_writer.h"
#include "data/simulator.h"
#include "nlohmann/json.hpp"

namespace fraud {
namespace {

class DirtyCleanTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_.Path(name); }

  GenerateOptions Options(const std::string& name, double dirty_rate) const {
    GenerateOptions options;
    options.simulator.customers = 400;
    options.simulator.terminals = 800;
    options.simulator.days = 40;
    options.simulator.seed = 11;
    options.out = Path(name);
    options.dirty_rate = dirty_rate;
    options.show_progress = false;
    return options;
  }

  ScopedTempDir dir_;
};

TEST_F(DirtyCleanTest, EveryInjectedFaultIsFoundAndCountedExactly) {
  auto clean_set = GenerateToFiles(Options("clean.txt", 0));
  ASSERT_TRUE(clean_set.ok()) << clean_set.status();
  auto dirty_set = GenerateToFiles(Options("dirty.txt", 0.02));
  ASSERT_TRUE(dirty_set.ok()) << dirty_set.status();
  ASSERT_GT(dirty_set->faults, 100);

  // What was injected, by line and by expected rule.
  std::map<int64_t, std::string> expected_by_line;
  std::map<std::string, int64_t> expected_count;
  std::set<int64_t> rejected_ids;
  const std::string sidecar = *ReadFile(dirty_set->faults_path);
  for (std::string_view line : Split(sidecar, '\n')) {
    if (line.empty()) continue;
    const auto fault = nlohmann::json::parse(line);
    const std::string expect = fault["expect"];
    expected_by_line[fault["line"].get<int64_t>()] = expect;
    ++expected_count[expect];
    if (expect != "tx_datetime_hour24_rebuilt" && expect != "duplicate_transaction_id") {
      rejected_ids.insert(fault["transaction_id"].get<int64_t>());
    }
  }
  ASSERT_EQ(static_cast<int64_t>(expected_by_line.size()), dirty_set->faults);
  for (const char* rule : {"bad_terminal_id", "bad_customer_id", "tx_datetime_hour24_rebuilt",
                           "nonpositive_tx_amount", "duplicate_transaction_id",
                           "wrong_field_count", "bad_tx_amount"}) {
    EXPECT_GT(expected_count[rule], 0) << rule << " was never injected";
  }

  CleanOptions options;
  options.input = Path("dirty.txt");
  options.output = Path("cleaned.txt");
  options.quarantine = Path("rejected.tsv");
  options.progress = false;
  auto report = Clean(options);
  ASSERT_TRUE(report.ok()) << report.status();

  // Counts per rule are exactly what was injected.
  std::map<std::string, int64_t> found_count;
  for (size_t f = 1; f < report->by_fault.size(); ++f) {
    if (report->by_fault[f] > 0) found_count[std::string(FaultName(Fault(f)))] = report->by_fault[f];
  }
  if (report->rows_repaired > 0) found_count["tx_datetime_hour24_rebuilt"] = report->rows_repaired;
  EXPECT_EQ(found_count, expected_count);
  EXPECT_EQ(report->rows_in, clean_set->stats.rows + expected_count["duplicate_transaction_id"]);
  EXPECT_EQ(report->rows_in,
            report->rows_out + report->rows_rejected + report->duplicates_removed);

  // Each quarantined line is one that was injected there, for the same reason.
  const std::string quarantine = *ReadFile(Path("rejected.tsv"));
  int64_t quarantined = 0;
  for (std::string_view row : Split(quarantine, '\n')) {
    if (row.empty() || row.starts_with("line\t")) continue;
    const auto fields = SplitN(row, '\t', 3);
    const int64_t line = std::stoll(std::string(fields[0]));
    ASSERT_TRUE(expected_by_line.count(line)) << "not injected: " << row;
    EXPECT_EQ(expected_by_line[line], fields[1]) << row;
    ++quarantined;
  }
  EXPECT_EQ(quarantined, report->rows_rejected + report->duplicates_removed);

  // The cleaned data is the clean data set less the rejected rows, repaired rows included.
  auto original = ReadTransactions(Path("clean.txt"));
  auto cleaned = ReadTransactions(Path("cleaned.txt"));
  ASSERT_TRUE(original.ok() && cleaned.ok());
  std::vector<Transaction> expected;
  for (const Transaction& tx : *original) {
    if (!rejected_ids.count(tx.transaction_id.value())) expected.push_back(tx);
  }
  EXPECT_EQ(*cleaned, expected);
}

TEST_F(DirtyCleanTest, GenerateWriteReadRoundTrip) {
  for (Format format : {Format::kOtus, Format::kCsv}) {
    GenerateOptions options = Options("round_trip", 0);
    options.format = format;
    auto summary = GenerateToFiles(options);
    ASSERT_TRUE(summary.ok()) << summary.status();

    // In memory, straight from the simulator.
    auto simulator = Simulator::Create(options.simulator);
    ASSERT_TRUE(simulator.ok());
    std::vector<Transaction> generated;
    ASSERT_TRUE((*simulator)
                    ->Run([&](int, std::span<const Transaction> day) {
                      generated.insert(generated.end(), day.begin(), day.end());
                      return absl::OkStatus();
                    })
                    .ok());

    auto read = ReadTransactions(options.out);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(*read, generated);

    // Written again, byte for byte the same file.
    std::string text(HeaderLine(format));
    for (const Transaction& tx : *read) AppendRow(format, tx, &text);
    EXPECT_TRUE(text == *ReadFile(options.out)) << FormatName(format);
  }
}

}  // namespace
}  // namespace fraud
