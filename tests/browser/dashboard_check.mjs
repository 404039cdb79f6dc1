// The dashboard page in headless Chromium (Debian's /usr/bin/chromium), driven by
// playwright-core: node dashboard_check.mjs URL SCREENSHOT [SECONDS]
// Loads the page, waits until it has drawn a snapshot, then until the prediction count has
// grown (a replay is running meanwhile: tests/dashboard_test.py), takes a screenshot, and
// prints one JSON object: the figures read first and last, the partitions and flagged rows,
// and every console error or page error. Exits 0 even when a check fails: the caller judges.
import { chromium } from "playwright-core";

const [url, screenshot, seconds = "60"] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
const errors = [];
const result = { errors };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on("console", (m) => { if (m.type() === "error") errors.push("console: " + m.text()); });
  page.on("pageerror", (e) => errors.push("page: " + e.message));
  page.on("requestfailed", (r) => errors.push("request failed: " + r.url()));
  const response = await page.goto(url);
  result.status = response.status();
  await page.waitForFunction(() => Number(document.body.dataset.polls) >= 1, null,
                             { timeout: 15000 });
  const read = () => page.evaluate(() => {
    const text = (id) => document.getElementById(id).textContent.trim();
    const rows = (id) => Array.from(document.querySelectorAll(`#${id} tbody tr`),
                                    (tr) => Array.from(tr.cells, (c) => c.textContent.trim()));
    return {
      polls: Number(document.body.dataset.polls),
      predictions: Number(text("predictions-total").replace(/,/g, "")),
      processed_tps: text("processed-tps"), input_tps: text("input-tps"),
      lag: text("lag-total"), group_status: text("group-status"),
      fraud_rate: text("fraud-rate"), latency_p99: text("latency-p99"),
      model_version: text("model-version"), model_auc: text("model-auc"),
      partitions: rows("partitions"), flagged: rows("flagged"),
      charts: document.querySelectorAll("svg path").length,
    };
  });
  result.first = await read();
  const deadline = Date.now() + Number(seconds) * 1000;
  result.last = result.first;
  while (Date.now() < deadline) {
    await page.waitForTimeout(1000);
    result.last = await read();
    if (result.last.predictions > result.first.predictions && result.last.flagged.length > 0 &&
        result.last.processed_tps !== "–" && result.last.polls >= result.first.polls + 3) break;
  }
  await page.screenshot({ path: screenshot, fullPage: true });
  result.screenshot = screenshot;
} catch (e) {
  errors.push("check: " + e.message);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
