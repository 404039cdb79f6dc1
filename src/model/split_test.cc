#include "model/split.h"

#include <gtest/gtest.h>

#include "core/time.h"

namespace fraud {
namespace {

const int64_t kDay0 = DayIndex(*ParseDate("2018-07-25"));

Transaction Tx(int64_t id, int64_t day, int64_t customer, int fraud) {
  Transaction tx;
  tx.transaction_id = TransactionId(id);
  tx.tx_datetime = (kDay0 + day) * kSecondsPerDay + 3600;
  tx.customer_id = CustomerId(customer);
  tx.terminal_id = TerminalId(1);
  tx.amount_cents = 1000;
  tx.tx_fraud = static_cast<int8_t>(fraud);
  return tx;
}

TEST(HandbookSplit, HandbookProtocolRemovesKnownCompromisedCustomers) {
  // train days 0-1, delay days 2-3, test days 4-5.
  const SplitDays split{.train_start_day = kDay0, .train_days = 2, .delay_days = 2, .test_days = 2};
  const std::vector<Transaction> txs = {
      Tx(0, -1, 9, 1),  // before the training period: ignored
      Tx(1, 0, 1, 1),   // customer 1 known compromised from training
      Tx(2, 1, 2, 0),
      Tx(3, 1, 3, 1),  // day 1 = last training day: customer 3 known as well
      Tx(4, 2, 4, 1),  // delay day 2: its label is known from test day 1 on
      Tx(5, 3, 5, 1),  // delay day 3: never learnt before the test ends
      Tx(6, 4, 1, 1),  // test day 0, customer 1: removed
      Tx(7, 4, 4, 1),  // test day 0, customer 4: kept (day 2's label not yet known)
      Tx(8, 4, 5, 0),  // kept
      Tx(9, 5, 4, 1),  // test day 1, customer 4: removed (day 2 learnt)
      Tx(10, 5, 3, 0), // removed (training)
      Tx(11, 5, 2, 0), // kept
      Tx(12, 6, 2, 0), // after the test period: ignored
  };
  auto rows = MakeHandbookSplit(txs, split);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->train, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(rows->test, (std::vector<int64_t>{7, 8, 11}));
}

TEST(HandbookSplit, EmptyPeriodsAreClearErrors) {
  const SplitDays split{.train_start_day = kDay0, .train_days = 7, .delay_days = 7, .test_days = 7};
  const std::vector<Transaction> only_training = {Tx(0, 0, 1, 0), Tx(1, 1, 2, 1)};
  auto rows = MakeHandbookSplit(only_training, split);
  ASSERT_FALSE(rows.ok());
  EXPECT_NE(std::string(rows.status().message()).find("no transactions in the test period 2018-08-08"),
            std::string::npos)
      << rows.status();
}

TEST(HandbookSplit, ValidationSplitTestsOnTheTrainingPeriod) {
  const SplitDays split{.train_start_day = kDay0, .train_days = 7, .delay_days = 7, .test_days = 7};
  const SplitDays validation = ValidationSplit(split);
  EXPECT_EQ(validation.test_start_day(), split.train_start_day);
  EXPECT_EQ(validation.end_day(), split.train_start_day + split.train_days);
  EXPECT_EQ(validation.train_start_day, kDay0 - 14);
}

TEST(HandbookSplit, DefaultStartIsTheHandbooksWhenCovered) {
  std::vector<Transaction> txs;
  for (int d = -100; d < 60; ++d) txs.push_back(Tx(d + 100, d, 1, 0));
  EXPECT_EQ(*DefaultTrainStartDay(txs, SplitDays{}), kDay0);
  txs.resize(100 + 10);  // data ends on day 9: the latest split that fits starts on day -11
  EXPECT_EQ(*DefaultTrainStartDay(txs, SplitDays{}), kDay0 + 9 - 20);
  txs.resize(5);
  EXPECT_FALSE(DefaultTrainStartDay(txs, SplitDays{}).ok());
}

}  // namespace
}  // namespace fraud
