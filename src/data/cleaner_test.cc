#include "data/cleaner.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/strings.h"
#include "core/testing.h"
#include "core/file.h"
#include "nlohmann/json.hpp"

namespace fraud {
namespace {

class CleanerTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_.Path(name); }

  CleanOptions Options(const std::string& input) const {
    CleanOptions options;
    options.input = input;
    options.output = Path("clean.txt");
    options.quarantine = Path("rejected.tsv");
    options.report = Path("report.json");
    options.progress = false;
    return options;
  }

  ScopedTempDir dir_;
};

TEST_F(CleanerTest, GoldenDirtyOtusFile) {
  auto report = Clean(Options(GoldenPath("clean/dirty_otus.txt")));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(*ReadFile(Path("clean.txt")), *ReadFile(GoldenPath("clean/dirty_otus.clean.txt")));
  EXPECT_EQ(*ReadFile(Path("rejected.tsv")), *ReadFile(GoldenPath("clean/dirty_otus.rejected.tsv")));

  EXPECT_EQ(report->rows_in, 23);
  EXPECT_EQ(report->rows_out, 6);
  EXPECT_EQ(report->rows_rejected, 16);
  EXPECT_EQ(report->duplicates_removed, 1);
  EXPECT_EQ(report->rows_repaired, 1);
  EXPECT_EQ(report->rows_in,
            report->rows_out + report->rows_rejected + report->duplicates_removed);
  EXPECT_EQ(report->count(Fault::kBadTerminalId), 2);
  EXPECT_EQ(report->count(Fault::kBadTxAmount), 2);
  EXPECT_EQ(report->count(Fault::kNonPositiveTxAmount), 2);
  EXPECT_EQ(report->count(Fault::kWrongFieldCount), 2);  // a short row and an empty line
  EXPECT_EQ(report->count(Fault::kDuplicateTransactionId), 1);

  // The JSON report says the same, and a text twin exists.
  const auto json = nlohmann::json::parse(*ReadFile(Path("report.json")));
  EXPECT_EQ(json["rows_in"], 23);
  EXPECT_EQ(json["quarantined_by_rule"]["bad_customer_id"], 1);
  EXPECT_EQ(json["repaired_by_rule"]["tx_datetime_hour24_rebuilt"], 1);
  EXPECT_EQ(json["dataset_start"], "2019-08-22 00:00:00");
  EXPECT_TRUE(std::filesystem::exists(Path("report.txt")));
}

TEST_F(CleanerTest, QuarantineKeepsEveryOriginalLineByteForByte) {
  ASSERT_TRUE(Clean(Options(GoldenPath("clean/dirty_otus.txt"))).ok());
  const std::string input = *ReadFile(GoldenPath("clean/dirty_otus.txt"));
  const std::vector<std::string_view> input_lines = Split(input, '\n');
  const std::string quarantine = *ReadFile(Path("rejected.tsv"));
  int rows = 0;
  for (std::string_view row : Split(quarantine, '\n')) {
    if (row.empty() || rows++ == 0) continue;  // the end, the header
    const std::vector<std::string_view> fields = SplitN(row, '\t', 3);
    ASSERT_EQ(fields.size(), 4u) << row;
    const int line = std::stoi(std::string(fields[0]));
    EXPECT_EQ(fields[3], input_lines[line - 1]) << "line " << line;
  }
  EXPECT_EQ(rows - 1, 17);
}

TEST_F(CleanerTest, ChunkingAndThreadsDoNotChangeTheResult) {
  ASSERT_TRUE(Clean(Options(GoldenPath("clean/dirty_otus.txt"))).ok());
  const std::string clean = *ReadFile(Path("clean.txt"));
  const std::string rejected = *ReadFile(Path("rejected.tsv"));
  for (size_t chunk_bytes : {size_t{1}, size_t{50}, size_t{200}}) {
    CleanOptions options = Options(GoldenPath("clean/dirty_otus.txt"));
    options.chunk_bytes = chunk_bytes;
    options.threads = 3;
    auto report = Clean(options);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(*ReadFile(Path("clean.txt")), clean) << chunk_bytes;
    EXPECT_EQ(*ReadFile(Path("rejected.tsv")), rejected) << chunk_bytes;
  }
}

TEST_F(CleanerTest, CleanFileIsUnchangedByteForByte) {
  ASSERT_TRUE(Clean(Options(GoldenPath("clean/dirty_otus.txt"))).ok());
  const std::string once = *ReadFile(Path("clean.txt"));
  const std::string again_in = Path("again_in.txt");
  ASSERT_TRUE(WriteFile(again_in, once).ok());
  CleanOptions options = Options(again_in);
  options.output = Path("again_out.txt");
  auto report = Clean(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->rows_out, report->rows_in);
  EXPECT_EQ(*ReadFile(Path("again_out.txt")), once);
}

TEST_F(CleanerTest, ConvertsFormats) {
  CleanOptions options = Options(GoldenPath("io/sample.jsonl"));
  auto report = Clean(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->output_format, Format::kJsonLines);
  EXPECT_EQ(report->rows_out, 3);
  options.output_format = Format::kCsv;
  ASSERT_TRUE(Clean(options).ok());
  EXPECT_EQ(*ReadFile(Path("clean.txt")),
            "transaction_id,tx_datetime,customer_id,terminal_id,tx_amount,tx_time_seconds,"
            "tx_time_days,tx_fraud,tx_fraud_scenario\n"
            "1,2018-04-01 00:00:31,596,3156,12.30,,,0,\n"
            "2,2018-04-01 00:02:10,4961,3412,7.00,130,0,1,2\n"
            "3,2018-04-01 00:07:56,2,1365,0.5,,,,\n");
}

TEST_F(CleanerTest, UnreadableInputLeavesNoOutput) {
  CleanOptions options = Options(Path("missing.txt"));
  auto report = Clean(options);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(Path("clean.txt")));
  EXPECT_FALSE(std::filesystem::exists(Path("rejected.tsv")));
}

}  // namespace
}  // namespace fraud
