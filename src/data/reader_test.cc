#include "data/reader.h"

#include <gtest/gtest.h>

#include "core/file.h"
#include "core/testing.h"
#include "core/time.h"
#include "data/row_writer.h"

namespace fraud {
namespace {

TEST(Reader, CsvWithHeaderInAnyOrderAndCase) {
  auto txs = ReadTransactions(GoldenPath("io/mixed_header.csv"));
  ASSERT_TRUE(txs.ok()) << txs.status();
  ASSERT_EQ(txs->size(), 3u);
  const Transaction& first = (*txs)[0];
  EXPECT_EQ(first.transaction_id, TransactionId(1));
  EXPECT_EQ(first.amount_cents, 1230);
  EXPECT_EQ(first.customer_id, CustomerId(596));
  EXPECT_EQ(first.terminal_id, TerminalId(3156));
  EXPECT_EQ(first.tx_fraud, 0);
  EXPECT_EQ(first.tx_time_seconds, kAbsent);
  EXPECT_EQ((*txs)[1].amount_cents, 700);  // a quoted field
  EXPECT_EQ(FormatDateTime((*txs)[1].tx_datetime), "2018-04-01 00:02:10");
  EXPECT_EQ((*txs)[2].tx_fraud, kAbsentLabel);
  EXPECT_EQ((*txs)[2].amount_decimals, 1);
}

TEST(Reader, JsonLinesEqualsCsv) {
  auto json = ReadTransactions(GoldenPath("io/sample.jsonl"));
  ASSERT_TRUE(json.ok()) << json.status();
  ASSERT_EQ(json->size(), 3u);
  EXPECT_EQ((*json)[0].amount_cents, 1230);
  EXPECT_EQ((*json)[1].tx_fraud_scenario, 2);
  EXPECT_EQ((*json)[1].tx_time_seconds, 130);
  EXPECT_EQ((*json)[2].tx_fraud, kAbsentLabel);
  auto csv = ReadTransactions(GoldenPath("io/mixed_header.csv"));
  ASSERT_TRUE(csv.ok());
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*json)[i].transaction_id, (*csv)[i].transaction_id);
    EXPECT_EQ((*json)[i].tx_datetime, (*csv)[i].tx_datetime);
    EXPECT_EQ((*json)[i].amount_cents, (*csv)[i].amount_cents);
  }
}

TEST(Reader, StrictReadNamesTheFirstBadLine) {
  auto txs = ReadTransactions(GoldenPath("clean/dirty_otus.txt"));
  ASSERT_FALSE(txs.ok());
  EXPECT_EQ(txs.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(txs.status().message().find("line 4: bad_terminal_id: terminal_id is empty"),
            std::string::npos)
      << txs.status();
  EXPECT_NE(txs.status().message().find("fraudstream clean"), std::string::npos);
}

TEST(Reader, EmptyMissingAndHeaderOnlyFiles) {
  ScopedTempDir dir;
  const std::string empty = dir.Path("empty.csv");
  ASSERT_TRUE(WriteFile(empty, "").ok());
  EXPECT_EQ(ReadTransactions(empty).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadTransactions("/no/such/file.csv").status().code(), absl::StatusCode::kNotFound);
  const std::string header_only = dir.Path("header.csv");
  ASSERT_TRUE(WriteFile(header_only, std::string(HeaderLine(Format::kCsv))).ok());
  auto txs = ReadTransactions(header_only);
  ASSERT_TRUE(txs.ok()) << txs.status();
  EXPECT_TRUE(txs->empty());
}

TEST(Reader, ManySmallChunksKeepOrderAndEveryRow) {
  std::string text(HeaderLine(Format::kOtus));
  std::vector<Transaction> expected;
  const int64_t start = *ParseDate("2018-04-01");
  for (int i = 0; i < 5000; ++i) {
    Transaction tx;
    tx.transaction_id = TransactionId(i);
    tx.tx_datetime = start + i * 17;
    tx.customer_id = CustomerId(i % 97);
    tx.terminal_id = TerminalId(i % 13);
    tx.amount_cents = 100 + i;
    tx.tx_time_seconds = i * 17;
    tx.tx_time_days = i * 17 / kSecondsPerDay;
    tx.tx_fraud = i % 2;
    tx.tx_fraud_scenario = i % 2;
    expected.push_back(tx);
    AppendRow(Format::kOtus, tx, &text);
  }
  text.pop_back();  // no newline at the end of the file
  ScopedTempDir dir;
  const std::string path = dir.Path("many.txt");
  ASSERT_TRUE(WriteFile(path, text).ok());
  for (size_t chunk_bytes : {size_t{37}, size_t{1000}, kDefaultChunkBytes}) {
    auto txs = ReadTransactions(path, {.threads = 3, .chunk_bytes = chunk_bytes});
    ASSERT_TRUE(txs.ok()) << txs.status();
    EXPECT_EQ(*txs, expected) << "chunk_bytes " << chunk_bytes;
  }
}

}  // namespace
}  // namespace fraud
