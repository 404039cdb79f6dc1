#pragma once

// The evaluation report: one self-contained HTML page (inline CSS and SVG; no JavaScript, no
// external URL) with the context of the run, the metrics, the confusion matrix at the
// operating threshold, the ROC and precision-recall curves, the score distributions by class,
// Card Precision@100 per day, and the Fraud Detection Handbook's published results beside ours.
//
//   ReportContext context;
//   context.items = {{"model", "models/xgb"}, {"data", "data/transactions.csv"}};
//   std::string html = EvaluationReportHtml(result, context);   // result from Evaluate()
//
// Pure function, thread-safe; every text of the context is HTML-escaped.

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/metrics.h"

namespace fraud {

// What was evaluated: a title and rows of (name, value) shown in order, e.g. model, data file,
// feature set, train and test periods, threshold rule. Rows with an empty value are left out.
// The page adds the row counts of the result itself.
struct ReportContext {
  std::string title = "fraudstream model evaluation";
  std::vector<std::pair<std::string, std::string>> items;
};

// A published result on the handbook's simulated data (test set of the 7/7/7 split from
// 2018-07-25, DESIGN §4).
struct PublishedResult {
  std::string_view model;
  double roc_auc;
  double average_precision;
  double card_precision_at_100;
};

// The handbook's table: logistic regression, random forest and XGBoost with default
// parameters, then random forest and XGBoost after model selection.
std::span<const PublishedResult> HandbookResults();
// The best published values over all the handbook's experiments.
inline constexpr PublishedResult kHandbookBest = {"handbook best published", 0.875, 0.694, 0.304};

std::string EvaluationReportHtml(const EvaluationResult& result, const ReportContext& context);

}  // namespace fraud
