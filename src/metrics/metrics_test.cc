#include "metrics/metrics.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <string>
#include <thread>
#include <vector>

#include "metrics/metrics_server.h"

namespace fraud {
namespace {

// The registry's families: everything Render() writes before the process_* families.
std::string RenderFamilies(const MetricsRegistry& registry) {
  const std::string text = registry.Render();
  const size_t process = text.find("# HELP process_cpu_seconds_total");
  EXPECT_NE(process, std::string::npos);
  return text.substr(0, process);
}

TEST(Metrics, CountersAndGaugesWithLabelsAndEscaping) {
  MetricsRegistry registry;
  registry.GetCounter("requests_total", "Requests.\nBy code \\ path.", {{"code", "200"}}).Inc();
  registry.GetCounter("requests_total", "Requests.\nBy code \\ path.", {{"code", "500"}}).Inc(2.5);
  registry.GetCounter("requests_total", "Requests.\nBy code \\ path.", {{"code", "200"}}).Inc(2);
  Gauge& gauge =
      registry.GetGauge("temperature", "A gauge.", {{"room", "a\"b\\c\nd"}, {"floor", "1"}});
  gauge.Set(-3);
  gauge.Add(0.25);
  registry.GetGauge("plain", "No labels.").Set(1e20);
  EXPECT_EQ(RenderFamilies(registry),
            "# HELP requests_total Requests.\\nBy code \\\\ path.\n"
            "# TYPE requests_total counter\n"
            "requests_total{code=\"200\"} 3\n"
            "requests_total{code=\"500\"} 2.5\n"
            "# HELP temperature A gauge.\n"
            "# TYPE temperature gauge\n"
            "temperature{room=\"a\\\"b\\\\c\\nd\",floor=\"1\"} -2.75\n"
            "# HELP plain No labels.\n"
            "# TYPE plain gauge\n"
            "plain 1e+20\n");
}

TEST(Metrics, SameNameAndLabelsReturnTheSameObject) {
  MetricsRegistry registry;
  Counter& a = registry.GetCounter("c_total", "C.", {{"x", "1"}});
  EXPECT_EQ(&a, &registry.GetCounter("c_total", "C.", {{"x", "1"}}));
  EXPECT_NE(&a, &registry.GetCounter("c_total", "C.", {{"x", "2"}}));
  Histogram& h = registry.GetHistogram("h_seconds", "H.", {1, 2});
  EXPECT_EQ(&h, &registry.GetHistogram("h_seconds", "H.", {1, 2}));
}

TEST(MetricsDeathTest, SameNameWithAnotherTypeIsAProgrammingError) {
  MetricsRegistry registry;
  registry.GetCounter("x_total", "X.");
  EXPECT_DEATH(registry.GetGauge("x_total", "X."), "FRAUD_CHECK failed");
  EXPECT_DEATH(registry.GetCounter("bad-name", "X."), "FRAUD_CHECK failed");
  EXPECT_DEATH(registry.GetHistogram("h", "H.", {2, 1}), "FRAUD_CHECK failed");
  EXPECT_DEATH(registry.GetHistogram("h2", "H.", {1}, {{"le", "1"}}), "FRAUD_CHECK failed");
}

TEST(Metrics, HistogramBucketsAreCumulativeWithSumAndCount) {
  MetricsRegistry registry;
  Histogram& h =
      registry.GetHistogram("latency_seconds", "Latency.", {0.25, 1, 4}, {{"path", "/x"}});
  for (const double v : {0.125, 0.25, 0.5, 2.0, 8.0, 16.0}) h.Observe(v);
  registry.GetHistogram("latency_seconds", "Latency.", {0.25, 1, 4}, {{"path", "/y"}});
  EXPECT_EQ(RenderFamilies(registry),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{path=\"/x\",le=\"0.25\"} 2\n"
            "latency_seconds_bucket{path=\"/x\",le=\"1\"} 3\n"
            "latency_seconds_bucket{path=\"/x\",le=\"4\"} 4\n"
            "latency_seconds_bucket{path=\"/x\",le=\"+Inf\"} 6\n"
            "latency_seconds_sum{path=\"/x\"} 26.875\n"
            "latency_seconds_count{path=\"/x\"} 6\n"
            "latency_seconds_bucket{path=\"/y\",le=\"0.25\"} 0\n"
            "latency_seconds_bucket{path=\"/y\",le=\"1\"} 0\n"
            "latency_seconds_bucket{path=\"/y\",le=\"4\"} 0\n"
            "latency_seconds_bucket{path=\"/y\",le=\"+Inf\"} 0\n"
            "latency_seconds_sum{path=\"/y\"} 0\n"
            "latency_seconds_count{path=\"/y\"} 0\n");
}

TEST(Metrics, LatencyBucketsAreSortedFrom100MicrosecondsTo10Seconds) {
  const std::vector<double> buckets = LatencyBuckets();
  ASSERT_FALSE(buckets.empty());
  EXPECT_EQ(buckets.front(), 0.0001);
  EXPECT_EQ(buckets.back(), 10);
  EXPECT_TRUE(std::is_sorted(buckets.begin(), buckets.end()));
}

TEST(Metrics, ConcurrentUpdatesGiveTheExactTotal) {
  MetricsRegistry registry;
  constexpr int kThreads = 8, kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&registry, t] {
      // Every thread looks the series up itself: registration races with updates and scrapes.
      Counter& counter = registry.GetCounter("events_total", "Events.", {{"kind", "a"}});
      Gauge& gauge = registry.GetGauge("level", "Level.");
      Histogram& h = registry.GetHistogram("size", "Size.", {1, 10});
      for (int i = 0; i < kPerThread; ++i) {
        counter.Inc();
        gauge.Add(t % 2 == 0 ? 1 : -1);
        h.Observe(i % 3 == 0 ? 0.5 : 5);
        if (i % 5000 == 0) registry.Render();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(registry.GetCounter("events_total", "Events.", {{"kind", "a"}}).value(),
            kThreads * kPerThread);
  EXPECT_EQ(registry.GetGauge("level", "Level.").value(), 0);
  Histogram& h = registry.GetHistogram("size", "Size.", {1, 10});
  const std::vector<uint64_t> counts = h.bucket_counts();
  const uint64_t small = kThreads * ((kPerThread + 2) / 3);
  EXPECT_EQ(counts, (std::vector<uint64_t>{small, kThreads * kPerThread - small, 0}));
  EXPECT_EQ(h.sum(), 0.5 * small + 5.0 * (kThreads * kPerThread - small));
}

TEST(Metrics, OnScrapeRunsBeforeEveryRender) {
  MetricsRegistry registry;
  int scrapes = 0;
  registry.OnScrape([&] { registry.GetGauge("scrapes", "Scrapes.").Set(++scrapes); });
  registry.Render();
  EXPECT_NE(registry.Render().find("\nscrapes 2\n"), std::string::npos);
}

TEST(Metrics, ProcessMetricsFromProcSelf) {
  const std::string text = RenderProcessMetrics();
  for (const char* family :
       {"process_cpu_seconds_total", "process_resident_memory_bytes",
        "process_virtual_memory_bytes", "process_start_time_seconds", "process_open_fds"}) {
    EXPECT_NE(text.find(std::string("\n") + family + " "), std::string::npos) << family;
  }
  // Started within the last day, more than 2020-01-01.
  const size_t at = text.find("\nprocess_start_time_seconds ");
  const double start = std::stod(text.substr(at + 28));
  EXPECT_GT(start, 1577836800);
  EXPECT_LT(start, static_cast<double>(time(nullptr)) + 1);
}

TEST(MetricsServer, AnswersGetMetricsOnAnEphemeralPort) {
  MetricsRegistry registry;
  registry.GetCounter("hits_total", "Hits.").Inc(7);
  auto server = MetricsServer::Start("127.0.0.1", 0, registry);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);

  httplib::Client client("127.0.0.1", (*server)->port());
  auto response = client.Get("/metrics");
  ASSERT_TRUE(response) << httplib::to_string(response.error());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(
      response->body.rfind("# HELP hits_total Hits.\n# TYPE hits_total counter\nhits_total 7\n", 0),
      0u);
  registry.GetCounter("hits_total", "Hits.").Inc();
  response = client.Get("/metrics");
  ASSERT_TRUE(response);
  EXPECT_NE(response->body.find("\nhits_total 8\n"), std::string::npos);
  EXPECT_EQ(client.Get("/other")->status, 404);

  // The port is taken while the server runs, and free again once it is destroyed.
  const int port = (*server)->port();
  EXPECT_EQ(MetricsServer::Start("127.0.0.1", port, registry).status().code(),
            absl::StatusCode::kUnavailable);
  server->reset();
  auto again = MetricsServer::Start("127.0.0.1", port, registry);
  EXPECT_TRUE(again.ok()) << again.status();
}

TEST(MetricsServer, ServesExtraRoutesWithTheirContentType) {
  MetricsRegistry registry;
  int calls = 0;
  auto server = MetricsServer::Start(
      "127.0.0.1", 0, registry,
      {{"/", "text/html; charset=utf-8", [] { return std::string("<p>page</p>"); }},
       {"/api/state", "application/json",
        [&calls] { return fmt::format("{{\"n\": {}}}", ++calls); }}});
  ASSERT_TRUE(server.ok()) << server.status();
  httplib::Client client("127.0.0.1", (*server)->port());
  auto page = client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(page->body, "<p>page</p>");
  EXPECT_EQ(client.Get("/api/state")->body, "{\"n\": 1}");
  EXPECT_EQ(client.Get("/api/state")->body, "{\"n\": 2}");  // the body is made per request
  EXPECT_EQ(client.Get("/metrics")->status, 200);
  EXPECT_EQ(client.Get("/api/other")->status, 404);
}

}  // namespace
}  // namespace fraud
