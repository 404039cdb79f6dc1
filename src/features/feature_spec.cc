#include "features/feature_spec.h"

#include <algorithm>

#include "core/time.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "nlohmann/json.hpp"

namespace fraud {

int FeatureSpec::IndexOf(std::string_view feature) const {
  const auto it = std::find(names.begin(), names.end(), feature);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

int64_t FeatureSpec::customer_horizon_seconds() const {
  const int days = customer_windows_days.empty() ? 0 : customer_windows_days.back();
  return int64_t{days} * kSecondsPerDay;
}

int64_t FeatureSpec::terminal_horizon_seconds() const {
  if (terminal_windows_days.empty()) return 0;
  return int64_t{terminal_windows_days.back() + terminal_delay_days} * kSecondsPerDay;
}

std::vector<std::string> FeatureSpec::DerivedNames() const {
  std::vector<std::string> out = {"TX_AMOUNT", "TX_DURING_WEEKEND", "TX_DURING_NIGHT"};
  for (const int days : customer_windows_days) {
    out.push_back(fmt::format("CUSTOMER_ID_NB_TX_{}DAY_WINDOW", days));
    out.push_back(fmt::format("CUSTOMER_ID_AVG_AMOUNT_{}DAY_WINDOW", days));
  }
  for (const int days : terminal_windows_days) {
    out.push_back(fmt::format("TERMINAL_ID_NB_TX_{}DAY_WINDOW", days));
    out.push_back(fmt::format("TERMINAL_ID_RISK_{}DAY_WINDOW", days));
  }
  if (customer_profile && !customer_windows_days.empty()) {
    for (const int days : customer_windows_days) {
      out.push_back(fmt::format("CUSTOMER_ID_AMOUNT_RATIO_{}DAY_WINDOW", days));
    }
    const int longest = customer_windows_days.back();
    out.push_back(fmt::format("CUSTOMER_ID_STD_AMOUNT_{}DAY_WINDOW", longest));
    out.push_back(fmt::format("CUSTOMER_ID_AMOUNT_ZSCORE_{}DAY_WINDOW", longest));
    out.push_back("CUSTOMER_ID_SECONDS_SINCE_PREV_TX");
  }
  if (terminal_profile && !terminal_windows_days.empty()) {
    for (const int days : terminal_windows_days) {
      out.push_back(fmt::format("TERMINAL_ID_NB_FRAUD_{}DAY_WINDOW", days));
    }
    out.push_back("TERMINAL_ID_SECONDS_SINCE_KNOWN_FRAUD");
    out.push_back("TERMINAL_ID_SECONDS_SINCE_FIRST_KNOWN_FRAUD");
  }
  if (has_anomaly_profile()) {
    const int b = customer_baseline_days;
    out.push_back("CUSTOMER_ID_AMOUNT_RATIO_BASELINE");
    for (const int k : anomaly_factors) {
      out.push_back(fmt::format("CUSTOMER_ID_NB_TX_OVER_{}X_BASELINE_{}DAY_WINDOW", k, b));
    }
    out.push_back(fmt::format("CUSTOMER_ID_MAX_RATIO_BASELINE_{}DAY_WINDOW", b));
  }
  if (has_terminal_streak()) out.push_back("TERMINAL_ID_KNOWN_FRAUD_STREAK");
  return out;
}

nlohmann::ordered_json FeatureSpec::ToJson() const {
  nlohmann::ordered_json j;
  j["name"] = name;
  j["version"] = version;
  j["customer_windows_days"] = customer_windows_days;
  j["terminal_windows_days"] = terminal_windows_days;
  j["terminal_delay_days"] = terminal_delay_days;
  j["customer_profile"] = customer_profile;
  j["terminal_profile"] = terminal_profile;
  if (customer_baseline_days != 0) {  // written only when used: older specs' JSON is unchanged
    j["customer_baseline_days"] = customer_baseline_days;
    j["anomaly_factors"] = anomaly_factors;
  }
  if (terminal_streak) j["terminal_streak"] = true;
  j["names"] = names;
  return j;
}

namespace {

absl::Status CheckWindows(const std::vector<int>& windows, std::string_view what) {
  if (windows.size() > kMaxWindows) {
    return absl::InvalidArgumentError(
        fmt::format("feature spec: at most {} {}", kMaxWindows, what));
  }
  for (size_t i = 0; i < windows.size(); ++i) {
    if (windows[i] <= 0 || (i > 0 && windows[i] <= windows[i - 1])) {
      return absl::InvalidArgumentError(
          fmt::format("feature spec: {} must be positive and ascending", what));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FeatureSpec> FeatureSpec::FromJson(const nlohmann::ordered_json& json) {
  FeatureSpec spec;
  try {
    spec.name = json.at("name").get<std::string>();
    spec.version = json.at("version").get<int>();
    spec.customer_windows_days = json.at("customer_windows_days").get<std::vector<int>>();
    spec.terminal_windows_days = json.at("terminal_windows_days").get<std::vector<int>>();
    spec.terminal_delay_days = json.at("terminal_delay_days").get<int>();
    spec.customer_profile = json.value("customer_profile", false);
    spec.terminal_profile = json.value("terminal_profile", false);
    spec.customer_baseline_days = json.value("customer_baseline_days", 0);
    spec.anomaly_factors = json.value("anomaly_factors", std::vector<int>{});
    spec.terminal_streak = json.value("terminal_streak", false);
    spec.names = json.at("names").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(fmt::format("feature spec: {}", e.what()));
  }
  if (absl::Status s = CheckWindows(spec.customer_windows_days, "customer_windows_days"); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckWindows(spec.terminal_windows_days, "terminal_windows_days"); !s.ok()) {
    return s;
  }
  if (spec.terminal_delay_days < 0) {
    return absl::InvalidArgumentError("feature spec: terminal_delay_days must be >= 0");
  }
  if (spec.customer_baseline_days != 0) {
    const int longest = spec.customer_windows_days.empty() ? 0 : spec.customer_windows_days.back();
    if (spec.customer_baseline_days < 0 || spec.customer_baseline_days >= longest) {
      return absl::InvalidArgumentError(fmt::format(
          "feature spec: customer_baseline_days must be in [1, {}) (the longest customer "
          "window), not {}",
          longest, spec.customer_baseline_days));
    }
    if (spec.anomaly_factors.size() > kMaxAnomalyFactors) {
      return absl::InvalidArgumentError(
          fmt::format("feature spec: at most {} anomaly_factors", kMaxAnomalyFactors));
    }
    if (absl::Status s = CheckWindows(spec.anomaly_factors, "anomaly_factors"); !s.ok()) return s;
  }
  if (spec.names != spec.DerivedNames()) {
    return absl::InvalidArgumentError(fmt::format(
        "feature spec '{}': its names do not match its windows (this fraudstream computes {})",
        spec.name, fmt::join(spec.DerivedNames(), ",")));
  }
  return spec;
}

FeatureSpec MakeFeatureSpec(std::string name, int version, std::vector<int> customer_windows_days,
                            std::vector<int> terminal_windows_days, int terminal_delay_days,
                            bool customer_profile, bool terminal_profile) {
  FeatureSpec spec;
  spec.name = std::move(name);
  spec.version = version;
  spec.customer_windows_days = std::move(customer_windows_days);
  spec.terminal_windows_days = std::move(terminal_windows_days);
  spec.terminal_delay_days = terminal_delay_days;
  spec.customer_profile = customer_profile;
  spec.terminal_profile = terminal_profile;
  spec.names = spec.DerivedNames();
  return spec;
}

namespace {

const std::vector<FeatureSpec>& BuiltinSpecs() {
  static const std::vector<FeatureSpec>* specs = [] {
    FeatureSpec v3 =
        MakeFeatureSpec(std::string(kFraudstreamV3), 3, {1, 7, 30}, {1, 7, 30}, 7, true, true);
    v3.customer_baseline_days = 7;
    v3.anomaly_factors = {2, 3};
    v3.names = v3.DerivedNames();
    FeatureSpec v4 = v3;  // v3 and the terminal fraud streak
    v4.name = std::string(kFraudstreamV4);
    v4.version = 4;
    v4.terminal_streak = true;
    v4.names = v4.DerivedNames();
    return new std::vector<FeatureSpec>{
        MakeFeatureSpec(std::string(kHandbookV1), 1, {1, 7, 30}, {1, 7, 30}, 7, false),
        MakeFeatureSpec(std::string(kFraudstreamV2), 2, {1, 7, 30}, {1, 7, 30}, 7, true, true),
        std::move(v3), std::move(v4)};
  }();
  return *specs;
}

}  // namespace

const FeatureSpec* FindFeatureSpec(std::string_view name) {
  for (const FeatureSpec& spec : BuiltinSpecs()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

const FeatureSpec& DefaultFeatureSpec() { return *FindFeatureSpec(kDefaultFeatureSet); }

std::vector<std::string> FeatureSetNames() {
  std::vector<std::string> out;
  for (const FeatureSpec& spec : BuiltinSpecs()) out.push_back(spec.name);
  return out;
}

}  // namespace fraud
