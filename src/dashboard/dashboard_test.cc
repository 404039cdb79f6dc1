#include "dashboard/dashboard.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fraud {
namespace {

// A prediction as stream/worker.cc writes it.
constexpr char kPrediction[] =
    R"({"transaction_id": 1754155, "customer_id": 4961, "terminal_id": 3412, "score": 0.912, )"
    R"("is_fraud": true, "threshold": 0.31, "model": "fraud", "model_version": "3", )"
    R"("event_time": "2018-09-30 23:59:58", "processing_latency_ms": 4.5, "partition": 2, )"
    R"("offset": 99})";

PredictionEvent Event(int64_t id, bool fraud, double latency_ms, std::string version = "1") {
  PredictionEvent e;
  e.transaction_id = id;
  e.customer_id = id % 7;
  e.score = fraud ? 0.9 : 0.1;
  e.is_fraud = fraud;
  e.latency_ms = latency_ms;
  e.model = "fraud";
  e.model_version = std::move(version);
  return e;
}

LagReport Report(int64_t time_ms, std::vector<int64_t> lags, double input_rate = 0) {
  LagReport r;
  r.time_ms = time_ms;
  r.input_rate = input_rate;
  r.processing_rate = input_rate / 2;
  for (size_t p = 0; p < lags.size(); ++p) {
    r.partitions.push_back({.partition = static_cast<int32_t>(p),
                            .committed = 100,
                            .log_end = 100 + lags[p],
                            .lag = lags[p],
                            .status = lags[p] > 0 ? PartitionStatus::kWarn : PartitionStatus::kOk});
    r.lag += lags[p];
  }
  return r;
}

TEST(ParsePrediction, ReadsTheWorkersFormat) {
  const absl::StatusOr<PredictionEvent> e = ParsePrediction(kPrediction);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->transaction_id, 1754155);
  EXPECT_EQ(e->customer_id, 4961);
  EXPECT_EQ(e->terminal_id, 3412);
  EXPECT_DOUBLE_EQ(e->score, 0.912);
  EXPECT_TRUE(e->is_fraud);
  EXPECT_DOUBLE_EQ(e->threshold, 0.31);
  EXPECT_DOUBLE_EQ(e->latency_ms, 4.5);
  EXPECT_EQ(e->model, "fraud");
  EXPECT_EQ(e->model_version, "3");
  EXPECT_EQ(e->event_time, "2018-09-30 23:59:58");
}

TEST(ParsePrediction, NamesWhatIsWrong) {
  EXPECT_EQ(ParsePrediction("not json").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParsePrediction("[1, 2]").status().message(), "prediction: not an object");
  const std::string mistyped =
      std::string(kPrediction).replace(std::string(kPrediction).find("0.912"), 5, "\"x\"");
  EXPECT_NE(ParsePrediction(mistyped).status().message().find("field score"), std::string::npos);
  EXPECT_NE(ParsePrediction(R"({"transaction_id": 1, "score": 0.5})")
                .status()
                .message()
                .find("needs transaction_id"),
            std::string::npos);
}

TEST(DashboardState, APointPerLagReportWithThePredictionsSinceThePrevious) {
  DashboardState state;
  state.AddPredictions({Event(1, false, 1), Event(2, true, 2), Event(3, false, 30)});
  state.AddLag(Report(10'000, {5, 0}));
  nlohmann::json s = state.Snapshot(10'500);
  ASSERT_EQ(s["points"].size(), 1u);
  const nlohmann::json& first = s["points"][0];
  EXPECT_TRUE(first["input_tps"].is_null());  // one sample: no rate yet
  EXPECT_EQ(first["predictions"], 3);
  EXPECT_EQ(first["flagged"], 1);
  EXPECT_DOUBLE_EQ(first["fraud_rate"].get<double>(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(first["latency_ms"]["p50"].get<double>(), 2);
  EXPECT_DOUBLE_EQ(first["latency_ms"]["p99"].get<double>(), 30);
  EXPECT_EQ(s["current"]["lag"], 5);
  EXPECT_EQ(s["group_status"], "OK");
  ASSERT_EQ(s["partitions"].size(), 2u);
  EXPECT_EQ(s["partitions"][0]["status"], "WARN");
  EXPECT_EQ(s["partitions"][0]["log_end"], 105);
  EXPECT_EQ(s["partitions"][1]["status"], "OK");

  // Two seconds later: 4 more predictions, none flagged, 2/s.
  state.AddPredictions(
      {Event(4, false, 1), Event(5, false, 1), Event(6, false, 1), Event(7, false, 1, "2")});
  state.AddLag(Report(12'000, {0, 0}, 400));
  s = state.Snapshot(12'100);
  ASSERT_EQ(s["points"].size(), 2u);
  const nlohmann::json& now = s["current"];
  EXPECT_DOUBLE_EQ(now["input_tps"].get<double>(), 400);
  EXPECT_DOUBLE_EQ(now["processed_tps"].get<double>(), 200);
  EXPECT_DOUBLE_EQ(now["predictions_per_s"].get<double>(), 2);
  EXPECT_DOUBLE_EQ(now["fraud_rate"].get<double>(), 1.0 / 7);  // over the recent points
  EXPECT_EQ(now["fraud_rate_predictions"], 7);
  EXPECT_DOUBLE_EQ(now["latency_ms"]["p99"].get<double>(), 1);  // this point's only
  EXPECT_EQ(s["totals"]["predictions"], 7);
  EXPECT_EQ(s["totals"]["flagged"], 1);
  EXPECT_EQ(s["versions"]["fraud 1"], 6);
  EXPECT_EQ(s["versions"]["fraud 2"], 1);
  ASSERT_EQ(s["flagged"].size(), 1u);
  EXPECT_EQ(s["flagged"][0]["transaction_id"], 2);
}

TEST(DashboardState, NoPredictionsMeansNullRatesAndPercentilesNotZeros) {
  DashboardState state;
  state.AddLag(Report(1000, {0}));
  state.AddLag(Report(2000, {0}, 50));
  const nlohmann::json s = state.Snapshot(2000);
  EXPECT_TRUE(s["current"]["fraud_rate"].is_null());
  EXPECT_TRUE(s["current"]["latency_ms"]["p99"].is_null());
  EXPECT_DOUBLE_EQ(s["current"]["predictions_per_s"].get<double>(), 0);
}

TEST(DashboardState, KeepsBoundedHistoryNewestFlaggedFirstAndStatusChanges) {
  DashboardState state({.history_points = 2, .recent_flagged = 2, .recent_changes = 1});
  state.AddPredictions({Event(1, true, 1), Event(2, true, 1), Event(3, true, 1)});
  LagReport report = Report(1000, {0});
  report.changes.push_back({.partition = 0, .from = "OK", .to = "WARN", .lag = 9});
  state.AddLag(report);
  report.changes = {{.partition = -1, .from = "OK", .to = "WARN", .lag = 9}};
  state.AddLag(report);
  state.AddLag(Report(3000, {0}));
  const nlohmann::json s = state.Snapshot(3000);
  EXPECT_EQ(s["points"].size(), 2u);
  EXPECT_EQ(s["points"][1]["time_ms"], 3000);
  ASSERT_EQ(s["flagged"].size(), 2u);
  EXPECT_EQ(s["flagged"][0]["transaction_id"], 3);
  EXPECT_EQ(s["flagged"][1]["transaction_id"], 2);
  ASSERT_EQ(s["changes"].size(), 1u);
  EXPECT_EQ(s["changes"][0]["partition"], -1);
}

TEST(DashboardState, ErrorsAreShownUntilCleared) {
  DashboardState state;
  state.SetError("lag", "metadata of transactions-input: timed out");
  state.AddUnreadable(2, "prediction: not JSON");
  nlohmann::json s = state.Snapshot(0);
  EXPECT_EQ(s["errors"]["lag"], "metadata of transactions-input: timed out");
  EXPECT_EQ(s["totals"]["unreadable"], 2);
  EXPECT_EQ(s["totals"]["unreadable_reason"], "prediction: not JSON");
  state.SetError("lag", "");
  EXPECT_TRUE(state.Snapshot(0)["errors"].empty());
}

}  // namespace
}  // namespace fraud
