#include "data/row_writer.h"

#include <gtest/gtest.h>

#include "core/time.h"
#include "data/row_parser.h"

namespace fraud {
namespace {

Transaction Sample() {
  Transaction tx;
  tx.transaction_id = TransactionId(42);
  tx.tx_datetime = *ParseDate("2018-04-01") + 31;
  tx.customer_id = CustomerId(596);
  tx.terminal_id = TerminalId(3156);
  tx.amount_cents = 5716;
  tx.tx_time_seconds = 31;
  tx.tx_time_days = 0;
  tx.tx_fraud = 0;
  tx.tx_fraud_scenario = 0;
  return tx;
}

TEST(RowWriter, WritesEachFormat) {
  std::string out;
  AppendRow(Format::kOtus, Sample(), &out);
  EXPECT_EQ(out, "42,2018-04-01 00:00:31,596,3156,57.16,31,0,0,0\n");
  out.clear();
  AppendRow(Format::kJsonLines, Sample(), &out);
  EXPECT_EQ(out,
            R"({"transaction_id":42,"tx_datetime":"2018-04-01 00:00:31","customer_id":596,)"
            R"("terminal_id":3156,"tx_amount":57.16,"tx_time_seconds":31,"tx_time_days":0,)"
            R"("tx_fraud":0,"tx_fraud_scenario":0})"
            "\n");
  EXPECT_EQ(HeaderLine(Format::kJsonLines), "");
  EXPECT_EQ(HeaderLine(Format::kCsv).substr(0, 27), "transaction_id,tx_datetime,");
}

TEST(RowWriter, AbsentFieldsStayAbsent) {
  Transaction tx = Sample();
  tx.tx_fraud = kAbsentLabel;
  tx.tx_fraud_scenario = kAbsentLabel;
  tx.tx_time_seconds = kAbsent;
  tx.tx_time_days = kAbsent;
  std::string out;
  AppendRow(Format::kCsv, tx, &out);
  EXPECT_EQ(out, "42,2018-04-01 00:00:31,596,3156,57.16,,,,\n");
  out.clear();
  AppendRow(Format::kJsonLines, tx, &out);
  EXPECT_EQ(out.find("tx_fraud"), std::string::npos);
}

TEST(RowWriter, AmountsAreExact) {
  std::string out;
  AppendAmount(5, 2, &out);
  EXPECT_EQ(out, "0.05");
  out.clear();
  AppendAmount(-1250, 1, &out);
  EXPECT_EQ(out, "-12.5");
  out.clear();
  AppendAmount(1234, 0, &out);  // cannot be shown with 0 decimals: falls back to 2
  EXPECT_EQ(out, "12.34");
  out.clear();
  AppendAmount(123456789012345, 2, &out);
  EXPECT_EQ(out, "1234567890123.45");
}

TEST(RowWriter, EveryFormatRoundTripsThroughTheParser) {
  for (Format format : {Format::kOtus, Format::kCsv, Format::kJsonLines}) {
    for (int decimals : {0, 1, 2}) {
      Transaction tx = Sample();
      tx.amount_decimals = static_cast<int8_t>(decimals);
      tx.amount_cents = decimals == 0 ? 5700 : decimals == 1 ? 5710 : 5716;
      std::string line;
      AppendRow(format, tx, &line);
      line.pop_back();
      Layout layout = format == Format::kJsonLines ? Layout::JsonLines() : Layout::Otus(true);
      RowParser parser(layout, kAbsent);
      Transaction back;
      ASSERT_EQ(parser.Parse(line, &back), Fault::kNone) << line << parser.Describe();
      EXPECT_EQ(back, tx) << line;
    }
  }
}

}  // namespace
}  // namespace fraud
