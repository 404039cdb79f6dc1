#pragma once

// The dashboard's web page: one self-contained HTML document (inline CSS, SVG drawn by inline
// JavaScript, no external resource) that polls GET /api/state (DashboardState::Snapshot) every
// second and redraws: the headline figures, input and processed TPS, lag, latency percentiles
// and fraud rate over time, lag and status per partition, the model card, the most recent
// flagged transactions, and any source error.
//
// Elements the browser test (tests/dashboard_test.py) reads: #predictions-total,
// #processed-tps, #input-tps, #lag-total, #group-status, #model-version, #fraud-rate,
// #latency-p99, the rows of #partitions and #flagged, and document.body.dataset.polls (the
// number of snapshots drawn).

#include <string_view>
#include <vector>

#include "dashboard/dashboard.h"
#include "metrics/metrics_server.h"

namespace fraud {

std::string_view DashboardPage();

// GET / (the page) and GET /api/state (live's snapshot at the wall-clock now), for a
// MetricsServer that also answers /metrics. live must outlive the server.
std::vector<HttpRoute> DashboardRoutes(const LiveDashboard& live);

}  // namespace fraud
