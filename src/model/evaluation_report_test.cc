#include "model/evaluation_report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <regex>

#include "core/html_report.h"

namespace fraud {
namespace {

EvaluationResult SyntheticResult() {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> noise(0, 1);
  const size_t n = 20000;
  std::vector<double> scores(n);
  std::vector<int8_t> labels(n);
  std::vector<int64_t> customers(n);
  std::vector<int64_t> days(n);
  for (size_t i = 0; i < n; ++i) {
    labels[i] = rng() % 100 == 0;
    scores[i] = 1 / (1 + std::exp(-(noise(rng) * 1.5 - 4 + 4.5 * labels[i])));
    customers[i] = static_cast<int64_t>(rng() % 3000);
    days[i] = static_cast<int64_t>(i * 7 / n);
  }
  auto result = Evaluate(scores, labels, customers, days, 0.3);
  EXPECT_TRUE(result.ok()) << result.status();
  return *result;
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

TEST(EvaluationReport, HasHeadingsChartsAndHandbookTable) {
  ReportContext context;
  context.items = {{"model", "models/xgb-test"},
                   {"data", "data/test.csv"},
                   {"test", "2018-08-08 .. 2018-08-14"},
                   {"empty", ""}};
  const std::string html = EvaluationReportHtml(SyntheticResult(), context);

  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  for (const char* heading :
       {"<h1>fraudstream model evaluation</h1>", "<h2>Context</h2>", "<h2>Metrics</h2>",
        "<h2>Confusion matrix at the threshold</h2>",
        "<h2>Comparison with the Fraud Detection Handbook</h2>", "<h2>Score distributions</h2>",
        "<h2>ROC curve</h2>", "<h2>Precision-recall curve</h2>",
        "<h2>Card Precision per day</h2>"}) {
    EXPECT_NE(html.find(heading), std::string::npos) << heading;
  }
  for (const char* anchor : {"0.871", "0.606", "0.291", "0.658", "0.639", "0.273", "0.678", "0.687",
                             "0.303", "AUC 0.875, AP 0.694, CP@100 0.304"}) {
    EXPECT_NE(html.find(anchor), std::string::npos) << anchor;
  }
  EXPECT_NE(html.find("<td>data</td><td>data/test.csv</td>"), std::string::npos);
  EXPECT_EQ(html.find("<td>empty</td>"), std::string::npos);

  // Well-formed SVG: every <svg> closed, in order, and no unbalanced element inside.
  EXPECT_EQ(Count(html, "<svg "), 4u);
  EXPECT_EQ(Count(html, "<svg "), Count(html, "</svg>"));
  size_t depth = 0;
  for (size_t at = 0; at < html.size(); ++at) {
    if (html.compare(at, 5, "<svg ") == 0) ++depth;
    if (html.compare(at, 6, "</svg>") == 0) {
      ASSERT_EQ(depth, 1u);
      --depth;
    }
    ASSERT_LE(depth, 1u);
  }
  EXPECT_EQ(Count(html, "<section>"), Count(html, "</section>"));
  EXPECT_EQ(Count(html, "<table"), Count(html, "</table>"));
  EXPECT_EQ(Count(html, "<text"), Count(html, "</text>"));
  EXPECT_EQ(Count(html, "<path"), 2u);  // the ROC and PR curves

  // No non-finite number and nothing external.
  const std::regex bad_number(R"([^a-z](nan|inf|NaN|Infinity)[^a-z])", std::regex::icase);
  EXPECT_FALSE(std::regex_search(html, bad_number));
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(Count(html, "http://"), Count(html, "http://www.w3.org/2000/svg"));
}

TEST(EvaluationReport, EscapesContext) {
  ReportContext context;
  context.title = "A <b>&\"'";
  context.items = {{"model", "<script>alert(1)</script>"}, {"<k>", "v & w"}};
  const std::string html = EvaluationReportHtml(SyntheticResult(), context);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("A &lt;b&gt;&amp;&quot;&#39;"), std::string::npos);
  EXPECT_NE(html.find("<td>&lt;k&gt;</td><td>v &amp; w</td>"), std::string::npos);
  EXPECT_EQ(HtmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
}

TEST(EvaluationReport, EmptyResultStillRenders) {
  const std::string html = EvaluationReportHtml(EvaluationResult{}, ReportContext{});
  EXPECT_EQ(Count(html, "<svg "), Count(html, "</svg>"));
  const std::regex bad_number(R"([^a-z](nan|inf)[^a-z])", std::regex::icase);
  EXPECT_FALSE(std::regex_search(html, bad_number));
}

TEST(EvaluationReport, HandbookResults) {
  ASSERT_EQ(HandbookResults().size(), 5u);
  EXPECT_DOUBLE_EQ(HandbookResults()[0].roc_auc, 0.871);
  EXPECT_DOUBLE_EQ(HandbookResults()[4].average_precision, 0.687);
  EXPECT_DOUBLE_EQ(kHandbookBest.card_precision_at_100, 0.304);
}

}  // namespace
}  // namespace fraud
