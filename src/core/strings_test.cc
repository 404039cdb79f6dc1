#include "core/strings.h"

#include <gtest/gtest.h>

namespace fraud {
namespace {

using Parts = std::vector<std::string_view>;

TEST(Strings, Split) {
  EXPECT_EQ(Split("a,,b", ','), (Parts{"a", "", "b"}));
  EXPECT_EQ(Split("", ','), (Parts{""}));
  EXPECT_EQ(SplitN("1\tr\td\traw\twith\ttabs", '\t', 3), (Parts{"1", "r", "d", "raw\twith\ttabs"}));
}

TEST(Strings, TrimAndCase) {
  EXPECT_EQ(Trim(" \tx y\r\n"), "x y");
  EXPECT_EQ(Trim("   "), "");
  EXPECT_TRUE(EqualsIgnoreCase("TX_Amount", "tx_amount"));
  EXPECT_FALSE(EqualsIgnoreCase("tx_amount", "tx_amounts"));
}

}  // namespace
}  // namespace fraud
