#pragma once

// Prometheus metrics for the long-running surfaces (`stream`, `monitor`, `serve`): counters,
// gauges and histograms kept in a MetricsRegistry and rendered in the text exposition format
// 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/), served over HTTP by
// metrics/metrics_server.h.
//
//   MetricsRegistry registry;
//   Counter& scored = registry.GetCounter("fraudstream_stream_messages_total",
//                                         "Messages read from the input topic, by result.",
//                                         {{"result", "scored"}});
//   Histogram& latency = registry.GetHistogram("fraudstream_stream_latency_seconds",
//                                              "Processing latency.", LatencyBuckets());
//   scored.Inc(batch_size);          // on the hot path: one atomic add
//   latency.Observe(0.004);
//   std::string text = registry.Render();
//
// Thread safety: every method of every class here may be called from any thread at any time.
// Counter, Gauge and Histogram updates are lock-free atomics; Get*() and Render() take the
// registry's mutex. References returned by Get*() stay valid for the registry's life.
//
// Errors: names and labels come from our code, never from user input, so a malformed metric or
// label name, a name registered again with another type, help or bucket set, or unsorted
// buckets are programming errors (FRAUD_CHECK). Label values are free text (escaped).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fraud {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// A value that only goes up (Inc with a negative amount is a programming error).
class Counter {
 public:
  void Inc(double by = 1);
  double value() const;

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double v);
  void Add(double by);
  double value() const;

 private:
  std::atomic<double> value_{0};
};

// Observations counted into buckets by upper bound (v <= bound); rendered as cumulative
// `_bucket{le="..."}` series ending with le="+Inf", then `_sum` and `_count`.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double v);

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // Non-cumulative counts, one per bound plus the +Inf bucket last.
  std::vector<uint64_t> bucket_counts() const;
  double sum() const;

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // upper_bounds_.size() + 1
  std::atomic<double> sum_{0};
};

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // The same name and labels return the same object; help (and buckets) must match the first
  // registration. Labels are rendered in the order given.
  Counter& GetCounter(std::string_view name, std::string_view help,
                      const MetricLabels& labels = {});
  Gauge& GetGauge(std::string_view name, std::string_view help, const MetricLabels& labels = {});
  Histogram& GetHistogram(std::string_view name, std::string_view help,
                          std::vector<double> upper_bounds, const MetricLabels& labels = {});

  // Called at the start of every Render() (e.g. to set lag gauges from a snapshot), in the
  // order added, on the rendering thread, outside the registry's lock (so it may call Get*()).
  void OnScrape(std::function<void()> refresh);

  // Prometheus text exposition format 0.0.4: the families in the order first registered, one
  // # HELP / # TYPE each, label values escaped; then process_cpu_seconds_total,
  // process_resident_memory_bytes, process_virtual_memory_bytes, process_start_time_seconds,
  // process_open_fds and process_max_fds read from /proc/self, as the Go and Python clients do.
  std::string Render() const;

 private:
  struct Family;
  Family& GetFamily(std::string_view name, std::string_view help, int type);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;  // in registration order
  std::vector<std::function<void()>> refreshers_;
};

// Latency buckets in seconds used by all surfaces: 0.0001 (100 µs) to 10 s, 1-2.5-5 per decade.
std::vector<double> LatencyBuckets();

// The process_* families of Render() on their own (Linux /proc/self; empty elsewhere).
std::string RenderProcessMetrics();

}  // namespace fraud
