#pragma once

// Which model inputs are computed from a transaction and its history, in which order
// (DESIGN §3). A FeatureSpec is a value: the trainer stores it in the model artifact as JSON
// and every scoring surface rebuilds the same spec from that JSON, so a model is never fed
// columns in another order or with other windows than it was trained on.
//
//   const FeatureSpec* spec = FindFeatureSpec("handbook-v1");   // nullptr when unknown
//   nlohmann::ordered_json j = spec->ToJson();
//   ASSIGN_OR_RETURN(FeatureSpec again, FeatureSpec::FromJson(j));   // validated
//
// The built-in sets:
//   handbook-v1     the Fraud Detection Handbook's 15 inputs (ch. 3.3), in its order:
//                   TX_AMOUNT, TX_DURING_WEEKEND, TX_DURING_NIGHT,
//                   CUSTOMER_ID_{NB_TX,AVG_AMOUNT}_{1,7,30}DAY_WINDOW (interleaved per window),
//                   TERMINAL_ID_{NB_TX,RISK}_{1,7,30}DAY_WINDOW (interleaved per window).
//   fraudstream-v2  the 15 above, then the customer amount profile (6 inputs):
//                   CUSTOMER_ID_AMOUNT_RATIO_{1,7,30}DAY_WINDOW,
//                   CUSTOMER_ID_STD_AMOUNT_30DAY_WINDOW, CUSTOMER_ID_AMOUNT_ZSCORE_30DAY_WINDOW,
//                   CUSTOMER_ID_SECONDS_SINCE_PREV_TX; then the terminal profile (5 inputs):
//                   TERMINAL_ID_NB_FRAUD_{1,7,30}DAY_WINDOW (known frauds in the delayed
//                   windows), TERMINAL_ID_SECONDS_SINCE_KNOWN_FRAUD (from the newest fraud
//                   older than the delay to t − delay, capped at 30 days),
//                   TERMINAL_ID_SECONDS_SINCE_FIRST_KNOWN_FRAUD (from the oldest known fraud
//                   of the delayed 30-day window: how long the compromise has been known).
//   fraudstream-v3  the 26 of v2, then the customer anomaly profile (4 inputs), against a
//                   baseline of the customer's amounts in (t - 30 days, t - 7 days]:
//                   CUSTOMER_ID_AMOUNT_RATIO_BASELINE, CUSTOMER_ID_NB_TX_OVER_{2,3}X_BASELINE_
//                   7DAY_WINDOW, CUSTOMER_ID_MAX_RATIO_BASELINE_7DAY_WINDOW.
//   fraudstream-v4  the 30 of v3, then TERMINAL_ID_KNOWN_FRAUD_STREAK: how many of the
//                   terminal's newest known transactions (older than the delay, in the
//                   delayed 30-day window) are frauds in a row (the training default).
//                   Definitions: features/window_state.h.
//
// Thread-safe: immutable values; FindFeatureSpec returns pointers to static objects.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace fraud {

inline constexpr std::string_view kHandbookV1 = "handbook-v1";
inline constexpr std::string_view kFraudstreamV2 = "fraudstream-v2";
inline constexpr std::string_view kFraudstreamV3 = "fraudstream-v3";
inline constexpr std::string_view kFraudstreamV4 = "fraudstream-v4";
inline constexpr std::string_view kDefaultFeatureSet = kHandbookV1;

// Most windows per key kind (customer, terminal) a spec may have.
inline constexpr size_t kMaxWindows = 7;
// Most anomaly factors a spec may have (fraudstream-v3's customer anomaly profile).
inline constexpr size_t kMaxAnomalyFactors = 4;

struct FeatureSpec {
  std::string name;  // "handbook-v1"
  int version = 1;
  std::vector<int> customer_windows_days;  // ascending, e.g. {1, 7, 30}
  std::vector<int> terminal_windows_days;  // ascending, e.g. {1, 7, 30}
  int terminal_delay_days = 7;
  // fraudstream-v2's customer amount profile (ratios, std, z-score, time since previous).
  bool customer_profile = false;
  // fraudstream-v2's terminal profile: known frauds per delayed window and the time since the
  // terminal's newest known fraud (labels older than the delay only).
  bool terminal_profile = false;
  // fraudstream-v3's customer anomaly profile, off when 0: a baseline of the customer's
  // amounts in (t - Nmax, t - B] with B = customer_baseline_days (a compromise younger than B
  // does not contaminate it), the current amount over it, and the customer's earlier
  // transactions of (t - B, t] measured against it: how many exceed each factor times the
  // baseline mean, and the largest ratio. Needs 0 < B < the longest customer window.
  int customer_baseline_days = 0;
  std::vector<int> anomaly_factors;  // ascending, positive, e.g. {2, 3}
  // fraudstream-v4's terminal fraud streak: how many of the terminal's newest known
  // transactions are frauds in a row. A compromised terminal's transactions are all frauds,
  // while a fraud of a compromised card is followed by genuine ones.
  bool terminal_streak = false;
  std::vector<std::string> names;    // the model inputs, in order; see DerivedNames()

  size_t size() const { return names.size(); }
  // Index of a feature name, or -1.
  int IndexOf(std::string_view feature) const;

  // Column offsets of each group in a feature row (derived from the windows).
  static constexpr int kTxAmount = 0;
  static constexpr int kTxDuringWeekend = 1;
  static constexpr int kTxDuringNight = 2;
  static constexpr int kFirstCustomerColumn = 3;
  int first_terminal_column() const {
    return kFirstCustomerColumn + 2 * static_cast<int>(customer_windows_days.size());
  }
  int first_profile_column() const {
    return first_terminal_column() + 2 * static_cast<int>(terminal_windows_days.size());
  }
  int first_terminal_profile_column() const {
    const bool with_customer_profile = customer_profile && !customer_windows_days.empty();
    return first_profile_column() +
           (with_customer_profile ? static_cast<int>(customer_windows_days.size()) + 3 : 0);
  }

  bool has_anomaly_profile() const {
    return customer_baseline_days > 0 && !customer_windows_days.empty();
  }
  int first_anomaly_column() const {
    const bool with_terminal_profile = terminal_profile && !terminal_windows_days.empty();
    return first_terminal_profile_column() +
           (with_terminal_profile ? static_cast<int>(terminal_windows_days.size()) + 2 : 0);
  }

  bool has_terminal_streak() const { return terminal_streak && !terminal_windows_days.empty(); }
  int streak_column() const {
    return first_anomaly_column() +
           (has_anomaly_profile() ? static_cast<int>(anomaly_factors.size()) + 2 : 0);
  }

  // Longest customer window, and the longest terminal window plus the delay, in seconds:
  // how much history the state must keep.
  int64_t customer_horizon_seconds() const;
  int64_t terminal_horizon_seconds() const;

  // The names that the windows, delay and profile flag imply, in order.
  std::vector<std::string> DerivedNames() const;

  nlohmann::ordered_json ToJson() const;
  // Validates: at most kMaxWindows windows, positive and ascending, delay >= 0, the anomaly
  // profile's baseline inside the longest customer window, names == DerivedNames().
  static absl::StatusOr<FeatureSpec> FromJson(const nlohmann::ordered_json& json);

  bool operator==(const FeatureSpec&) const = default;
};

// Builds a spec with its names derived. Does not validate (FromJson and tests do).
FeatureSpec MakeFeatureSpec(std::string name, int version, std::vector<int> customer_windows_days,
                            std::vector<int> terminal_windows_days, int terminal_delay_days,
                            bool customer_profile, bool terminal_profile = false);

// The built-in set of that name ("handbook-v1", "fraudstream-v2", "fraudstream-v3",
// "fraudstream-v4"), or nullptr.
const FeatureSpec* FindFeatureSpec(std::string_view name);
// The default: handbook-v1.
const FeatureSpec& DefaultFeatureSpec();
// Names of the built-in sets, for help texts: {"handbook-v1", "fraudstream-v2",
// "fraudstream-v3", "fraudstream-v4"}.
std::vector<std::string> FeatureSetNames();

}  // namespace fraud
