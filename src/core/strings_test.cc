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

#include "core/hash.h"

namespace fraud {
namespace {

TEST(Fnv1a64, KnownVectors) {
  EXPECT_EQ(Fnv1a64().value(), 0xcbf29ce484222325ULL);
  EXPECT_EQ(Fnv1a64().Add("a").value(), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(Fnv1a64().Add("foobar").Hex(), "fnv1a64:85944171f73967e8");
}

}  // namespace
}  // namespace fraud
