#include "features/feature_spec.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace fraud {
namespace {

TEST(FeatureSpec, HandbookV1IsTheHandbooksFifteenInputsInOrder) {
  const FeatureSpec* spec = FindFeatureSpec("handbook-v1");
  ASSERT_NE(spec, nullptr);
  const std::vector<std::string> expected = {
      "TX_AMOUNT",
      "TX_DURING_WEEKEND",
      "TX_DURING_NIGHT",
      "CUSTOMER_ID_NB_TX_1DAY_WINDOW",
      "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW",
      "CUSTOMER_ID_NB_TX_7DAY_WINDOW",
      "CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW",
      "CUSTOMER_ID_NB_TX_30DAY_WINDOW",
      "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW",
      "TERMINAL_ID_NB_TX_1DAY_WINDOW",
      "TERMINAL_ID_RISK_1DAY_WINDOW",
      "TERMINAL_ID_NB_TX_7DAY_WINDOW",
      "TERMINAL_ID_RISK_7DAY_WINDOW",
      "TERMINAL_ID_NB_TX_30DAY_WINDOW",
      "TERMINAL_ID_RISK_30DAY_WINDOW",
  };
  EXPECT_EQ(spec->names, expected);
  EXPECT_EQ(spec->version, 1);
  EXPECT_EQ(spec->terminal_delay_days, 7);
  EXPECT_EQ(spec->first_terminal_column(), 9);
  EXPECT_EQ(spec->customer_horizon_seconds(), 30 * 86400);
  EXPECT_EQ(spec->terminal_horizon_seconds(), 37 * 86400);
  EXPECT_EQ(&DefaultFeatureSpec(), spec);
}

TEST(FeatureSpec, FraudstreamV2ExtendsV1) {
  const FeatureSpec* v1 = FindFeatureSpec("handbook-v1");
  const FeatureSpec* v2 = FindFeatureSpec("fraudstream-v2");
  ASSERT_NE(v2, nullptr);
  ASSERT_EQ(v2->size(), 26u);
  EXPECT_TRUE(std::equal(v1->names.begin(), v1->names.end(), v2->names.begin()));
  EXPECT_EQ(v2->first_profile_column(), 15);
  EXPECT_EQ(v2->IndexOf("CUSTOMER_ID_AMOUNT_RATIO_1DAY_WINDOW"), 15);
  EXPECT_EQ(v2->IndexOf("CUSTOMER_ID_SECONDS_SINCE_PREV_TX"), 20);
  EXPECT_EQ(v2->first_terminal_profile_column(), 21);
  EXPECT_EQ(v2->IndexOf("TERMINAL_ID_NB_FRAUD_1DAY_WINDOW"), 21);
  EXPECT_EQ(v2->IndexOf("TERMINAL_ID_SECONDS_SINCE_KNOWN_FRAUD"), 24);
  EXPECT_EQ(v2->IndexOf("NOPE"), -1);
  EXPECT_EQ(FindFeatureSpec("v3"), nullptr);
  EXPECT_EQ(FeatureSetNames(),
            (std::vector<std::string>{"handbook-v1", "fraudstream-v2", "fraudstream-v3",
                                      "fraudstream-v4"}));
}

TEST(FeatureSpec, FraudstreamV3ExtendsV2) {
  const FeatureSpec* v2 = FindFeatureSpec("fraudstream-v2");
  const FeatureSpec* v3 = FindFeatureSpec("fraudstream-v3");
  ASSERT_NE(v3, nullptr);
  ASSERT_EQ(v3->size(), 30u);
  EXPECT_EQ(v3->version, 3);
  EXPECT_TRUE(std::equal(v2->names.begin(), v2->names.end(), v3->names.begin()));
  EXPECT_FALSE(v2->has_anomaly_profile());
  EXPECT_TRUE(v3->has_anomaly_profile());
  EXPECT_EQ(v3->first_anomaly_column(), 26);
  EXPECT_EQ(v3->IndexOf("CUSTOMER_ID_AMOUNT_RATIO_BASELINE"), 26);
  EXPECT_EQ(v3->IndexOf("CUSTOMER_ID_NB_TX_OVER_2X_BASELINE_7DAY_WINDOW"), 27);
  EXPECT_EQ(v3->IndexOf("CUSTOMER_ID_NB_TX_OVER_3X_BASELINE_7DAY_WINDOW"), 28);
  EXPECT_EQ(v3->IndexOf("CUSTOMER_ID_MAX_RATIO_BASELINE_7DAY_WINDOW"), 29);
  // Same history kept as v2: the anomaly profile reads the customer's existing events.
  EXPECT_EQ(v3->customer_horizon_seconds(), v2->customer_horizon_seconds());
  EXPECT_EQ(v3->terminal_horizon_seconds(), v2->terminal_horizon_seconds());
  // Older specs' JSON does not name the anomaly profile.
  EXPECT_FALSE(v2->ToJson().contains("customer_baseline_days"));
  EXPECT_EQ(v3->ToJson()["customer_baseline_days"], 7);
}

TEST(FeatureSpec, FraudstreamV4ExtendsV3) {
  const FeatureSpec* v3 = FindFeatureSpec("fraudstream-v3");
  const FeatureSpec* v4 = FindFeatureSpec("fraudstream-v4");
  ASSERT_NE(v4, nullptr);
  ASSERT_EQ(v4->size(), 31u);
  EXPECT_EQ(v4->version, 4);
  EXPECT_TRUE(std::equal(v3->names.begin(), v3->names.end(), v4->names.begin()));
  EXPECT_FALSE(v3->has_terminal_streak());
  EXPECT_TRUE(v4->has_terminal_streak());
  EXPECT_EQ(v4->streak_column(), 30);
  EXPECT_EQ(v4->IndexOf("TERMINAL_ID_KNOWN_FRAUD_STREAK"), 30);
  EXPECT_EQ(v4->terminal_horizon_seconds(), v3->terminal_horizon_seconds());
  // Older specs' JSON does not name the streak; a spec that asks for it must name the column.
  EXPECT_FALSE(v3->ToJson().contains("terminal_streak"));
  EXPECT_EQ(v4->ToJson()["terminal_streak"], true);
  auto unnamed = v4->ToJson();
  unnamed["names"].erase(30);
  EXPECT_EQ(FeatureSpec::FromJson(unnamed).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FeatureSpec, JsonRoundTrip) {
  for (const std::string& name : FeatureSetNames()) {
    const FeatureSpec& spec = *FindFeatureSpec(name);
    const nlohmann::ordered_json j = spec.ToJson();
    EXPECT_EQ(j["name"], name);
    auto back = FeatureSpec::FromJson(nlohmann::ordered_json::parse(j.dump()));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, spec);
  }
  // A plain nlohmann::json converts too.
  const nlohmann::json plain = FindFeatureSpec("handbook-v1")->ToJson();
  EXPECT_TRUE(FeatureSpec::FromJson(plain).ok());
}

TEST(FeatureSpec, FromJsonRejectsInconsistentSpecs) {
  nlohmann::ordered_json j = FindFeatureSpec("handbook-v1")->ToJson();
  auto swapped = j;
  std::swap(swapped["names"][0], swapped["names"][1]);
  EXPECT_EQ(FeatureSpec::FromJson(swapped).status().code(), absl::StatusCode::kInvalidArgument);
  auto windows = j;
  windows["customer_windows_days"] = {7, 1, 30};
  EXPECT_EQ(FeatureSpec::FromJson(windows).status().code(), absl::StatusCode::kInvalidArgument);
  auto missing = j;
  missing.erase("names");
  EXPECT_EQ(FeatureSpec::FromJson(missing).status().code(), absl::StatusCode::kInvalidArgument);
  // The anomaly baseline must end inside the longest customer window.
  for (int bad : {-1, 30, 31}) {
    auto v3 = FindFeatureSpec("fraudstream-v3")->ToJson();
    v3["customer_baseline_days"] = bad;
    EXPECT_EQ(FeatureSpec::FromJson(v3).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  auto factors = FindFeatureSpec("fraudstream-v3")->ToJson();
  factors["anomaly_factors"] = {3, 2};
  EXPECT_EQ(FeatureSpec::FromJson(factors).status().code(), absl::StatusCode::kInvalidArgument);
  // Other windows are fine when the names follow them.
  const FeatureSpec custom = MakeFeatureSpec("custom", 1, {2, 14}, {3}, 5, true);
  auto back = FeatureSpec::FromJson(custom.ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->names.back(), "CUSTOMER_ID_SECONDS_SINCE_PREV_TX");
  EXPECT_EQ(back->IndexOf("TERMINAL_ID_RISK_3DAY_WINDOW"), 8);
}

}  // namespace
}  // namespace fraud
