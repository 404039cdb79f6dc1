#include "data/layout.h"

#include <gtest/gtest.h>

namespace fraud {
namespace {

TEST(Layout, DetectsOtusHeaderWithItsTypo) {
  auto layout = DetectLayout(
      "# tranaction_id | tx_datetime | customer_id | terminal_id | tx_amount | tx_time_seconds "
      "| tx_time_days | tx_fraud | tx_fraud_scenario");
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->format, Format::kOtus);
  EXPECT_TRUE(layout->has_header_line);
  EXPECT_EQ(layout->field_count, 9);
}

TEST(Layout, DetectsCsvHeaderInAnyCaseAndOrder) {
  auto layout = DetectLayout("TX_AMOUNT,Transaction_ID,tx_datetime,CUSTOMER_ID,terminal_id,x\r");
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->format, Format::kCsv);
  EXPECT_EQ(layout->field_count, 6);
  EXPECT_EQ(layout->field_of_column[kTxAmountColumn], 0);
  EXPECT_EQ(layout->field_of_column[kTransactionIdColumn], 1);
  EXPECT_EQ(layout->field_of_column[kTxFraudColumn], kAbsentField);
}

TEST(Layout, DetectsJsonLinesAndHeaderlessOtus) {
  EXPECT_EQ(DetectLayout(R"({"transaction_id": 1})")->format, Format::kJsonLines);
  auto headerless = DetectLayout("0,2019-08-22 06:51:03,0,711,70.91,24663,0,0,0");
  ASSERT_TRUE(headerless.ok());
  EXPECT_EQ(headerless->format, Format::kOtus);
  EXPECT_FALSE(headerless->has_header_line);
}

TEST(Layout, ExplainsWhatIsMissing) {
  auto layout = DetectLayout("transaction_id,tx_datetime,customer_id");
  ASSERT_FALSE(layout.ok());
  EXPECT_NE(layout.status().message().find("terminal_id, tx_amount"), std::string::npos)
      << layout.status();
  EXPECT_FALSE(DetectLayout("# something | else").ok());
  EXPECT_FALSE(DetectLayout("").ok());
  EXPECT_FALSE(DetectLayout("transaction_id,transaction_id,tx_datetime").ok());
}

TEST(Layout, FormatNames) {
  EXPECT_EQ(*ParseFormatName("csv"), Format::kCsv);
  EXPECT_EQ(*ParseFormatName("jsonl"), Format::kJsonLines);
  EXPECT_EQ(ParseFormatName("xml").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fraud
