#include "model/evaluation_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "core/html_report.h"

namespace fraud {
namespace {

constexpr std::array<PublishedResult, 5> kHandbookResults = {{
    {"Logistic regression", 0.871, 0.606, 0.291},
    {"Random forest", 0.867, 0.658, 0.287},
    {"XGBoost", 0.862, 0.639, 0.273},
    {"Random forest, after model selection", 0.870, 0.678, 0.299},
    {"XGBoost, after model selection", 0.869, 0.687, 0.303},
}};

constexpr std::string_view kGenuineColor = "#2f6db5";
constexpr std::string_view kFraudColor = "#d1495b";
constexpr std::string_view kCurveColor = "#2f6db5";
constexpr std::string_view kBaselineColor = "#9aa3ad";

std::string Fixed(double value, int digits = 3) {
  if (!std::isfinite(value)) return "n/a";
  return fmt::format("{:.{}f}", value, digits);
}

std::string Percent(double value, int digits = 2) {
  if (!std::isfinite(value)) return "n/a";
  return fmt::format("{:.{}f}%", 100 * value, digits);
}

std::string Thousands(int64_t value) {
  std::string digits = fmt::format("{}", value < 0 ? -value : value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return value < 0 ? "-" + out : out;
}

std::vector<double> UnitTicks() { return {0, 0.2, 0.4, 0.6, 0.8, 1.0}; }

std::string RocFigure(const EvaluationResult& result) {
  const Plot plot(470, 420, 0, 1, 0, 1);
  std::string svg = plot.Begin("", "False-positive rate", "True-positive rate (recall)",
                               UnitTicks(), UnitTicks(), "ROC curve");
  svg += fmt::format(
      "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1.5\" "
      "stroke-dasharray=\"5 4\"/>\n",
      Coord(plot.X(0)), Coord(plot.Y(0)), Coord(plot.X(1)), Coord(plot.Y(1)), kBaselineColor);
  if (!result.roc_curve.empty()) {
    svg += fmt::format(
        "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\" "
        "stroke-linejoin=\"round\"/>\n",
        plot.Path(result.roc_curve), kCurveColor);
  }
  // The operating point.
  const double x = plot.X(result.confusion.fpr);
  const double y = plot.Y(result.confusion.recall);
  svg += fmt::format(
      "<circle cx=\"{}\" cy=\"{}\" r=\"5\" fill=\"{}\" stroke=\"#fff\" stroke-width=\"1.5\"/>\n",
      Coord(x), Coord(y), kFraudColor);
  svg += "</svg>\n";
  svg +=
      Legend({{LegendKey::kLine, kCurveColor, fmt::format("model (AUC {})", Fixed(result.roc_auc))},
              {LegendKey::kDashed, kBaselineColor, "random (AUC 0.5)"},
              {LegendKey::kDot, kFraudColor,
               fmt::format("threshold {}: FPR {}, recall {}", Fixed(result.confusion.threshold),
                           Fixed(result.confusion.fpr), Fixed(result.confusion.recall))}});
  return svg;
}

std::string PrFigure(const EvaluationResult& result) {
  const Plot plot(470, 420, 0, 1, 0, 1);
  std::string svg =
      plot.Begin("", "Recall", "Precision", UnitTicks(), UnitTicks(), "precision-recall curve");
  const double base_rate =
      result.rows > 0 ? static_cast<double>(result.positives) / result.rows : 0.0;
  svg += fmt::format(
      "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1.5\" "
      "stroke-dasharray=\"5 4\"/>\n",
      Coord(plot.X(0)), Coord(plot.Y(base_rate)), Coord(plot.X(1)), Coord(plot.Y(base_rate)),
      kBaselineColor);
  if (!result.pr_curve.empty()) {
    svg += fmt::format(
        "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\" "
        "stroke-linejoin=\"round\"/>\n",
        plot.Path(result.pr_curve), kCurveColor);
  }
  svg += fmt::format(
      "<circle cx=\"{}\" cy=\"{}\" r=\"5\" fill=\"{}\" stroke=\"#fff\" stroke-width=\"1.5\"/>\n",
      Coord(plot.X(result.confusion.recall)), Coord(plot.Y(result.confusion.precision)),
      kFraudColor);
  svg += "</svg>\n";
  svg += Legend(
      {{LegendKey::kLine, kCurveColor,
        fmt::format("model (AP {})", Fixed(result.average_precision))},
       {LegendKey::kDashed, kBaselineColor,
        fmt::format("random (fraud rate {})", Percent(base_rate))},
       {LegendKey::kDot, kFraudColor,
        fmt::format("threshold {}: recall {}, precision {}", Fixed(result.confusion.threshold),
                    Fixed(result.confusion.recall), Fixed(result.confusion.precision))}});
  return svg;
}

// Both classes as shares of their own class per bin, on a log scale: genuine transactions
// outnumber frauds by two orders of magnitude, and most of them sit in the lowest bins.
std::string HistogramFigure(const ScoreHistogram& histogram) {
  const size_t bins = std::min(histogram.genuine.size(), histogram.fraud.size());
  int64_t genuine_total = 0;
  int64_t fraud_total = 0;
  for (size_t i = 0; i < bins; ++i) {
    genuine_total += histogram.genuine[i];
    fraud_total += histogram.fraud[i];
  }
  double smallest = 1;
  for (size_t i = 0; i < bins; ++i) {
    if (histogram.genuine[i] > 0) {
      smallest = std::min(smallest, static_cast<double>(histogram.genuine[i]) / genuine_total);
    }
    if (histogram.fraud[i] > 0) {
      smallest = std::min(smallest, static_cast<double>(histogram.fraud[i]) / fraud_total);
    }
  }
  const int lowest_decade = std::max(-7, static_cast<int>(std::floor(std::log10(smallest))));
  const int y_lo = std::min(lowest_decade, -1);
  std::vector<double> y_ticks;
  for (int d = y_lo; d <= 0; ++d) y_ticks.push_back(d);
  const double lo = histogram.lo;
  const double hi = histogram.hi > histogram.lo ? histogram.hi : histogram.lo + 1;
  std::vector<double> x_ticks;
  for (int i = 0; i <= 10; ++i) x_ticks.push_back(lo + (hi - lo) * i / 10);
  const Plot plot(1040, 360, lo, hi, std::pow(10.0, y_lo), 1, /*log_y=*/true);
  std::string svg = plot.Begin("", "Score", "Share of the class (log scale)", x_ticks, y_ticks,
                               "score histograms of genuine and fraudulent transactions");
  const auto steps = [&](const std::vector<int64_t>& counts, int64_t total, std::string_view color,
                         double opacity, bool outline) {
    if (total == 0) return std::string();
    const double width = (hi - lo) / static_cast<double>(bins);
    std::string bars;
    for (size_t i = 0; i < bins; ++i) {
      if (counts[i] == 0) continue;
      const double share = static_cast<double>(counts[i]) / total;
      const double x0 = plot.X(lo + width * i);
      const double x1 = plot.X(lo + width * (i + 1));
      const double y = plot.Y(share);
      bars += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" fill-opacity=\"{}\" "
          "stroke=\"{}\" stroke-width=\"{}\"><title>{} to {}: {} ({})</title></rect>\n",
          Coord(x0 + 0.5), Coord(y), Coord(std::max(x1 - x0 - 1, 0.5)), Coord(plot.bottom() - y),
          outline ? "none" : color, opacity, outline ? color : "none", outline ? 1.2 : 0.0,
          Fixed(lo + width * i, 2), Fixed(lo + width * (i + 1), 2), Thousands(counts[i]),
          Percent(share));
    }
    return bars;
  };
  // Fills first, then both outlines, so that each class's bar tops stay visible.
  svg += steps(histogram.genuine, genuine_total, kGenuineColor, 0.35, false);
  svg += steps(histogram.fraud, fraud_total, kFraudColor, 0.35, false);
  svg += steps(histogram.genuine, genuine_total, kGenuineColor, 1, true);
  svg += steps(histogram.fraud, fraud_total, kFraudColor, 1, true);
  svg += "</svg>\n";
  svg += Legend({{LegendKey::kBox, kGenuineColor,
                  fmt::format("genuine ({} transactions)", Thousands(genuine_total))},
                 {LegendKey::kBox, kFraudColor,
                  fmt::format("fraud ({} transactions)", Thousands(fraud_total))}});
  return svg;
}

std::string CardPrecisionSvg(const CardPrecisionResult& card) {
  const size_t n = card.per_day.size();
  double top = 0.1;
  for (double v : card.per_day) top = std::max(top, v);
  top = std::ceil(top * 10) / 10;
  std::vector<double> y_ticks;
  for (int i = 0; i <= static_cast<int>(std::lround(top * 10)); ++i) y_ticks.push_back(i / 10.0);
  const Plot plot(1040, 260, 0, static_cast<double>(std::max<size_t>(n, 1)), 0, top);
  std::string svg = plot.Begin("", "Day", fmt::format("Card Precision@{}", card.k), {}, y_ticks,
                               "card precision per day");
  const double slot = (plot.right() - plot.left()) / static_cast<double>(std::max<size_t>(n, 1));
  for (size_t i = 0; i < n; ++i) {
    const double x = plot.X(static_cast<double>(i));
    const double y = plot.Y(card.per_day[i]);
    svg += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>day {}: {}"
        "</title></rect>\n",
        Coord(x + slot * 0.15), Coord(y), Coord(slot * 0.7), Coord(plot.bottom() - y), kCurveColor,
        card.days[i], Fixed(card.per_day[i]));
    // The value inside the bar's top when it is tall enough, above it otherwise.
    const bool inside = plot.bottom() - y > 22;
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\"{}>{}</text>\n",
                       Coord(x + slot / 2), Coord(inside ? y + 16 : y - 5),
                       inside ? " style=\"fill:#fff\"" : "", Fixed(card.per_day[i]));
    if (n <= 40) {
      svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                         Coord(x + slot / 2), Coord(plot.bottom() + 16), card.days[i]);
    }
  }
  const double mean_y = plot.Y(card.mean);
  svg += fmt::format(
      "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\" "
      "stroke-dasharray=\"6 4\"/>\n",
      Coord(plot.left()), Coord(mean_y), Coord(plot.right()), Coord(mean_y), kFraudColor);
  svg += "</svg>\n";
  return svg;
}

std::string Card(std::string_view label, std::string_view value, std::string_view note,
                 bool primary = false) {
  return fmt::format(
      "<div class=\"card{}\"><div class=\"label\">{}</div><div class=\"value\">{}</div>"
      "<div class=\"note\">{}</div></div>\n",
      primary ? " primary" : "", HtmlEscape(label), HtmlEscape(value), HtmlEscape(note));
}

std::string ContextTable(const EvaluationResult& result, const ReportContext& context) {
  std::vector<std::pair<std::string, std::string>> rows = context.items;
  rows.push_back(
      {"test rows",
       fmt::format(
           "{} transactions, {} frauds ({}), {} days", Thousands(result.rows),
           Thousands(result.positives),
           Percent(result.rows > 0 ? static_cast<double>(result.positives) / result.rows : 0.0),
           result.days)});
  std::string html = "<table class=\"context\">\n";
  for (const auto& [key, value] : rows) {
    if (value.empty()) continue;
    html += fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", HtmlEscape(key), HtmlEscape(value));
  }
  html += "</table>\n";
  return html;
}

std::string Compared(double ours, double best) {
  const char* css = ours >= best ? "better" : "worse";
  return fmt::format("<span class=\"{}\">{}</span>", css, Fixed(ours));
}

std::string HandbookTable(const EvaluationResult& result) {
  std::string html =
      "<table>\n<tr><th>Model (handbook, test set)</th><th class=\"num\">ROC AUC</th>"
      "<th class=\"num\">AP</th><th class=\"num\">CP@100</th></tr>\n";
  for (const PublishedResult& row : HandbookResults()) {
    html += fmt::format(
        "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td></tr>\n",
        HtmlEscape(row.model), Fixed(row.roc_auc), Fixed(row.average_precision),
        Fixed(row.card_precision_at_100));
  }
  html += fmt::format(
      "<tr class=\"best\"><td>Best published</td><td class=\"num\">{}</td>"
      "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
      Fixed(kHandbookBest.roc_auc), Fixed(kHandbookBest.average_precision),
      Fixed(kHandbookBest.card_precision_at_100));
  html += fmt::format(
      "<tr class=\"ours\"><td>This model</td><td class=\"num\">{}</td>"
      "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
      Compared(result.roc_auc, kHandbookBest.roc_auc),
      Compared(result.average_precision, kHandbookBest.average_precision),
      Compared(result.card_precision_at_100, kHandbookBest.card_precision_at_100));
  html += "</table>\n";
  html +=
      "<p class=\"note\">Published test results of the Fraud Detection Handbook (chapters 3.4 "
      "and 5) on its simulated data set, 7/7/7-day split from 2018-07-25 (AP: average precision, "
      "CP@100: Card Precision@100). Handbook best "
      "published: AUC 0.875, AP 0.694, CP@100 0.304. Our values are green where they reach "
      "the best published value, red otherwise; the comparison is meaningful only when this "
      "evaluation used the same data and split.</p>\n";
  return html;
}

std::string ConfusionTable(const ConfusionMatrix& m) {
  const int64_t total = m.tp + m.fp + m.tn + m.fn;
  const auto share = [&](int64_t n) {
    return Percent(total > 0 ? static_cast<double>(n) / total : 0.0);
  };
  return fmt::format(
      "<table class=\"confusion\">\n"
      "<tr><th></th><th>Flagged as fraud</th><th>Not flagged</th></tr>\n"
      "<tr><th>Fraud</th><td class=\"tp\">{}<small>true positives, {}</small></td>"
      "<td class=\"fn\">{}<small>false negatives, {}</small></td></tr>\n"
      "<tr><th>Genuine</th><td class=\"fp\">{}<small>false positives, {}</small></td>"
      "<td class=\"tn\">{}<small>true negatives, {}</small></td></tr>\n"
      "</table>\n"
      "<p class=\"note\">Decision: fraud when score &ge; {}. Alerts: {} ({} of the "
      "transactions), of which {} are frauds. Ratios with a zero denominator are reported as "
      "0.</p>\n",
      Thousands(m.tp), share(m.tp), Thousands(m.fn), share(m.fn), Thousands(m.fp), share(m.fp),
      Thousands(m.tn), share(m.tn), Fixed(m.threshold, 4), Thousands(m.tp + m.fp),
      share(m.tp + m.fp), Percent(m.precision, 1));
}

}  // namespace

std::span<const PublishedResult> HandbookResults() { return kHandbookResults; }

std::string EvaluationReportHtml(const EvaluationResult& result, const ReportContext& context) {
  const ConfusionMatrix& m = result.confusion;
  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n",
      HtmlEscape(context.title), kReportCss);
  html += fmt::format(
      "<header>\n<h1>{}</h1>\n<p class=\"subtitle\">{}</p>\n</header>\n", HtmlEscape(context.title),
      "Fraud detection on the test period: threshold-free ranking metrics, the decision at the "
      "operating threshold, and the Fraud Detection Handbook's published results.");

  html += "<section>\n<h2>Context</h2>\n" + ContextTable(result, context) + "</section>\n";

  html += "<section>\n<h2>Metrics</h2>\n<div class=\"cards\">\n";
  html += Card("ROC AUC", Fixed(result.roc_auc), "threshold-free ranking", true);
  html += Card("Average precision", Fixed(result.average_precision), "area under PR curve", true);
  html += Card(fmt::format("Card Precision@{}", result.card_precision.k),
               Fixed(result.card_precision_at_100),
               fmt::format("mean over {} days", result.card_precision.per_day.size()), true);
  html += Card("Threshold", Fixed(m.threshold, 4), "fraud when score \u2265 threshold", true);
  html += Card("Precision", Fixed(m.precision), "frauds among alerts");
  html += Card("Recall", Fixed(m.recall), "frauds caught");
  html += Card("F1", Fixed(m.f1), "harmonic mean of P and R");
  html += Card("False-positive rate", Percent(m.fpr), "genuine transactions flagged");
  html += "</div>\n</section>\n";

  html += "<div class=\"grid23 row\">\n<section>\n<h2>Confusion matrix at the threshold</h2>\n" +
          ConfusionTable(m) + "</section>\n";
  html += "<section>\n<h2>Comparison with the Fraud Detection Handbook</h2>\n" +
          HandbookTable(result) + "</section>\n</div>\n";

  html += "<div class=\"grid2 row\">\n<section>\n<h2>ROC curve</h2>\n" + RocFigure(result) +
          "</section>\n<section>\n<h2>Precision-recall curve</h2>\n" + PrFigure(result) +
          "</section>\n</div>\n";
  html += "<section>\n<h2>Score distributions</h2>\n" + HistogramFigure(result.histogram) +
          "<p class=\"note\">Each class as a share of its own transactions per score bin "
          "(log scale), so that both stay visible despite the class imbalance.</p>\n"
          "</section>\n";
  html += "<section>\n<h2>Card Precision per day</h2>\n" + CardPrecisionSvg(result.card_precision) +
          fmt::format(
              "<p class=\"note\">Per day: the {} customers with the highest score (customers "
              "detected on earlier days removed), share of them that are compromised. Dashed "
              "line: the mean, {}.</p>\n",
              result.card_precision.k, Fixed(result.card_precision.mean)) +
          "</section>\n";
  html +=
      "<footer>Generated by fraudstream. Definitions: Fraud Detection Handbook, "
      "chapters 3.4 and 4.</footer>\n</main>\n</body>\n</html>\n";
  return html;
}

}  // namespace fraud
