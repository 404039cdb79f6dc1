#pragma once

// What the HTML reports share (the evaluation report, the capacity report): one stylesheet,
// HTML escaping, an SVG plot area with axes and ticks, and a legend in HTML under a chart.
// Self-contained pages: inline CSS and SVG, no script, no external resource.
//
//   const Plot plot(1040, 300, 0, seconds, 0, top);
//   std::string svg = plot.Begin("Lag", "seconds", "messages", x_ticks, y_ticks, "lag");
//   svg += fmt::format("<path d=\"{}\" .../></svg>", plot.Path(points));

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "fmt/format.h"

namespace fraud {

// & < > " ' as entities.
std::string HtmlEscape(std::string_view text);

inline constexpr std::string_view kReportCss = R"css(
* { box-sizing: border-box; }
body { margin: 0; background: #f4f6f8; color: #1f2933; font: 14px/1.45 -apple-system,
  "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 32px 40px; }
header { border-bottom: 3px solid #1f2933; margin-bottom: 20px; padding-bottom: 10px; }
h1 { font-size: 26px; margin: 0 0 4px; }
.subtitle { color: #52606d; margin: 0; }
h2 { font-size: 17px; margin: 0 0 12px; color: #1f2933; }
section { background: #fff; border: 1px solid #dde3ea; border-radius: 8px; padding: 18px 20px;
  margin-bottom: 18px; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
.grid23 { display: grid; grid-template-columns: 2fr 3fr; gap: 18px; }
.grid23 > section { margin-bottom: 0; }
.grid2 > section { margin-bottom: 0; }
.row { margin-bottom: 18px; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 6px 10px; text-align: left; border-bottom: 1px solid #e4e7eb; }
th { font-weight: 600; color: #52606d; font-size: 12px; text-transform: uppercase;
  letter-spacing: .03em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.context td:first-child { color: #52606d; width: 170px; white-space: nowrap; }
table.context td { word-break: break-all; }
tr.ours td { font-weight: 700; background: #eef4fb; }
tr.best td { color: #52606d; font-style: italic; }
.better { color: #1b7f3b; }
.worse { color: #b3261e; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; }
.card { border: 1px solid #dde3ea; border-radius: 6px; padding: 10px 12px; background: #fafbfc; }
.card .label { color: #52606d; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
.card .value { font-size: 24px; font-weight: 700; font-variant-numeric: tabular-nums; }
.card .note { color: #7b8794; font-size: 12px; }
.card.primary { border-color: #2f6db5; background: #eef4fb; }
table.confusion { margin-top: 4px; }
table.confusion td, table.confusion th { text-align: center; border: 1px solid #dde3ea;
  padding: 10px 18px; }
table.confusion td { font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }
table.confusion td small { display: block; font-size: 11px; font-weight: 400; color: #52606d; }
td.tp { background: #e3f2e6; } td.tn { background: #eef4fb; }
td.fp { background: #fdf0e1; } td.fn { background: #fbe4e6; }
.note { color: #52606d; font-size: 12px; margin: 10px 0 0; }
svg { display: block; max-width: 100%; height: auto; }
svg text { font: 12px -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #3e4c59; }
svg .title { font-size: 13px; font-weight: 600; fill: #1f2933; }
svg .axis { stroke: #52606d; stroke-width: 1; }
svg .grid { stroke: #e4e7eb; stroke-width: 1; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 6px 0 0 58px; font-size: 12px;
  color: #3e4c59; }
.legend i { display: inline-block; width: 22px; margin-right: 6px; vertical-align: middle; }
.legend i.line { border-top: 3px solid currentColor; }
.legend i.dashed { border-top: 2px dashed currentColor; }
.legend i.dot { width: 10px; height: 10px; border-radius: 50%; background: currentColor; }
.legend i.box { width: 14px; height: 12px; border: 1px solid currentColor;
  background: color-mix(in srgb, currentColor 40%, white); }
footer { color: #7b8794; font-size: 12px; text-align: center; }
)css";

// SVG coordinates with one decimal; a non-finite value (never expected) becomes 0 so the
// markup stays valid.
inline std::string Coord(double value) {
  return fmt::format("{:.1f}", std::isfinite(value) ? value : 0.0);
}

// A plot area inside an SVG canvas, mapping data coordinates to pixels.
class Plot {
 public:
  Plot(double width, double height, double x_lo, double x_hi, double y_lo, double y_hi,
       bool log_y = false)
      : width_(width),
        height_(height),
        x_lo_(x_lo),
        x_hi_(x_hi),
        y_lo_(log_y ? std::log10(y_lo) : y_lo),
        y_hi_(log_y ? std::log10(y_hi) : y_hi),
        log_y_(log_y) {}

  double X(double x) const {
    return kLeft + (x - x_lo_) / (x_hi_ - x_lo_) * (width_ - kLeft - kRight);
  }
  double Y(double y) const {
    const double v = log_y_ ? std::log10(std::max(y, std::pow(10.0, y_lo_))) : y;
    return kTop + (1 - (v - y_lo_) / (y_hi_ - y_lo_)) * (height_ - kTop - kBottom);
  }
  double left() const { return kLeft; }
  double right() const { return width_ - kRight; }
  // Decimals of the linear ticks' labels (1 unless set).
  void set_tick_digits(int digits) { tick_digits_ = digits; }
  double top() const { return kTop; }
  double bottom() const { return height_ - kBottom; }

  // Opening tag, title, grid, axes, ticks and axis labels.
  std::string Begin(std::string_view title, std::string_view x_label, std::string_view y_label,
                    const std::vector<double>& x_ticks, const std::vector<double>& y_ticks,
                    std::string_view aria) const {
    std::string svg = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" width=\"{}\" "
        "height=\"{}\" role=\"img\" aria-label=\"{}\">\n",
        Coord(width_), Coord(height_), Coord(width_), Coord(height_), HtmlEscape(aria));
    if (!title.empty()) {
      svg += fmt::format("<text class=\"title\" x=\"{}\" y=\"18\">{}</text>\n", Coord(left()),
                         HtmlEscape(title));
    }
    for (double t : x_ticks) {
      svg += fmt::format(
          "<line class=\"grid\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>"
          "<line class=\"axis\" x1=\"{0}\" y1=\"{2}\" x2=\"{0}\" y2=\"{3}\"/>"
          "<text x=\"{0}\" y=\"{4}\" text-anchor=\"middle\">{5}</text>\n",
          Coord(X(t)), Coord(top()), Coord(bottom()), Coord(bottom() + 5), Coord(bottom() + 18),
          TickLabel(t, false));
    }
    for (double t : y_ticks) {
      const double y = log_y_ ? Y(std::pow(10.0, t)) : Y(t);
      svg += fmt::format(
          "<line class=\"grid\" x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\"/>"
          "<line class=\"axis\" x1=\"{3}\" y1=\"{2}\" x2=\"{0}\" y2=\"{2}\"/>"
          "<text x=\"{4}\" y=\"{5}\" text-anchor=\"end\">{6}</text>\n",
          Coord(left()), Coord(right()), Coord(y), Coord(left() - 5), Coord(left() - 8),
          Coord(y + 4), TickLabel(t, log_y_));
    }
    svg += fmt::format(
        "<line class=\"axis\" x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\"/>"
        "<line class=\"axis\" x1=\"{0}\" y1=\"{3}\" x2=\"{0}\" y2=\"{2}\"/>\n",
        Coord(left()), Coord(right()), Coord(bottom()), Coord(top()));
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                       Coord((left() + right()) / 2), Coord(height_ - 8), HtmlEscape(x_label));
    svg += fmt::format(
        "<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" transform=\"rotate(-90 {0} {1})\">"
        "{2}</text>\n",
        Coord(14), Coord((top() + bottom()) / 2), HtmlEscape(y_label));
    return svg;
  }

  // A polyline through the points (data coordinates).
  template <typename Points>  // of {x, y}
  std::string Path(const Points& points) const {
    std::string d;
    for (size_t i = 0; i < points.size(); ++i) {
      d +=
          fmt::format("{}{},{}", i == 0 ? "M" : " L", Coord(X(points[i].x)), Coord(Y(points[i].y)));
    }
    return d;
  }

 private:
  std::string TickLabel(double t, bool log) const {
    if (log) return t == 0 ? "1" : fmt::format("1e{}", static_cast<int>(t));
    // 10,000 and up in thousands, so that the labels stay clear of the axis title.
    if (std::abs(t) >= 10000) return fmt::format("{:g}k", t / 1000);
    return fmt::format("{:.{}f}", t, tick_digits_);
  }

  static constexpr double kLeft = 58;
  static constexpr double kRight = 16;
  static constexpr double kTop = 14;
  static constexpr double kBottom = 44;
  double width_, height_, x_lo_, x_hi_, y_lo_, y_hi_;
  bool log_y_;
  int tick_digits_ = 1;
};

// A data point of a chart.
struct Point {
  double x = 0;
  double y = 0;
};

// Round ticks from 0 to at least `top`: 1, 2 or 5 times a power of ten, about five of them.
inline std::vector<double> Ticks(double top) {
  const double raw = std::max(top, 1.0) / 5;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = raw <= power       ? power
                      : raw <= 2 * power ? 2 * power
                      : raw <= 5 * power ? 5 * power
                                         : 10 * power;
  std::vector<double> ticks;
  for (double t = 0; t <= top + step * 0.999; t += step) ticks.push_back(t);
  return ticks;
}

// A line through the points, solid or dashed; nothing for no points.
inline std::string Polyline(const Plot& plot, const std::vector<Point>& points,
                            std::string_view color, bool dashed) {
  if (points.empty()) return "";
  return fmt::format(
      "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" "
      "stroke-linejoin=\"round\"{}/>\n",
      plot.Path(points), color, dashed ? 1.5 : 2, dashed ? " stroke-dasharray=\"5 4\"" : "");
}

// How a legend entry is drawn.
enum class LegendKey { kLine, kDashed, kDot, kBox };

struct LegendEntry {
  LegendKey key;
  std::string_view color;
  std::string label;
};

// A legend in HTML below a chart, so that it never hides a curve.
inline std::string Legend(const std::vector<LegendEntry>& entries) {
  std::string html = "<div class=\"legend\">";
  for (const LegendEntry& entry : entries) {
    const char* key = entry.key == LegendKey::kLine     ? "line"
                      : entry.key == LegendKey::kDashed ? "dashed"
                      : entry.key == LegendKey::kDot    ? "dot"
                                                        : "box";
    html += fmt::format("<span><i class=\"{}\" style=\"color:{}\"></i>{}</span>", key, entry.color,
                        HtmlEscape(entry.label));
  }
  html += "</div>\n";
  return html;
}

}  // namespace fraud
