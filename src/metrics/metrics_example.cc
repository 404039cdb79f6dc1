// Prints a MetricsRegistry's Render() with every kind of family, labels that need escaping and
// the process metrics, for `promtool check metrics` (metrics_promtool_test). With --broken, a
// text that is not the exposition format (metrics_promtool_rejects_test: the check can fail).

#include <cstdio>
#include <cstring>

#include "metrics/metrics.h"

int main(int argc, char** argv) {
  fraud::MetricsRegistry registry;
  registry.GetCounter("example_messages_total", "Messages by result.", {{"result", "scored"}})
      .Inc(41);
  registry.GetCounter("example_messages_total", "Messages by result.", {{"result", "invalid"}})
      .Inc();
  registry
      .GetGauge("example_info", "Escaped \\ help\nwith a line feed.",
                {{"name", "quote \" backslash \\ newline \n end"}, {"version", "3"}})
      .Set(1);
  registry.GetGauge("example_lag_messages", "Lag.", {{"topic", "t"}, {"partition", "0"}}).Set(-0.5);
  fraud::Histogram& latency = registry.GetHistogram("example_latency_seconds", "Latency.",
                                                    fraud::LatencyBuckets(), {{"stage", "score"}});
  for (const double v : {0.00005, 0.0003, 0.02, 3.0, 60.0}) latency.Observe(v);
  std::string text = registry.Render();
  if (argc > 1 && std::strcmp(argv[1], "--broken") == 0) {
    text += "example_messages_total{result=\"scored\" 1\n";  // an unclosed label set
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}
