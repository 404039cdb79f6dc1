// Our forest evaluator (model/forest.h) against XGBoost's own in-place predict
// (XGBoosterPredictFromDense, the XGBoost C API of Debian's libxgboost-dev), same models, same
// rows, same cores, one run. Batch: all rows in one call, on 1 thread and on every core.
// One row: rows scored one call at a time, one thread.
//
//   forest_bench --data FILE --model MODEL_DIR [--rows N] [--train-rows N] [--seconds S]
//                [--threads N] [--cache DIR] [--only NAME] [--clock wall|cpu]
//
// Models: the trained artifact in MODEL_DIR, and three trained here on its features and the
// first --train-rows labelled rows: GBDT 100 trees depth 6, GBDT 300 trees depth 6 (the same
// training, cut at 100 and at 300 rounds) and a deep random forest (100 trees, depth 16).
// The scored rows are the last --rows rows of FILE. The margins of both sides are compared
// before timing (max |difference| printed). Prints a table, then one JSON line per model.

#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/file.h"
#include "data/reader.h"
#include "features/batch.h"
#include "fmt/format.h"
#include "model/artifact.h"
#include "model/forest.h"
#include "model/xgboost.h"

namespace fraud {
namespace {

struct Options {
  std::string data;
  std::string model;
  size_t rows = 200'000;
  size_t train_rows = 200'000;
  double seconds = 1.0;
  std::string cache;  // where trained models are kept between runs; empty: none
  std::string only;   // run only the models whose name contains this
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
};

[[noreturn]] void Fail(const absl::Status& status) {
  std::fprintf(stderr, "forest_bench: %s\n", status.ToString().c_str());
  std::exit(1);
}

template <typename T>
T OrDie(absl::StatusOr<T> value) {
  if (!value.ok()) Fail(value.status());
  return std::move(*value);
}

// --clock cpu: the process's CPU time instead of the wall clock, for the one-thread figures
// on a machine that is busy with other work (multi-thread figures stay on the wall clock).
bool g_cpu_clock = false;

int64_t NowNanos(bool cpu) {
  if (!cpu) return Clock::Real().NowNanos();
  timespec now;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return now.tv_sec * int64_t{1'000'000'000} + now.tv_nsec;
}

// Seconds per call of fn: repeated until `seconds` have passed (at least 3 times), best of 3
// such measurements of the mean.
template <typename Fn>
double SecondsPerCall(double seconds, Fn&& fn, bool single_thread = true) {
  const bool cpu = g_cpu_clock && single_thread;
  fn();  // warm up caches and XGBoost's lazy set-up
  double best = 1e300;
  for (int trial = 0; trial < 3; ++trial) {
    const int64_t start = NowNanos(cpu);
    int64_t calls = 0, elapsed = 0;
    do {
      fn();
      ++calls;
      elapsed = NowNanos(cpu) - start;
    } while (calls < 3 || elapsed < seconds / 3 * 1e9);
    best = std::min(best, elapsed * 1e-9 / calls);
  }
  return best;
}

// XGBoost's in-place predict with its strings built once: the per-call cost measured is
// XGBoost's own. One booster per thread count (the handle is not thread-safe).
class XgboostPredictor {
 public:
  XgboostPredictor(const std::string& json, int threads) : booster_(OrDie(Booster::FromJson(json))) {
    if (auto s = booster_.SetParam("nthread", std::to_string(threads)); !s.ok()) Fail(s);
    config_ = R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, )"
              R"("strict_shape": false, "missing": NaN, "cache_id": 0})";
  }

  const float* Predict(const float* values, size_t rows, size_t cols) {
    if (values != last_values_ || rows != last_rows_) {
      array_ = fmt::format(
          R"({{"data": [{}, true], "shape": [{}, {}], "typestr": "<f4", "version": 3}})",
          reinterpret_cast<uintptr_t>(values), rows, cols);
      last_values_ = values;
      last_rows_ = rows;
    }
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* result = nullptr;
    if (XGBoosterPredictFromDense(booster_.handle(), array_.c_str(), config_.c_str(), nullptr,
                                  &shape, &dim, &result) != 0) {
      Fail(absl::InternalError(XGBGetLastError()));
    }
    return result;
  }

 private:
  Booster booster_;
  std::string config_, array_;
  const float* last_values_ = nullptr;
  size_t last_rows_ = 0;
};

struct NamedModel {
  std::string name;
  std::string json;
};

// Trains on the first rows of features; returns the booster's JSON after each of `snapshots`
// rounds (ascending).
std::vector<std::string> TrainSnapshots(
    const FeatureMatrix& features, const std::vector<float>& labels, size_t rows,
    const std::vector<std::pair<std::string, std::string>>& params,
    const std::vector<int>& snapshots) {
  DMatrix train = OrDie(DMatrix::FromDense(features.values.data(), rows, features.cols));
  if (auto s = train.SetFloatInfo("label", std::span(labels.data(), rows)); !s.ok()) Fail(s);
  Booster booster = OrDie(Booster::Create({&train}));
  for (const auto& [name, value] : params) {
    if (auto s = booster.SetParam(name, value); !s.ok()) Fail(s);
  }
  std::vector<std::string> out;
  int round = 0;
  for (const int until : snapshots) {
    for (; round < until; ++round) {
      if (auto s = booster.UpdateOneIter(round, train); !s.ok()) Fail(s);
    }
    out.push_back(OrDie(booster.SaveJson()));
  }
  return out;
}

// TrainSnapshots, or the JSON saved by an earlier run in cache_dir (when given).
std::vector<std::string> CachedSnapshots(
    const std::string& cache_dir, const std::string& name, const FeatureMatrix& features,
    const std::vector<float>& labels, size_t rows,
    const std::vector<std::pair<std::string, std::string>>& params,
    const std::vector<int>& snapshots) {
  std::vector<std::string> paths, out;
  for (const int rounds : snapshots) {
    paths.push_back(fmt::format("{}/{}_{}x{}_{}rounds.json", cache_dir, name, rows, features.cols,
                                rounds));
  }
  if (!cache_dir.empty()) {
    for (const std::string& path : paths) {
      auto json = ReadFile(path);
      if (!json.ok()) break;
      out.push_back(std::move(*json));
    }
    if (out.size() == paths.size()) return out;
  }
  std::fprintf(stderr, "forest_bench: training %s on %zu rows...\n", name.c_str(), rows);
  out = TrainSnapshots(features, labels, rows, params, snapshots);
  for (size_t i = 0; i < out.size() && !cache_dir.empty(); ++i) {
    if (auto s = WriteFile(paths[i], out[i]); !s.ok()) Fail(s);
  }
  return out;
}

std::vector<NamedModel> BenchModels(const Options& options, const FeatureMatrix& features,
                                    const std::vector<float>& labels) {
  std::vector<NamedModel> models;
  const ModelArtifact artifact = OrDie(ModelArtifact::Load(options.model));
  const Forest trained = OrDie(Forest::LoadFile(artifact.booster_path()));
  models.push_back({fmt::format("default {} ({} trees)", artifact.kind(), trained.num_trees()),
                    OrDie(ReadFile(artifact.booster_path()))});
  const size_t rows = std::min(options.train_rows, features.rows);
  const std::string threads = std::to_string(options.threads);
  std::vector<std::string> gbdt = CachedSnapshots(
      options.cache, "gbdt_depth6", features, labels, rows,
      {{"objective", "binary:logistic"}, {"tree_method", "hist"}, {"max_depth", "6"},
       {"eta", "0.1"}, {"min_child_weight", "0.1"}, {"nthread", threads}, {"seed", "1"}},
      {100, 300});
  models.push_back({"GBDT 100 trees depth 6", std::move(gbdt[0])});
  models.push_back({"GBDT 300 trees depth 6", std::move(gbdt[1])});
  std::vector<std::string> rf = CachedSnapshots(
      options.cache, "rf_depth16", features, labels, rows,
      {{"objective", "binary:logistic"}, {"tree_method", "hist"}, {"max_depth", "16"},
       {"eta", "1"}, {"num_parallel_tree", "100"}, {"subsample", "0.632"},
       {"colsample_bynode", "0.6"}, {"min_child_weight", "0"}, {"nthread", threads},
       {"seed", "1"}},
      {1});
  models.push_back({"random forest 100 trees depth 16", std::move(rf[0])});
  return models;
}

// Largest |margin difference| between our evaluator and XGBoost's over the rows.
double MaxMarginDifference(const Forest& forest, const std::string& json, const float* rows,
                           size_t n, size_t cols) {
  Booster booster = OrDie(Booster::FromJson(json));
  if (auto s = booster.SetParam("nthread", "1"); !s.ok()) Fail(s);
  const std::span<const float> theirs =
      OrDie(booster.PredictFromDense(rows, n, cols, /*margin=*/true));
  std::vector<float> ours(n);
  forest.PredictMarginBatch(rows, n, cols, ours.data());
  double worst = 0;
  for (size_t i = 0; i < n; ++i) worst = std::max(worst, std::fabs(double(ours[i]) - theirs[i]));
  return worst;
}

// Our batch over `threads` threads, each taking a contiguous share of the rows.
void OurBatch(const Forest& forest, const float* rows, size_t n, size_t cols, int threads,
              float* out) {
  if (threads <= 1) return forest.PredictBatch(rows, n, cols, out);
  std::vector<std::thread> pool;
  const size_t share = (n + threads - 1) / threads;
  for (size_t begin = share; begin < n; begin += share) {
    pool.emplace_back([&, begin] {
      forest.PredictBatch(rows + begin * cols, std::min(share, n - begin), cols, out + begin);
    });
  }
  forest.PredictBatch(rows, std::min(share, n), cols, out);
  for (std::thread& t : pool) t.join();
}

struct Figures {
  double ours_batch_1 = 0, xgb_batch_1 = 0;  // seconds per row
  double ours_batch_n = 0, xgb_batch_n = 0;
  double ours_one = 0, xgb_one = 0;
};

Figures Measure(const Options& options, const std::string& json, const Forest& forest,
                const float* rows, size_t n, size_t cols) {
  Figures f;
  std::vector<float> out(n);
  volatile float sink = 0;
  XgboostPredictor xgb_1(json, 1), xgb_n(json, options.threads);
  f.ours_batch_1 = SecondsPerCall(options.seconds, [&] {
                     forest.PredictBatch(rows, n, cols, out.data());
                   }) / n;
  f.xgb_batch_1 = SecondsPerCall(options.seconds, [&] { sink = xgb_1.Predict(rows, n, cols)[0]; }) / n;
  f.ours_batch_n = SecondsPerCall(options.seconds, [&] {
                     OurBatch(forest, rows, n, cols, options.threads, out.data());
                   }, /*single_thread=*/false) / n;
  f.xgb_batch_n = SecondsPerCall(options.seconds, [&] { sink = xgb_n.Predict(rows, n, cols)[0]; },
                                 /*single_thread=*/false) / n;

  // One row per call. XGBoost reads from one fixed buffer, so its strings are built once.
  const size_t one_rows = std::min<size_t>(n, 20'000);
  f.ours_one = SecondsPerCall(options.seconds, [&] {
                 float sum = 0;
                 for (size_t i = 0; i < one_rows; ++i) sum += forest.Predict(rows + i * cols);
                 sink = sum;
               }) / one_rows;
  std::vector<float> buffer(cols);
  const size_t xgb_rows = std::min<size_t>(one_rows, 2'000);
  f.xgb_one = SecondsPerCall(options.seconds, [&] {
                float sum = 0;
                for (size_t i = 0; i < xgb_rows; ++i) {
                  std::copy_n(rows + i * cols, cols, buffer.data());
                  sum += xgb_1.Predict(buffer.data(), 1, cols)[0];
                }
                sink = sum;
              }) / xgb_rows;
  (void)sink;
  return f;
}

std::string Rate(double seconds_per_row) {
  const double rate = 1.0 / seconds_per_row;
  if (rate >= 1e6) return fmt::format("{:.2f} M/s", rate / 1e6);
  return fmt::format("{:.0f} k/s", rate / 1e3);
}

std::string Latency(double seconds) {
  if (seconds < 1e-6) return fmt::format("{:.0f} ns", seconds * 1e9);
  return fmt::format("{:.2f} us", seconds * 1e6);
}

int Run(const Options& options) {
  std::fprintf(stderr, "forest_bench: reading %s and computing features...\n",
               options.data.c_str());
  const ModelArtifact artifact = OrDie(ModelArtifact::Load(options.model));
  const std::vector<Transaction> txs = OrDie(ReadTransactions(options.data));
  const FeatureMatrix features =
      OrDie(ComputeFeatures(txs, artifact.features, {.threads = options.threads}));
  std::vector<float> labels(txs.size());
  for (size_t i = 0; i < txs.size(); ++i) labels[i] = txs[i].tx_fraud == 1 ? 1.0f : 0.0f;

  const size_t n = std::min(options.rows, features.rows);
  const size_t cols = features.cols;
  const float* rows = features.row(features.rows - n);
  const std::vector<NamedModel> models = BenchModels(options, features, labels);

  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);
  std::printf("forest evaluator vs XGBoost %d.%d.%d in-place predict (XGBoosterPredictFromDense)\n",
              major, minor, patch);
  std::printf("%zu rows x %zu features (the last rows of %s), %d threads on this machine\n\n", n,
              cols, options.data.c_str(), options.threads);
  std::printf("%-34s %-14s %12s %12s %8s\n", "model", "", "fraudstream", "XGBoost", "ratio");
  std::vector<std::string> json_lines;
  for (const NamedModel& model : models) {
    if (model.name.find(options.only) == std::string::npos) continue;
    const Forest forest = OrDie(Forest::FromXgboostJson(model.json));
    size_t nodes = 0;
    for (const XgboostTree& tree : OrDie(ParseXgboostJson(model.json)).trees) {
      nodes += tree.left.size();
    }
    const double difference = MaxMarginDifference(forest, model.json, rows, n, cols);
    const Figures f = Measure(options, model.json, forest, rows, n, cols);
    const std::string shape =
        fmt::format("{}: {} trees, {} nodes, max depth {}; max |margin difference| {:.1e}",
                    model.name, forest.num_trees(), nodes, forest.max_depth(), difference);
    std::printf("%s\n", shape.c_str());
    std::printf("  %-46s %12s %12s %7.1fx\n", "batch, 1 thread (rows/s)", Rate(f.ours_batch_1).c_str(),
                Rate(f.xgb_batch_1).c_str(), f.xgb_batch_1 / f.ours_batch_1);
    std::printf("  %-46s %12s %12s %7.1fx\n",
                fmt::format("batch, {} threads (rows/s)", options.threads).c_str(),
                Rate(f.ours_batch_n).c_str(), Rate(f.xgb_batch_n).c_str(),
                f.xgb_batch_n / f.ours_batch_n);
    std::printf("  %-46s %12s %12s %7.1fx\n", "one row per call, 1 thread (latency)",
                Latency(f.ours_one).c_str(), Latency(f.xgb_one).c_str(), f.xgb_one / f.ours_one);
    json_lines.push_back(fmt::format(
        R"({{"model": "{}", "trees": {}, "nodes": {}, "max_depth": {}, "rows": {}, "threads": {}, )"
        R"("max_margin_difference": {:.3g}, )"
        R"("batch_1_thread_rows_per_s": {{"ours": {:.0f}, "xgboost": {:.0f}}}, )"
        R"("batch_all_threads_rows_per_s": {{"ours": {:.0f}, "xgboost": {:.0f}}}, )"
        R"("one_row_ns": {{"ours": {:.1f}, "xgboost": {:.1f}}}}})",
        model.name, forest.num_trees(), nodes, forest.max_depth(), n, options.threads, difference,
        1 / f.ours_batch_1, 1 / f.xgb_batch_1, 1 / f.ours_batch_n, 1 / f.xgb_batch_n,
        f.ours_one * 1e9, f.xgb_one * 1e9));
  }
  std::printf("\nratio: XGBoost's time / ours (> 1: we are faster)\n");
  for (const std::string& line : json_lines) std::printf("%s\n", line.c_str());
  return 0;
}

}  // namespace
}  // namespace fraud

int main(int argc, char** argv) {
  fraud::Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--data") options.data = value;
    else if (flag == "--model") options.model = value;
    else if (flag == "--rows") options.rows = std::strtoull(value, nullptr, 10);
    else if (flag == "--train-rows") options.train_rows = std::strtoull(value, nullptr, 10);
    else if (flag == "--cache") options.cache = value;
    else if (flag == "--only") options.only = value;
    else if (flag == "--clock") fraud::g_cpu_clock = std::string_view(value) == "cpu";
    else if (flag == "--seconds") options.seconds = std::strtod(value, nullptr);
    else if (flag == "--threads") options.threads = std::atoi(value);
    else {
      std::fprintf(stderr, "forest_bench: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (options.data.empty() || options.model.empty()) {
    std::fprintf(stderr,
                 "usage: forest_bench --data FILE --model MODEL_DIR [--rows N] [--train-rows N] "
                 "[--seconds S] [--threads N] [--cache DIR] [--only NAME] [--clock wall|cpu]\n");
    return 2;
  }
  return fraud::Run(options);
}
