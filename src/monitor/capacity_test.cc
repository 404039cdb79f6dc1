#include "monitor/capacity.h"

#include <vector>

#include "core/file.h"
#include "core/testing.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "registry/test_store.h"

namespace fraud {
namespace {

// A step of `seconds` sampled 4 times a second: input at `rate`, a worker that processes at
// most `capacity` per second and commits once a second, starting with `backlog` unprocessed.
std::vector<CapacitySample> Simulate(double rate, double capacity, double seconds,
                                     int64_t backlog = 0) {
  std::vector<CapacitySample> out;
  double produced = 1000 + backlog, processed = 1000, committed = 1000;
  for (int i = 0; i <= static_cast<int>(seconds * 4); ++i) {
    const double t = 10 + i * 0.25;
    if (i > 0) {
      produced += rate * 0.25;
      processed = std::min(produced, processed + capacity * 0.25);
    }
    const bool commit = i > 0 && i % 4 == 0 && processed > committed;
    if (commit) committed = processed;
    out.push_back({.seconds = t,
                   .target = rate,
                   .log_end = static_cast<int64_t>(produced),
                   .committed = static_cast<int64_t>(committed),
                   .lag = static_cast<int64_t>(produced - committed),
                   .commit = commit});
  }
  return out;
}

TEST(JudgeStep, AWorkerThatKeepsUpIsBounded) {
  const CapacityStep step = JudgeStep(200, Simulate(200, 1000, 30));
  EXPECT_TRUE(step.bounded);
  EXPECT_NEAR(step.achieved, 200, 1);
  EXPECT_NEAR(step.processed, 200, 1);
  EXPECT_LE(step.max_lag, 200);  // at most the second since the previous commit
}

TEST(JudgeStep, LagGrowingBy7PercentOfTheInputIsNotBounded) {
  const CapacityStep step = JudgeStep(214, Simulate(214, 200, 30));
  EXPECT_FALSE(step.bounded);
  EXPECT_NEAR(step.processed, 200, 2);
  EXPECT_GT(step.lag_end, step.lag_start);
}

TEST(JudgeStep, LagGrowingBy3PercentIsWithinTheAllowance) {
  EXPECT_TRUE(JudgeStep(206, Simulate(206, 200, 30)).bounded);
}

TEST(JudgeStep, ABacklogWorkedOffIsBounded) {
  const CapacityStep step = JudgeStep(100, Simulate(100, 300, 30, /*backlog=*/3000));
  EXPECT_TRUE(step.bounded);
  EXPECT_GT(step.lag_start, step.lag_end);
}

TEST(JudgeStep, NoCommitWhileLagIsNotBounded) {
  std::vector<CapacitySample> samples = Simulate(50, 0, 10);
  EXPECT_FALSE(JudgeStep(50, samples).bounded);
  EXPECT_GT(JudgeStep(50, samples).max_lag, 400);
}

// The rates tried for a worker that can do `capacity` per second.
std::vector<double> Tried(CapacityPlan plan, double capacity) {
  std::vector<double> rates;
  while (auto rate = plan.Next()) {
    rates.push_back(*rate);
    plan.Record(*rate, *rate <= capacity);
    if (rates.size() > 50) break;
  }
  return rates;
}

TEST(CapacityPlan, DoublesThenNarrowsToTenPercent) {
  CapacityPlan plan(50, 2, 3200, 0.10);
  const std::vector<double> rates = Tried(plan, 270);
  EXPECT_EQ(rates, (std::vector<double>{50, 100, 200, 400, 300, 250, 275}));
  while (auto rate = plan.Next()) plan.Record(*rate, *rate <= 270);
  EXPECT_DOUBLE_EQ(plan.critical(), 250);
  EXPECT_DOUBLE_EQ(plan.first_failing(), 275);
  EXPECT_LE(plan.first_failing(), plan.critical() * 1.10);
}

TEST(CapacityPlan, StopsAtMaxWhenNothingFails) {
  CapacityPlan plan(50, 2, 400, 0.10);
  EXPECT_EQ(Tried(plan, 1e9), (std::vector<double>{50, 100, 200, 400}));
  while (auto rate = plan.Next()) plan.Record(*rate, true);
  EXPECT_DOUBLE_EQ(plan.critical(), 400);
  EXPECT_EQ(plan.first_failing(), 0);
}

TEST(CapacityPlan, AFailingStartEndsTheTest) {
  CapacityPlan plan(50, 2, 400, 0.10);
  EXPECT_EQ(Tried(plan, 10), (std::vector<double>{50}));
}

TEST(AcceptanceChecks, TheCourseRules) {
  std::vector<CapacityStep> steps = {{.target = 50, .max_lag = 49, .bounded = true},
                                     {.target = 100, .max_lag = 100, .bounded = true},
                                     {.target = 400, .max_lag = 9000, .bounded = false}};
  const std::vector<CapacityCheck> checks = AcceptanceChecks(steps);
  ASSERT_EQ(checks.size(), 4u);
  EXPECT_TRUE(checks[0].ran && checks[0].passed);   // 49 < 50
  EXPECT_TRUE(checks[1].ran && !checks[1].passed);  // 100 is not < 100
  EXPECT_FALSE(checks[2].ran);                      // no step at 200
  EXPECT_TRUE(checks[3].ran && !checks[3].passed);
}

TEST(CapacityReport, WritesThePageTheSummaryAndTheSamples) {
  CapacityResult result{.group = "g<1>", .topic = "transactions-input", .partitions = 2};
  for (const double rate : {100.0, 300.0}) {
    std::vector<CapacitySample> samples = Simulate(rate, 150, 5);
    for (CapacitySample& s : samples) {
      s.seconds += result.samples.size() * 0.25;
      s.partition_lag = {s.lag / 2, s.lag - s.lag / 2};
      s.status = s.lag > 200 ? "WARN" : "OK";
    }
    result.steps.push_back(JudgeStep(rate, samples));
    result.samples.insert(result.samples.end(), samples.begin(), samples.end());
  }
  result.critical_tps = 100;
  result.first_failing_tps = 300;
  result.checks = AcceptanceChecks(result.steps);
  ScopedTempDir dir;
  ASSERT_TRUE(WriteCapacityReport(result, dir.Path("report")).ok());

  const auto summary = nlohmann::json::parse(*ReadFile(dir.Path("report/summary.json")));
  EXPECT_EQ(summary["critical_tps"], 100);
  EXPECT_EQ(summary["first_failing_tps"], 300);
  ASSERT_EQ(summary["steps"].size(), 2u);
  EXPECT_EQ(summary["steps"][0]["bounded"], true);
  EXPECT_EQ(summary["steps"][1]["bounded"], false);
  EXPECT_EQ(summary["checks"][1]["rate"], 100);
  EXPECT_EQ(summary["checks"][1]["ran"], true);

  const std::string html = *ReadFile(dir.Path("report/report.html"));
  EXPECT_NE(html.find("g&lt;1&gt;"), std::string::npos);  // escaped
  EXPECT_EQ(html.find("<script"), std::string::npos);
  size_t svgs = 0;
  for (size_t at = html.find("<svg "); at != std::string::npos; at = html.find("<svg ", at + 1)) {
    ++svgs;
  }
  EXPECT_EQ(svgs, 2u);
  EXPECT_NE(html.find("partition 1"), std::string::npos);
  EXPECT_NE(html.find("OK &rarr; WARN"), std::string::npos);
  EXPECT_EQ(html.find("nan"), std::string::npos);

  const std::string csv = *ReadFile(dir.Path("report/samples.csv"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'),
            static_cast<std::ptrdiff_t>(result.samples.size() + 1));
}

// One value a second, and a run in the tracking store with the series and the result.
TEST(CapacityTracking, TheSeriesAreMetricsOfARunStepBySecond) {
  CapacityResult result{.group = "g", .topic = "t", .partitions = 1};
  result.samples = Simulate(100, 1000, 3);  // t = 10 .. 13, four samples a second
  result.critical_tps = 100;
  const std::vector<Metric> series = PerSecondMetrics(result.samples);
  std::vector<int64_t> lag_steps;
  for (const Metric& m : series) {
    if (m.key == "lag") lag_steps.push_back(m.step);
    if (m.key == "input_tps") {
      EXPECT_NEAR(m.value, 100, 1e-9) << m.step;
    }
  }
  EXPECT_EQ(lag_steps, (std::vector<int64_t>{10, 11, 12, 13}));
  EXPECT_TRUE(PerSecondMetrics({}).empty());

  auto test_store = TestStore::Create("sqlite");
  ASSERT_TRUE(test_store.ok()) << test_store.status();
  auto store = (*test_store)->Open();
  ASSERT_TRUE(store.ok()) << store.status();
  Tracking tracking(**store);
  CapacityOptions options{.data_path = "tx.csv"};
  const auto run = TrackCapacityRun(tracking, "capacity", options, result, "");
  ASSERT_TRUE(run.ok()) << run.status();
  const auto stored = tracking.GetRun(run->run_id);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->metrics.at("critical_tps"), 100);
  EXPECT_EQ(stored->params.at("data"), "tx.csv");
  size_t input = 0;
  for (const Metric& m : stored->metric_history) input += m.key == "input_tps";
  EXPECT_EQ(input, 3u);  // seconds 11, 12, 13 (the first has no second before it)
}

}  // namespace
}  // namespace fraud
