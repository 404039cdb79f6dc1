#pragma once

// What `fraudstream demo` measured, its closing summary and its report directory:
// DIR/summary.json and DIR/report/index.html (the figures, TPS / lag / latency over the whole
// run from the dashboard's samples, links to the model's, the capacity test's and the data
// quality reports).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace fraud::cli {

struct RampStep {
  double rate = 0;
  int64_t from_ms = 0;  // wall clock
  int64_t to_ms = 0;
};

struct DemoResults {
  std::string dashboard_url;
  int serve_port = 0;
  std::vector<RampStep> steps_ms;
  // The full-speed replay: rows, wall-clock window, end-to-end rate, highest lag seen.
  int64_t max_start_ms = 0, max_end_ms = 0, max_rows = 0, max_lag = 0;
  double max_tps = 0;
  int rest_requests = 0, rest_flagged = 0;
  double rest_p50_ms = 0, rest_p99_ms = 0;
  nlohmann::json dashboard;             // DashboardState::Snapshot at the end
  nlohmann::json quality;               // clean --report
  nlohmann::json metrics;               // the model's metrics.json
  nlohmann::json capacity;              // capacity's summary.json
  std::vector<nlohmann::json> workers;  // stream --json summaries
  double seconds = 0;
};

// One ramp step as the dashboard saw it: median input TPS and predictions per second over its
// samples, the
// worst second's p99 latency (null without predictions).
nlohmann::json StepFigures(const nlohmann::json& points, const RampStep& step);

// Writes DIR/summary.json and DIR/report/index.html.
absl::Status WriteDemoReport(const std::string& dir, const DemoResults& results);

// The closing summary, several lines.
std::string DemoSummary(const std::string& dir, const DemoResults& results);

}  // namespace fraud::cli
