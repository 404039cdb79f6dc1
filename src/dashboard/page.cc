#include "dashboard/page.h"

#include <chrono>
#include <string>

namespace fraud {

std::string_view DashboardPage() {
  static constexpr std::string_view kPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>fraudstream — live</title>
<style>
* { box-sizing: border-box; }
body { margin: 0; background: #f4f6f8; color: #1f2933; font: 14px/1.45 -apple-system,
  "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 20px 28px 36px; }
header { display: flex; align-items: baseline; justify-content: space-between;
  border-bottom: 3px solid #1f2933; margin-bottom: 16px; padding-bottom: 8px; }
h1 { font-size: 24px; margin: 0; }
h2 { font-size: 15px; margin: 0 0 10px; }
.muted { color: #52606d; }
section { background: #fff; border: 1px solid #dde3ea; border-radius: 8px; padding: 14px 16px; }
.cards { display: grid; grid-template-columns: repeat(6, 1fr); gap: 12px; margin-bottom: 14px; }
.card { background: #fff; border: 1px solid #dde3ea; border-radius: 8px; padding: 10px 12px; }
.card .label { color: #52606d; font-size: 11px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 24px; font-weight: 700; font-variant-numeric: tabular-nums; }
.card .note { color: #7b8794; font-size: 12px; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; margin-bottom: 14px; }
.grid3 { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 14px; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 4px 8px; text-align: left; border-bottom: 1px solid #e4e7eb; font-size: 13px; }
th { font-weight: 600; color: #52606d; font-size: 11px; text-transform: uppercase; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.status { display: inline-block; min-width: 48px; text-align: center; border-radius: 10px;
  padding: 0 8px; font-size: 12px; font-weight: 700; color: #fff; }
.OK { background: #1b7f3b; } .WARN { background: #c77c02; } .STALL, .ERR { background: #b3261e; }
.STOP { background: #7b1fa2; }
.errors { color: #b3261e; margin-bottom: 10px; }
svg text { font-size: 11px; fill: #52606d; }
.legend span { margin-right: 14px; font-size: 12px; }
.legend i { display: inline-block; width: 14px; height: 3px; vertical-align: middle;
  margin-right: 5px; }
</style>
</head>
<body data-polls="0">
<main>
<header><h1>fraudstream — live</h1><span class="muted" id="clock">connecting…</span></header>
<div class="errors" id="errors"></div>
<div class="cards">
  <div class="card"><div class="label">input TPS</div><div class="value" id="input-tps">–</div>
    <div class="note">log-end growth of the input topic</div></div>
  <div class="card"><div class="label">processed TPS</div>
    <div class="value" id="processed-tps">–</div>
    <div class="note" id="committed-tps">predictions written</div></div>
  <div class="card"><div class="label">lag</div><div class="value" id="lag-total">–</div>
    <div class="note">group <span class="status OK" id="group-status">–</span></div></div>
  <div class="card"><div class="label">fraud rate</div><div class="value" id="fraud-rate">–</div>
    <div class="note" id="fraud-rate-note">last 60 samples</div></div>
  <div class="card"><div class="label">latency p99</div><div class="value" id="latency-p99">–</div>
    <div class="note" id="latency-note">produced → scored</div></div>
  <div class="card"><div class="label">predictions</div>
    <div class="value" id="predictions-total">0</div>
    <div class="note" id="flagged-total">0 flagged</div></div>
</div>
<div class="grid">
  <section><h2>Throughput (TPS)</h2><div id="chart-tps"></div><div class="legend">
    <span><i style="background:#2f6db5"></i>input</span>
    <span><i style="background:#1b7f3b"></i>processed</span>
    <span><i style="background:#c77c02"></i>predictions read</span></div></section>
  <section><h2>Lag (messages)</h2><div id="chart-lag"></div><div class="legend">
    <span><i style="background:#b3261e"></i>total lag of the group</span></div></section>
  <section><h2>Latency (ms)</h2><div id="chart-latency"></div><div class="legend">
    <span><i style="background:#2f6db5"></i>p50</span>
    <span><i style="background:#c77c02"></i>p90</span>
    <span><i style="background:#b3261e"></i>p99</span></div></section>
  <section><h2>Fraud rate (% of predictions)</h2><div id="chart-fraud"></div>
    <div class="legend"><span><i style="background:#7b1fa2"></i>flagged share per sample</span>
    </div></section>
</div>
<div class="grid3">
  <section><h2>Partitions</h2><table id="partitions"><thead><tr><th>#</th>
    <th class="num">committed</th><th class="num">log end</th><th class="num">lag</th>
    <th>status</th></tr></thead><tbody></tbody></table>
    <h2 style="margin-top:12px">Status changes</h2><table id="changes"><tbody></tbody></table>
  </section>
  <section><h2>Model</h2><table id="model"><tbody>
    <tr><td>name</td><td id="model-name">–</td></tr>
    <tr><td>version</td><td id="model-version">–</td></tr>
    <tr><td>reference</td><td id="model-reference">–</td></tr>
    <tr><td>threshold</td><td id="model-threshold">–</td></tr>
    <tr><td>ROC AUC (test)</td><td id="model-auc">–</td></tr>
    <tr><td>average precision</td><td id="model-ap">–</td></tr>
    <tr><td>card precision@100</td><td id="model-cp">–</td></tr>
    <tr><td>versions scoring</td><td id="model-versions">–</td></tr>
  </tbody></table></section>
  <section><h2>Recently flagged</h2><table id="flagged"><thead><tr><th>transaction</th>
    <th>customer</th><th class="num">score</th><th>event time</th></tr></thead>
    <tbody></tbody></table></section>
</div>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const fmt = (v, digits) => v === null || v === undefined ? "–" :
  Number(v).toLocaleString("en-US", {maximumFractionDigits: digits === undefined ? 0 : digits});
const esc = (s) => String(s).replace(/[&<>"']/g,
  (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})[c]);

function niceStep(range) {
  const raw = range / 4, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
}

// series: [{color, values: [[seconds, value or null], ...]}]; x from -span to 0 seconds.
function chart(el, series, span) {
  const W = 560, H = 190, L = 56, R = 10, T = 8, B = 24;
  let top = 0;
  for (const s of series) for (const [, v] of s.values) if (v !== null && v > top) top = v;
  top = top > 0 ? top * 1.1 : 1;
  const step = niceStep(top);
  top = Math.ceil(top / step) * step;
  const x = (t) => L + (W - L - R) * (t + span) / span;
  const y = (v) => T + (H - T - B) * (1 - v / top);
  let svg = `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img">`;
  for (let v = 0; v <= top + step / 2; v += step) {
    svg += `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#e4e7eb"/>` +
      `<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${fmt(v, v < 10 ? 2 : 0)}</text>`;
  }
  for (let t = -span; t <= 0; t += span / 5) {
    svg += `<text x="${x(t)}" y="${H - 6}" text-anchor="middle">${t === 0 ? "now" : t + " s"}</text>`;
  }
  for (const s of series) {
    let d = "", pen = "M";
    for (const [t, v] of s.values) {
      if (v === null || t < -span) { pen = "M"; continue; }
      d += `${pen}${x(t).toFixed(1)},${y(v).toFixed(1)} `;
      pen = "L";
    }
    svg += `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`;
  }
  el.innerHTML = svg + "</svg>";
}

function draw(s) {
  const c = s.current;
  $("clock").textContent = "updated " + new Date(s.time_ms).toLocaleTimeString() +
    " · watching for " + fmt((s.time_ms - s.started_ms) / 1000) + " s";
  $("input-tps").textContent = fmt(c.input_tps);
  $("processed-tps").textContent = fmt(c.predictions_per_s);
  $("committed-tps").textContent = "predictions written · commits " + fmt(c.processed_tps) + "/s";
  $("lag-total").textContent = fmt(c.lag);
  const g = $("group-status");
  g.textContent = s.group_status;
  g.className = "status " + s.group_status;
  $("fraud-rate").textContent = c.fraud_rate === null ? "–" : fmt(100 * c.fraud_rate, 2) + " %";
  $("fraud-rate-note").textContent = "of " + fmt(c.fraud_rate_predictions) + " recent predictions";
  $("latency-p99").textContent = c.latency_ms.p99 === null ? "–" : fmt(c.latency_ms.p99, 1) + " ms";
  $("latency-note").textContent = c.latency_ms.p50 === null ? "produced → scored" :
    "p50 " + fmt(c.latency_ms.p50, 1) + " ms · max " + fmt(c.latency_ms.max, 1) + " ms";
  $("predictions-total").textContent = fmt(s.totals.predictions);
  $("flagged-total").textContent = fmt(s.totals.flagged) + " flagged" +
    (s.totals.unreadable ? " · " + fmt(s.totals.unreadable) + " unreadable" : "");

  const pts = s.points;
  // The last 5 minutes at most; less while the dashboard has watched for less.
  const span = pts.length < 2 ? 30 : Math.min(300, Math.max(30,
    Math.ceil((s.time_ms - pts[0].time_ms) / 10000) * 10));
  const at = (p) => (p.time_ms - s.time_ms) / 1000;
  chart($("chart-tps"), [
    {color: "#2f6db5", values: pts.map((p) => [at(p), p.input_tps])},
    {color: "#1b7f3b", values: pts.map((p) => [at(p), p.processed_tps])},
    {color: "#c77c02", values: pts.map((p) => [at(p), p.predictions_per_s])}], span);
  chart($("chart-lag"), [{color: "#b3261e", values: pts.map((p) => [at(p), p.lag])}], span);
  chart($("chart-latency"), [
    {color: "#2f6db5", values: pts.map((p) => [at(p), p.latency_ms.p50])},
    {color: "#c77c02", values: pts.map((p) => [at(p), p.latency_ms.p90])},
    {color: "#b3261e", values: pts.map((p) => [at(p), p.latency_ms.p99])}], span);
  chart($("chart-fraud"), [{color: "#7b1fa2", values: pts.map((p) =>
    [at(p), p.fraud_rate === null ? null : 100 * p.fraud_rate])}], span);

  $("partitions").tBodies[0].innerHTML = s.partitions.map((p) =>
    `<tr><td>${p.partition}</td><td class="num">${fmt(p.committed)}</td>` +
    `<td class="num">${fmt(p.log_end)}</td><td class="num">${fmt(p.lag)}</td>` +
    `<td><span class="status ${esc(p.status)}">${esc(p.status)}</span></td></tr>`).join("");
  $("changes").tBodies[0].innerHTML = s.changes.length === 0 ?
    `<tr><td class="muted">none yet</td></tr>` : s.changes.map((ch) =>
    `<tr><td>${new Date(ch.time_ms).toLocaleTimeString()}</td>` +
    `<td>${ch.partition < 0 ? "group" : "partition " + ch.partition}</td>` +
    `<td>${esc(ch.from)} → <span class="status ${esc(ch.to)}">${esc(ch.to)}</span></td></tr>`)
    .join("");
  $("flagged").tBodies[0].innerHTML = s.flagged.map((f) =>
    `<tr><td>${f.transaction_id}</td><td>${f.customer_id}</td>` +
    `<td class="num">${fmt(f.score, 3)}</td><td>${esc(f.event_time)}</td></tr>`).join("");

  const m = s.model || {};
  const seen = Object.keys(s.versions);
  const last = seen.length ? seen[seen.length - 1].split(" ") : [];
  $("model-name").textContent = m.name || last[0] || "–";
  $("model-version").textContent = m.version || last[1] || "–";
  $("model-reference").textContent = m.reference || "–";
  const fixed = (v) => typeof v === "number" ? v.toFixed(4) : "–";
  $("model-threshold").textContent = fixed(m.threshold);
  const test = m.metrics && m.metrics.test ? m.metrics.test : {};
  $("model-auc").textContent = fixed(test.roc_auc);
  $("model-ap").textContent = fixed(test.average_precision);
  $("model-cp").textContent = fixed(test.card_precision_at_100);
  $("model-versions").textContent = seen.length === 0 ? "–" :
    seen.map((v) => v + ": " + fmt(s.versions[v])).join(", ");
  const errors = Object.entries(s.errors);
  $("errors").textContent = errors.map(([k, v]) => k + ": " + v).join(" · ");
  document.body.dataset.polls = String(Number(document.body.dataset.polls) + 1);
}

async function poll() {
  try {
    const response = await fetch("api/state", {cache: "no-store"});
    if (!response.ok) throw new Error("HTTP " + response.status);
    draw(await response.json());
  } catch (e) {
    $("clock").textContent = "no answer from the dashboard (" + e.message + "), retrying";
  }
  setTimeout(poll, 1000);
}
poll();
</script>
</body>
</html>
)html";
  return kPage;
}

std::vector<HttpRoute> DashboardRoutes(const LiveDashboard& live) {
  return {{"/", "text/html; charset=utf-8", [] { return std::string(DashboardPage()); }},
          {"/api/state", "application/json", [&live] {
             const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
             return live.state().Snapshot(now).dump();
           }}};
}

}  // namespace fraud
