// WriteCapacityReport: report.html (inline SVG), summary.json and samples.csv.

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "core/file.h"
#include "core/html_report.h"
#include "core/status.h"
#include "fmt/format.h"
#include "monitor/capacity.h"
#include "nlohmann/json.hpp"

namespace fraud {
namespace {

constexpr std::string_view kTargetColor = "#9aa3ad";
constexpr std::string_view kInputColor = "#2f6db5";
constexpr std::string_view kProcessedColor = "#1b7f3b";
constexpr std::array<std::string_view, 6> kPartitionColors = {"#2f6db5", "#d1495b", "#edae49",
                                                              "#1b7f3b", "#7a4fa3", "#00798c"};

std::string TpsFigure(const CapacityResult& r, double seconds) {
  std::vector<Point> target, input, processed;
  double top = 1;
  for (size_t i = 0; i < r.samples.size(); ++i) {
    const CapacitySample& s = r.samples[i];
    target.push_back({s.seconds, s.target});
    top = std::max(top, s.target);
    // The input rate over about a second; the processing rate between commits.
    size_t j = i;
    while (j > 0 && s.seconds - r.samples[j - 1].seconds <= 1.0) --j;
    if (j < i && s.seconds > r.samples[j].seconds) {
      const double rate = (s.log_end - r.samples[j].log_end) / (s.seconds - r.samples[j].seconds);
      input.push_back({s.seconds, rate});
      top = std::max(top, rate);
    }
  }
  const CapacitySample* previous = nullptr;
  for (const CapacitySample& s : r.samples) {
    if (!s.commit) continue;
    if (previous != nullptr && s.seconds > previous->seconds) {
      const double rate = (s.committed - previous->committed) / (s.seconds - previous->seconds);
      processed.push_back({s.seconds, rate});
      top = std::max(top, rate);
    }
    previous = &s;
  }
  const std::vector<double> y_ticks = Ticks(top * 1.05);
  Plot plot(1040, 320, 0, seconds, 0, y_ticks.back());
  plot.set_tick_digits(0);
  std::string svg = plot.Begin("", "seconds", "messages per second", Ticks(seconds), y_ticks,
                               "target, input and processing rates over time");
  svg += Polyline(plot, target, kTargetColor, /*dashed=*/true);
  svg += Polyline(plot, input, kInputColor, false);
  svg += Polyline(plot, processed, kProcessedColor, false);
  svg += "</svg>\n";
  svg += Legend({{LegendKey::kDashed, kTargetColor, "target (replay)"},
                 {LegendKey::kLine, kInputColor, "input (log-end growth)"},
                 {LegendKey::kLine, kProcessedColor, "processed (committed growth)"}});
  return svg;
}

std::string LagFigure(const CapacityResult& r, double seconds) {
  std::vector<std::vector<Point>> lines(static_cast<size_t>(std::max(r.partitions, 0)));
  double top = 1;
  for (const CapacitySample& s : r.samples) {
    for (size_t p = 0; p < s.partition_lag.size() && p < lines.size(); ++p) {
      lines[p].push_back({s.seconds, static_cast<double>(s.partition_lag[p])});
      top = std::max(top, static_cast<double>(s.partition_lag[p]));
    }
  }
  const std::vector<double> y_ticks = Ticks(top * 1.05);
  Plot plot(1040, 300, 0, seconds, 0, y_ticks.back());
  plot.set_tick_digits(0);
  std::string svg = plot.Begin("", "seconds", "lag (messages)", Ticks(seconds), y_ticks,
                               "lag per partition over time");
  std::vector<LegendEntry> legend;
  for (size_t p = 0; p < lines.size(); ++p) {
    const std::string_view color = kPartitionColors[p % kPartitionColors.size()];
    svg += Polyline(plot, lines[p], color, false);
    legend.push_back({LegendKey::kLine, color, fmt::format("partition {}", p)});
  }
  svg += "</svg>\n";
  return svg + Legend(legend);
}

std::string Html(const CapacityResult& r) {
  const double seconds = r.samples.empty() ? 1 : std::max(1.0, r.samples.back().seconds);
  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>fraudstream capacity: {} on {}</title><style>{}</style></head><body><main>\n"
      "<header><h1>Capacity test</h1><p class=\"subtitle\">group {} on topic {} ({} "
      "partitions), {} steps over {:.0f} s</p></header>\n",
      HtmlEscape(r.group), HtmlEscape(r.topic), kReportCss, HtmlEscape(r.group),
      HtmlEscape(r.topic), r.partitions, r.steps.size(), seconds);
  html += fmt::format(
      "<section><div class=\"cards\">"
      "<div class=\"card primary\"><div class=\"label\">critical TPS</div><div "
      "class=\"value\">{}</div><div class=\"note\">the highest rate with bounded lag</div></div>"
      "<div class=\"card\"><div class=\"label\">first failing TPS</div><div "
      "class=\"value\">{}</div><div class=\"note\">the lowest rate at which lag grew</div></div>"
      "<div class=\"card\"><div class=\"label\">steps</div><div class=\"value\">{}</div></div>"
      "<div class=\"card\"><div class=\"label\">samples</div><div class=\"value\">{}</div></div>"
      "</div></section>\n",
      r.critical_tps > 0 ? fmt::format("{:.1f}", r.critical_tps) : "none",
      r.first_failing_tps > 0 ? fmt::format("{:.1f}", r.first_failing_tps) : "none up to max",
      r.steps.size(), r.samples.size());
  html += "<section><h2>Input and processing rates</h2>\n" + TpsFigure(r, seconds) +
          "</section>\n<section><h2>Lag per partition</h2>\n" + LagFigure(r, seconds) +
          "<p class=\"note\">Lag: log-end offset minus the group's committed offset, sampled "
          "between commits too (hence the sawtooth); steps are judged at the commits.</p>"
          "</section>\n";
  html +=
      "<section><h2>Steps</h2><table><tr><th class=\"num\">target</th><th class=\"num\">sent/s"
      "</th><th class=\"num\">processed/s</th><th class=\"num\">lag at start</th><th "
      "class=\"num\">lag at end</th><th class=\"num\">max lag</th><th>verdict</th></tr>\n";
  for (const CapacityStep& s : r.steps) {
    html += fmt::format(
        "<tr><td class=\"num\">{:.1f}</td><td class=\"num\">{:.1f}</td><td "
        "class=\"num\">{:.1f}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td "
        "class=\"num\">{}</td><td class=\"{}\">{}</td></tr>\n",
        s.target, s.achieved, s.processed, s.lag_start, s.lag_end, s.max_lag,
        s.bounded ? "better" : "worse", s.bounded ? "bounded" : "growing");
  }
  html +=
      "</table></section>\n<section><h2>Acceptance</h2><table><tr><th class=\"num\">rate"
      "</th><th>rule</th><th class=\"num\">max lag</th><th>result</th></tr>\n";
  for (const CapacityCheck& c : r.checks) {
    html += fmt::format(
        "<tr><td class=\"num\">{:.0f}</td><td>{}</td><td class=\"num\">{}</td><td "
        "class=\"{}\">{}</td></tr>\n",
        c.rate, c.rule, c.ran ? fmt::format("{}", c.max_lag) : "", c.passed ? "better" : "worse",
        !c.ran     ? "not run"
        : c.passed ? "passed"
                   : "failed");
  }
  html +=
      "</table></section>\n<section><h2>Status changes</h2><table><tr><th class=\"num\">"
      "second</th><th>group status</th></tr>\n";
  std::string previous = "OK";
  for (const CapacitySample& s : r.samples) {
    if (s.status == previous) continue;
    html += fmt::format("<tr><td class=\"num\">{:.1f}</td><td>{} &rarr; {}</td></tr>\n", s.seconds,
                        HtmlEscape(previous), HtmlEscape(s.status));
    previous = s.status;
  }
  html += "</table></section>\n<footer>fraudstream capacity</footer>\n</main></body></html>\n";
  return html;
}

nlohmann::ordered_json Summary(const CapacityResult& r) {
  nlohmann::ordered_json steps = nlohmann::ordered_json::array();
  for (const CapacityStep& s : r.steps) {
    steps.push_back({{"target_tps", s.target},
                     {"input_tps", s.achieved},
                     {"processed_tps", s.processed},
                     {"lag_start", s.lag_start},
                     {"lag_end", s.lag_end},
                     {"max_lag", s.max_lag},
                     {"bounded", s.bounded},
                     {"start_seconds", s.start_seconds},
                     {"end_seconds", s.end_seconds}});
  }
  nlohmann::ordered_json checks = nlohmann::ordered_json::array();
  for (const CapacityCheck& c : r.checks) {
    checks.push_back({{"rate", c.rate},
                      {"rule", c.rule},
                      {"ran", c.ran},
                      {"passed", c.passed},
                      {"max_lag", c.max_lag}});
  }
  return {
      {"critical_tps", r.critical_tps},
      {"first_failing_tps", r.first_failing_tps > 0 ? nlohmann::ordered_json(r.first_failing_tps)
                                                    : nlohmann::ordered_json(nullptr)},
      {"group", r.group},
      {"topic", r.topic},
      {"partitions", r.partitions},
      {"steps", steps},
      {"checks", checks}};
}

}  // namespace

absl::Status WriteCapacityReport(const CapacityResult& result, const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::UnavailableError(fmt::format("report {}: {}", dir, error.message()));
  std::string csv = "seconds,target_tps,log_end,committed,lag,commit,status\n";
  for (const CapacitySample& s : result.samples) {
    csv += fmt::format("{:.3f},{},{},{},{},{},{}\n", s.seconds, s.target, s.log_end, s.committed,
                       s.lag, s.commit ? 1 : 0, s.status);
  }
  RETURN_IF_ERROR(WriteFile(dir + "/samples.csv", csv));
  RETURN_IF_ERROR(WriteFile(dir + "/summary.json", Summary(result).dump(2) + "\n"));
  return WriteFile(dir + "/report.html", Html(result));
}

}  // namespace fraud
