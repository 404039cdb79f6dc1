#include "data/row_parser.h"

#include <gtest/gtest.h>

#include "core/time.h"

namespace fraud {
namespace {

const int64_t kStart = *ParseDate("2019-08-22");

struct Case {
  const char* line;
  Fault fault;
};

TEST(RowParser, ParsesACleanOtusRow) {
  RowParser parser(Layout::Otus(true), kStart);
  Transaction tx;
  ASSERT_EQ(parser.Parse("0,2019-08-22 06:51:03,0,711,70.91,24663,0,1,2", &tx), Fault::kNone);
  EXPECT_EQ(tx.transaction_id, TransactionId(0));
  EXPECT_EQ(FormatDateTime(tx.tx_datetime), "2019-08-22 06:51:03");
  EXPECT_EQ(tx.customer_id, CustomerId(0));
  EXPECT_EQ(tx.terminal_id, TerminalId(711));
  EXPECT_EQ(tx.amount_cents, 7091);
  EXPECT_EQ(tx.tx_time_seconds, 24663);
  EXPECT_EQ(tx.tx_time_days, 0);
  EXPECT_EQ(tx.tx_fraud, 1);
  EXPECT_EQ(tx.tx_fraud_scenario, 2);
  EXPECT_EQ(parser.repair(), Repair::kNone);
}

TEST(RowParser, EachRuleHasItsFault) {
  RowParser parser(Layout::Otus(true), kStart);
  const Case cases[] = {
      {"2,2019-08-22 19:05:33,1,,38.76,68733,0,0,0", Fault::kBadTerminalId},
      {"3,2019-08-22 07:21:33,3,Err,64.31,26493,0,0,0", Fault::kBadTerminalId},
      {"4,2019-08-22 09:06:17,-999999,978,86.50,32777,0,0,0", Fault::kBadCustomerId},
      {"6,2019-08-22 18:45:51,10,156,0.00,67551,0,0,0", Fault::kNonPositiveTxAmount},
      {"6,2019-08-22 18:45:51,10,156,-1.00,67551,0,0,0", Fault::kNonPositiveTxAmount},
      {"7,2019-08-22 18:45:51,10,156,12.5", Fault::kWrongFieldCount},
      {"7,2019-08-22 18:45:51,10,156,12.5,1,0,0,0,0", Fault::kWrongFieldCount},
      {"", Fault::kWrongFieldCount},
      {"8,2019-08-22 18:45:51,10,156,abc,67551,0,0,0", Fault::kBadTxAmount},
      {"9,2019-08-22 18:45:51,10,156,12.345,67551,0,0,0", Fault::kBadTxAmount},
      {"9,2019-08-22 18:45:51,10,156,1e3,67551,0,0,0", Fault::kBadTxAmount},
      {"9,2019-08-22 18:45:51,10,156,12.,67551,0,0,0", Fault::kBadTxAmount},
      {"10,2019-08-22 18:45:51,10,156,1200.00,67551,1,0,0", Fault::kTxTimeDaysMismatch},
      {"11,2019-08-22 18:45:51,10,156,1200.00,67551,0,2,0", Fault::kBadTxFraud},
      {"12,2019-08-22 18:45:51,10,156,1200.00,67551,0,1,7", Fault::kBadTxFraudScenario},
      {"13,2019-08-22 18:45:51,10,156,1200.00,x,0,1,1", Fault::kBadTxTimeSeconds},
      {"14,2019-08-22 18:45:51,10,156,1200.00,67551,-1,1,1", Fault::kBadTxTimeDays},
      {"1x,2019-08-22 18:45:51,10,156,1200.00,67551,0,1,1", Fault::kBadTransactionId},
      {"99999999999999999999,2019-08-22 18:45:51,10,156,1,67551,0,1,1", Fault::kBadTransactionId},
      {"15,2019-13-22 18:45:51,10,156,1200.00,67551,0,1,1", Fault::kBadTxDatetime},
      {"15,,10,156,1200.00,67551,0,1,1", Fault::kBadTxDatetime},
  };
  Transaction tx;
  for (const Case& c : cases) {
    EXPECT_EQ(parser.Parse(c.line, &tx), c.fault) << c.line << " -> " << parser.Describe();
  }
}

TEST(RowParser, DescribesTheProblemOnOneLine) {
  RowParser parser(Layout::Otus(true), kStart);
  Transaction tx;
  parser.Parse("3,2019-08-22 07:21:33,3,Err,64.31,26493,0,0,0", &tx);
  EXPECT_EQ(parser.Describe(), "terminal_id is not valid: 'Err'");
  parser.Parse("2,2019-08-22 19:05:33,1,,38.76,68733,0,0,0", &tx);
  EXPECT_EQ(parser.Describe(), "terminal_id is empty");
  parser.Parse("7,2019-08-22 18:45:51,10,156,12.5", &tx);
  EXPECT_EQ(parser.Describe(), "expected 9 fields, found 5");
  parser.Parse("10,2019-08-22 18:45:51,10,156,1200.00,67551,1,0,0", &tx);
  EXPECT_EQ(parser.Describe(), "tx_time_days 1 but tx_time_seconds 67551 is day 0");
}

TEST(RowParser, RebuildsHour24FromTxTimeSeconds) {
  RowParser parser(Layout::Otus(true), kStart);
  Transaction tx;
  ASSERT_EQ(parser.Parse("5,2019-08-22 24:00:00,10,156,20.00,86410,1,0,0", &tx), Fault::kNone);
  EXPECT_EQ(parser.repair(), Repair::kHour24Rebuilt);
  EXPECT_EQ(FormatDateTime(tx.tx_datetime), "2019-08-23 00:00:10");

  RowParser unknown_start(Layout::Otus(true), kAbsent);
  EXPECT_EQ(unknown_start.Parse("5,2019-08-22 24:00:00,10,156,20.00,86410,1,0,0", &tx),
            Fault::kBadTxDatetime);
  EXPECT_NE(unknown_start.Describe().find("cannot be rebuilt"), std::string::npos);
}

TEST(RowParser, AmountKeepsItsDecimals) {
  RowParser parser(Layout::Otus(false), kStart);
  Transaction tx;
  ASSERT_EQ(parser.Parse("1,2019-08-22 00:00:01,1,1,7.5,1,0,0,0", &tx), Fault::kNone);
  EXPECT_EQ(tx.amount_cents, 750);
  EXPECT_EQ(tx.amount_decimals, 1);
  ASSERT_EQ(parser.Parse("1,2019-08-22 00:00:01,1,1,3,1,0,0,0\r", &tx), Fault::kNone);
  EXPECT_EQ(tx.amount_cents, 300);
  EXPECT_EQ(tx.amount_decimals, 0);
}

TEST(RowParser, LabelsMayBeAbsent) {
  RowParser parser(Layout::Otus(false), kStart);
  Transaction tx;
  ASSERT_EQ(parser.Parse("1,2019-08-22 00:00:01,1,1,7.50,,,,", &tx), Fault::kNone);
  EXPECT_EQ(tx.tx_fraud, kAbsentLabel);
  EXPECT_EQ(tx.tx_time_seconds, kAbsent);
}

TEST(RowParser, JsonLines) {
  RowParser parser(Layout::JsonLines(), kAbsent);
  Transaction tx;
  ASSERT_EQ(parser.Parse(R"({"transaction_id":7,"tx_datetime":"2018-04-01 00:00:31",)"
                         R"("customer_id":"596","terminal_id":3156,"tx_amount":12.30,"x":[1,{}]})",
                         &tx),
            Fault::kNone)
      << parser.Describe();
  EXPECT_EQ(tx.transaction_id, TransactionId(7));
  EXPECT_EQ(tx.customer_id, CustomerId(596));
  EXPECT_EQ(tx.amount_cents, 1230);
  EXPECT_EQ(tx.tx_fraud, kAbsentLabel);

  const Case cases[] = {
      {R"({"transaction_id":7)", Fault::kBadJson},
      {R"([1,2,3])", Fault::kBadJson},
      {R"(not json)", Fault::kBadJson},
      {R"({"transaction_id":7} trailing)", Fault::kBadJson},
      {R"({"transaction_id":7,"tx_datetime":"2018-04-01 00:00:31","customer_id":1,)"
       R"("terminal_id":{"a":1},"tx_amount":1})",
       Fault::kBadTerminalId},
      {R"({"transaction_id":7,"tx_datetime":"2018-04-01 00:00:31","customer_id":1,)"
       R"("terminal_id":1})",
       Fault::kBadTxAmount},
      {R"({"transaction_id":true,"tx_datetime":"2018-04-01 00:00:31"})", Fault::kBadTransactionId},
      {R"({"transaction_id":"7\n","tx_datetime":"2018-04-01 00:00:31"})",
       Fault::kBadTransactionId},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(parser.Parse(c.line, &tx), c.fault) << c.line << " -> " << parser.Describe();
  }
}

TEST(RowParser, InfersDatasetStartByMajority) {
  const std::string text =
      "0,2019-08-22 06:51:03,0,711,70.91,24663,0,0,0\n"
      "1,2019-08-22 05:10:37,0,0,90.55,18637,0,0,0\n"
      "2,2019-08-22 05:10:37,0,0,90.55,1,0,0,0\n"
      "junk\n";
  EXPECT_EQ(InferDatasetStart(Layout::Otus(false), text), kStart);
  EXPECT_EQ(InferDatasetStart(Layout::Otus(false), "junk\n"), kAbsent);
}

}  // namespace
}  // namespace fraud
