#include "cli/demo_report.h"

#include <algorithm>
#include <filesystem>

#include "core/file.h"
#include "core/html_report.h"
#include "core/status.h"
#include "fmt/format.h"

namespace fraud::cli {
namespace {

constexpr std::string_view kInputColor = "#2f6db5";
constexpr std::string_view kProcessedColor = "#1b7f3b";
constexpr std::string_view kLagColor = "#b3261e";
constexpr std::string_view kP50Color = "#2f6db5";
constexpr std::string_view kP99Color = "#b3261e";

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// A number, or "-" for null / absent.
std::string Num(const nlohmann::json& value, int digits = 0) {
  if (!value.is_number()) return "-";
  return fmt::format("{:.{}f}", value.get<double>(), digits);
}

std::string Metric(const nlohmann::json& metrics, const char* key) {
  return metrics.is_object() && metrics.contains("test") ? Num(metrics["test"][key], 3) : "-";
}

nlohmann::json Summary(const DemoResults& r) {
  const nlohmann::json& points = r.dashboard.value("points", nlohmann::json::array());
  nlohmann::json steps = nlohmann::json::array();
  for (const RampStep& step : r.steps_ms) steps.push_back(StepFigures(points, step));
  int64_t predicted = 0, dead_lettered = 0, offset_resets = 0;
  for (const nlohmann::json& w : r.workers) {
    if (!w.is_object()) continue;
    predicted += w.value("predicted", int64_t{0});
    dead_lettered += w.value("dead_lettered", int64_t{0});
    offset_resets += w.value("offset_resets", int64_t{0});
  }
  const nlohmann::json& q = r.quality;
  return {
      {"seconds", r.seconds},
      {"data",
       {{"rows_in", q.value("rows_in", 0)},
        {"rows_out", q.value("rows_out", 0)},
        {"rows_rejected", q.value("rows_rejected", 0)},
        {"rows_repaired", q.value("rows_repaired", 0)},
        {"duplicates_removed", q.value("duplicates_removed", 0)}}},
      {"model",
       {{"name", "fraud"}, {"version", 1}, {"test", r.metrics.value("test", nlohmann::json())}}},
      {"ramp", steps},
      {"full_speed",
       {{"rows", r.max_rows},
        {"tps", r.max_tps},
        {"max_lag", r.max_lag},
        {"seconds", (r.max_end_ms - r.max_start_ms) / 1000.0}}},
      {"stream",
       {{"workers", r.workers.size()},
        {"predicted", predicted},
        {"dead_lettered", dead_lettered},
        {"offset_resets", offset_resets}}},
      {"rest",
       {{"requests", r.rest_requests},
        {"flagged", r.rest_flagged},
        {"p50_ms", r.rest_p50_ms},
        {"p99_ms", r.rest_p99_ms}}},
      {"capacity", r.capacity},
      {"lag_at_end", r.dashboard.contains("current") ? r.dashboard["current"]["lag"] : nullptr},
      {"dashboard", r.dashboard_url}};
}

struct Series {
  std::vector<Point> input, processed, lag, p50, p99;
  double seconds = 1, top_tps = 1, top_lag = 1, top_ms = 1;
};

Series FromPoints(const nlohmann::json& points) {
  Series s;
  if (points.empty()) return s;
  const double t0 = points.front()["time_ms"].get<double>();
  for (const nlohmann::json& p : points) {
    const double t = (p["time_ms"].get<double>() - t0) / 1000;
    s.seconds = std::max(s.seconds, t);
    if (p["input_tps"].is_number()) {
      s.input.push_back({t, p["input_tps"].get<double>()});
      s.processed.push_back({t, p["predictions_per_s"].get<double>()});
      s.top_tps = std::max({s.top_tps, s.input.back().y, s.processed.back().y});
    }
    s.lag.push_back({t, p["lag"].get<double>()});
    s.top_lag = std::max(s.top_lag, s.lag.back().y);
    if (p["latency_ms"]["p99"].is_number()) {
      s.p50.push_back({t, p["latency_ms"]["p50"].get<double>()});
      s.p99.push_back({t, p["latency_ms"]["p99"].get<double>()});
      s.top_ms = std::max(s.top_ms, s.p99.back().y);
    }
  }
  return s;
}

std::string Chart(const Series& s, const std::vector<std::vector<Point>>& lines,
                  const std::vector<LegendEntry>& legend, double top, std::string_view y_label,
                  bool log_y) {
  const std::vector<double> y_ticks =
      log_y ? std::vector<double>{0, 1, 2, 3, 4, 5} : Ticks(top * 1.05);
  Plot plot(1040, 260, 0, s.seconds, log_y ? 1 : 0, log_y ? 1e5 : y_ticks.back(), log_y);
  plot.set_tick_digits(0);
  std::string svg = plot.Begin("", "seconds since the services started", y_label, Ticks(s.seconds),
                               y_ticks, y_label);
  for (size_t i = 0; i < lines.size(); ++i) svg += Polyline(plot, lines[i], legend[i].color, false);
  return svg + "</svg>\n" + Legend(legend);
}

std::string Card(std::string_view label, const std::string& value, std::string_view note,
                 bool primary = false) {
  return fmt::format(
      "<div class=\"card{}\"><div class=\"label\">{}</div><div class=\"value\">{}</div>"
      "<div class=\"note\">{}</div></div>\n",
      primary ? " primary" : "", HtmlEscape(label), HtmlEscape(value), HtmlEscape(note));
}

std::string Html(const nlohmann::json& summary, const DemoResults& r) {
  const Series s = FromPoints(r.dashboard.value("points", nlohmann::json::array()));
  const nlohmann::json& cap = summary["capacity"];
  const nlohmann::json& ramp = summary["ramp"];
  const std::string p99_at_400 = ramp.empty() ? "-" : Num(ramp.back()["p99_ms"], 1) + " ms";
  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>fraudstream demo</title><style>{}</style></head><body><main>\n"
      "<header><h1>fraudstream demo</h1><p class=\"subtitle\">the whole loop on embedded "
      "defaults in {:.0f} s: generate, clean, train, promote, stream (2 workers), REST, "
      "monitor, capacity</p></header>\n<section><div class=\"cards\">\n",
      kReportCss, r.seconds);
  html += Card("ROC AUC (test week)", Metric(r.metrics, "roc_auc"),
               "average precision " + Metric(r.metrics, "average_precision"), true);
  html +=
      Card("card precision@100", Metric(r.metrics, "card_precision_at_100"), "handbook best 0.304");
  html += Card("full speed", fmt::format("{:.0f} TPS", r.max_tps),
               fmt::format("{} transactions end to end", r.max_rows), true);
  html += Card("critical TPS", cap.is_object() ? Num(cap["critical_tps"]) : std::string("-"),
               "capacity test: where lag starts to grow");
  html += Card("p99 at 400 TPS", p99_at_400, "message produced to prediction produced");
  html += Card("REST p99", fmt::format("{:.2f} ms", r.rest_p99_ms),
               fmt::format("{} requests, one client", r.rest_requests));
  html += Card("rows rejected", Num(summary["data"]["rows_rejected"]),
               "kept with their reason in rejected.tsv");
  html += Card("lag at the end", Num(summary["lag_at_end"]), "messages");
  html += "</div></section>\n";

  html += "<section><h2>Throughput</h2>";
  html += Chart(s, {s.input, s.processed},
                {{LegendKey::kLine, kInputColor, "input (log-end growth per second)"},
                 {LegendKey::kLine, kProcessedColor, "processed (predictions written per second)"}},
                s.top_tps, "transactions per second", false);
  html += "</section>\n<section><h2>Lag of the group</h2>";
  html += Chart(s, {s.lag}, {{LegendKey::kLine, kLagColor, "messages not yet committed"}},
                s.top_lag, "messages", false);
  html += "</section>\n<section><h2>Latency of the stream (per second)</h2>";
  html += Chart(s, {s.p50, s.p99},
                {{LegendKey::kLine, kP50Color, "p50"}, {LegendKey::kLine, kP99Color, "p99"}},
                s.top_ms, "milliseconds (log scale)", true);
  html +=
      "</section>\n<section><h2>The ramp</h2><table><tr><th class=\"num\">target</th>"
      "<th class=\"num\">input TPS</th><th class=\"num\">processed TPS</th>"
      "<th class=\"num\">p50 ms</th><th class=\"num\">p99 ms (worst second)</th></tr>\n";
  for (const nlohmann::json& step : ramp) {
    html += fmt::format(
        "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
        Num(step["target_tps"]), Num(step["input_tps"]), Num(step["processed_tps"]),
        Num(step["p50_ms"], 1), Num(step["p99_ms"], 1));
  }
  html +=
      "</table></section>\n<section><h2>More</h2><ul>"
      "<li><a href=\"../model/report.html\">the model's evaluation report</a> (ROC and PR "
      "curves, score distributions, the handbook's table)</li>"
      "<li><a href=\"../capacity/report.html\">the capacity test</a> (rates, lag per "
      "partition, steps)</li>"
      "<li><a href=\"../quality.txt\">data quality</a> and <a href=\"../rejected.tsv\">the "
      "rejected rows</a> with their reason</li>"
      "<li><a href=\"../summary.json\">summary.json</a>, <a href=\"../monitor.jsonl\">the "
      "monitor's samples</a>, <a href=\"../logs/\">the services' logs</a></li></ul>"
      "</section>\n</main></body></html>\n";
  return html;
}

}  // namespace

nlohmann::json StepFigures(const nlohmann::json& points, const RampStep& step) {
  std::vector<double> input, processed, p50;
  nlohmann::json p99 = nullptr;
  for (const nlohmann::json& p : points) {
    const int64_t t = p["time_ms"].get<int64_t>();
    // A point covers the second before it: the points wholly inside the step (the median
    // below takes care of one that overlaps a neighbour while the replay starts).
    if (t < step.from_ms + 1000 || t > step.to_ms) continue;
    if (p["input_tps"].is_number()) input.push_back(p["input_tps"].get<double>());
    // Processed: predictions written per second (committed offsets move once a second, in
    // steps, so their rate over one-second points swings between 0 and twice the rate).
    if (p["predictions_per_s"].is_number()) {
      processed.push_back(p["predictions_per_s"].get<double>());
    }
    if (p["latency_ms"]["p99"].is_number()) {
      p50.push_back(p["latency_ms"]["p50"].get<double>());
      const double v = p["latency_ms"]["p99"].get<double>();
      if (p99.is_null() || v > p99.get<double>()) p99 = v;
    }
  }
  return {
      {"target_tps", step.rate},
      {"input_tps", input.empty() ? nlohmann::json() : nlohmann::json(Median(input))},
      {"processed_tps", processed.empty() ? nlohmann::json() : nlohmann::json(Median(processed))},
      {"p50_ms", p50.empty() ? nlohmann::json() : nlohmann::json(Median(p50))},
      {"p99_ms", p99}};
}

absl::Status WriteDemoReport(const std::string& dir, const DemoResults& results) {
  const nlohmann::json summary = Summary(results);
  RETURN_IF_ERROR(WriteFile(dir + "/summary.json", summary.dump(2) + "\n"));
  std::filesystem::create_directories(dir + "/report");
  return WriteFile(dir + "/report/index.html", Html(summary, results));
}

std::string DemoSummary(const std::string& dir, const DemoResults& r) {
  const nlohmann::json s = Summary(r);
  std::string out = fmt::format("== summary ({:.0f} s)\n", r.seconds);
  const nlohmann::json& d = s["data"];
  out += fmt::format(
      "data quality  {} rows in, {} kept, {} rejected (reasons in rejected.tsv), "
      "{} repaired, {} duplicates removed\n",
      Num(d["rows_in"]), Num(d["rows_out"]), Num(d["rows_rejected"]), Num(d["rows_repaired"]),
      Num(d["duplicates_removed"]));
  out += fmt::format(
      "model         fraud version 1 @Production: ROC AUC {}, average precision {}, "
      "card precision@100 {} on the test week\n",
      Metric(r.metrics, "roc_auc"), Metric(r.metrics, "average_precision"),
      Metric(r.metrics, "card_precision_at_100"));
  for (const nlohmann::json& step : s["ramp"]) {
    out +=
        fmt::format("ramp {:>4} TPS input {:>5}, processed {:>5}, latency p50 {} ms, p99 {} ms\n",
                    Num(step["target_tps"]), Num(step["input_tps"]), Num(step["processed_tps"]),
                    Num(step["p50_ms"], 1), Num(step["p99_ms"], 1));
  }
  out += fmt::format(
      "full speed    {} transactions at {:.0f} TPS end to end (2 workers), highest "
      "lag {}\n",
      r.max_rows, r.max_tps, r.max_lag);
  const nlohmann::json& st = s["stream"];
  out += fmt::format("stream        {} predictions, {} to the DLQ, {} offset resets\n",
                     Num(st["predicted"]), Num(st["dead_lettered"]), Num(st["offset_resets"]));
  out +=
      fmt::format("REST API      {} requests, latency p50 {:.2f} ms, p99 {:.2f} ms, {} flagged\n",
                  r.rest_requests, r.rest_p50_ms, r.rest_p99_ms, r.rest_flagged);
  if (r.capacity.is_object()) {
    out += r.capacity["first_failing_tps"].is_number()
               ? fmt::format("capacity      critical TPS {} (first failing rate {})\n",
                             Num(r.capacity["critical_tps"]), Num(r.capacity["first_failing_tps"]))
               : fmt::format(
                     "capacity      critical TPS at least {} (no rate up to the highest "
                     "tried failed)\n",
                     Num(r.capacity["critical_tps"]));
  }
  out += fmt::format("lag           {} at the end\n", Num(s["lag_at_end"]));
  out += fmt::format("report        {}/report/index.html (and summary.json)\n", dir);
  return out;
}

}  // namespace fraud::cli
