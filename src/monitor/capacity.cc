#include "monitor/capacity.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "core/status.h"
#include "fmt/format.h"

namespace fraud {

CapacityStep JudgeStep(double target, std::span<const CapacitySample> samples) {
  CapacityStep step{.target = target};
  if (samples.empty()) return step;
  const CapacitySample& first = samples.front();
  const CapacitySample& last = samples.back();
  step.start_seconds = first.seconds;
  step.end_seconds = last.seconds;
  if (last.seconds > first.seconds) {
    step.achieved = (last.log_end - first.log_end) / (last.seconds - first.seconds);
  }
  // Lag between commits is a sawtooth that depends on when a sample falls: it is read where
  // the committed offsets had just moved.
  std::vector<const CapacitySample*> commits;
  for (const CapacitySample& s : samples) {
    if (s.commit) commits.push_back(&s);
  }
  const CapacitySample& from = commits.size() >= 2 ? *commits.front() : first;
  const CapacitySample& to = commits.size() >= 2 ? *commits.back() : last;
  if (to.seconds > from.seconds) {
    step.processed = (to.committed - from.committed) / (to.seconds - from.seconds);
  }
  step.lag_start = from.lag;
  step.lag_end = to.lag;
  for (const CapacitySample* s : commits) step.max_lag = std::max(step.max_lag, s->lag);
  if (commits.empty()) {
    for (const CapacitySample& s : samples) step.max_lag = std::max(step.max_lag, s.lag);
  }
  const double sent = static_cast<double>(last.log_end - first.log_end);
  const double allowance = std::max(0.05 * sent, 0.5 * target);
  // A group that committed nothing while there was lag is not keeping up, whatever the lag.
  const bool committing = commits.size() >= 2 || last.lag == 0;
  step.bounded = committing && static_cast<double>(step.lag_end - step.lag_start) <= allowance;
  return step;
}

CapacityPlan::CapacityPlan(double start, double factor, double max, double precision)
    : start_(start), factor_(factor), max_(max), precision_(precision) {}

std::optional<double> CapacityPlan::Next() const {
  if (first_failing_ == 0) {
    const double next = last_ == 0 ? start_ : last_ * factor_;
    if (next > max_ * (1 + 1e-9)) return std::nullopt;
    return next;
  }
  if (critical_ == 0 || first_failing_ <= critical_ * (1 + precision_)) return std::nullopt;
  return (critical_ + first_failing_) / 2;
}

void CapacityPlan::Record(double rate, bool bounded) {
  last_ = rate;
  if (!bounded) {
    first_failing_ = first_failing_ == 0 ? rate : std::min(first_failing_, rate);
  } else if (first_failing_ == 0 || rate < first_failing_) {
    critical_ = std::max(critical_, rate);
  }
}

std::vector<CapacityCheck> AcceptanceChecks(std::span<const CapacityStep> steps) {
  struct Rule {
    double rate;
    int64_t below;  // 0: bounded
  };
  std::vector<CapacityCheck> checks;
  for (const Rule rule : {Rule{50, 50}, Rule{100, 100}, Rule{200, 500}, Rule{400, 0}}) {
    CapacityCheck check{.rate = rule.rate,
                        .rule = rule.below > 0 ? fmt::format("max lag < {}", rule.below)
                                               : std::string("lag bounded")};
    for (const CapacityStep& step : steps) {
      if (std::abs(step.target - rule.rate) > 1e-6) continue;
      check.ran = true;
      check.max_lag = step.max_lag;
      check.passed = rule.below > 0 ? step.max_lag < rule.below : step.bounded;
    }
    checks.push_back(check);
  }
  return checks;
}

namespace {

using Clock = std::chrono::steady_clock;

class Sampler {
 public:
  Sampler(LagMonitor& monitor, CapacityResult& result)
      : monitor_(monitor), result_(result), start_(Clock::now()) {}

  absl::StatusOr<const CapacitySample*> Take(double target) {
    ASSIGN_OR_RETURN(const std::vector<PartitionOffsets> offsets, monitor_.Query());
    const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    const LagReport report = tracker_.Add(static_cast<int64_t>(seconds * 1000), offsets);
    CapacitySample sample{.seconds = seconds,
                          .target = target,
                          .log_end = report.log_end,
                          .committed = report.committed,
                          .lag = report.lag,
                          .status = std::string(Name(report.status))};
    for (const PartitionReport& p : report.partitions) sample.partition_lag.push_back(p.lag);
    sample.commit =
        !result_.samples.empty() && sample.committed != result_.samples.back().committed;
    result_.partitions = static_cast<int>(offsets.size());
    result_.samples.push_back(std::move(sample));
    return &result_.samples.back();
  }

 private:
  LagMonitor& monitor_;
  CapacityResult& result_;
  LagTracker tracker_;
  Clock::time_point start_;
};

// Sleeps until `next` in small slices, so a stop is seen quickly.
void SleepUntil(Clock::time_point next, const std::atomic<bool>& stop) {
  while (!stop && Clock::now() < next) {
    std::this_thread::sleep_for(
        std::min<Clock::duration>(next - Clock::now(), std::chrono::milliseconds(50)));
  }
}

}  // namespace

absl::StatusOr<CapacityResult> RunCapacity(const CapacityOptions& options,
                                           const std::atomic<bool>& stop) {
  if (options.start <= 0 || options.factor <= 1 || options.max < options.start ||
      options.step_seconds <= 0 || options.precision <= 0 || options.sample_seconds <= 0) {
    return absl::InvalidArgumentError(
        "capacity: --start > 0, --factor > 1, --max >= --start, --step-seconds > 0, "
        "--precision > 0 and --sample-seconds > 0");
  }
  ASSIGN_OR_RETURN(auto monitor, LagMonitor::Create(options.monitor));
  CapacityResult result{.group = options.monitor.group, .topic = options.monitor.topic};
  Sampler sampler(*monitor, result);
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(options.sample_seconds));
  const auto drain = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
      options.drain_seconds > 0 ? options.drain_seconds : options.step_seconds));
  CapacityPlan plan(options.start, options.factor, options.max, options.precision);
  while (!stop) {
    const std::optional<double> rate = plan.Next();
    if (!rate) break;
    // What the previous step left behind is worked off first (the workers' own pace).
    const auto drain_end = Clock::now() + drain;
    for (auto next = Clock::now(); !stop && Clock::now() < drain_end; next += interval) {
      ASSIGN_OR_RETURN(const CapacitySample* s, sampler.Take(0));
      if (s->lag <= std::max(10.0, 0.5 * *rate)) break;
      SleepUntil(next + interval, stop);
    }
    ReplayOptions replay = options.replay;
    replay.rate = *rate;
    replay.ramp.clear();
    replay.loop = true;
    replay.limit = 0;
    replay.per_second = nullptr;
    std::atomic<bool> step_stop = false;
    absl::StatusOr<ReplaySummary> sent = absl::UnknownError("not run");
    std::thread producer([&] { sent = Replay(options.data_path, replay, step_stop); });
    const size_t first = result.samples.size();
    const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(options.step_seconds));
    absl::Status sampled;
    for (auto next = Clock::now(); !stop && Clock::now() < end; next += interval) {
      if (auto s = sampler.Take(*rate); !s.ok()) {
        sampled = s.status();
        break;
      }
      SleepUntil(next + interval, stop);
    }
    step_stop = true;
    producer.join();
    RETURN_IF_ERROR(sampled);
    RETURN_IF_ERROR(sent.status());
    if (stop) break;
    const CapacityStep step = JudgeStep(*rate, std::span(result.samples).subspan(first));
    result.steps.push_back(step);
    plan.Record(*rate, step.bounded);
    if (options.progress != nullptr) {
      std::fprintf(options.progress,
                   "capacity: %.1f TPS for %.0f s: sent %.1f/s, processed %.1f/s, lag %lld -> "
                   "%lld (max %lld): %s\n",
                   *rate, options.step_seconds, step.achieved, step.processed,
                   static_cast<long long>(step.lag_start), static_cast<long long>(step.lag_end),
                   static_cast<long long>(step.max_lag), step.bounded ? "bounded" : "growing");
      std::fflush(options.progress);
    }
  }
  result.critical_tps = plan.critical();
  result.first_failing_tps = plan.first_failing();
  result.checks = AcceptanceChecks(result.steps);
  return result;
}

std::vector<Metric> PerSecondMetrics(std::span<const CapacitySample> samples) {
  std::vector<Metric> metrics;
  const CapacitySample* before = nullptr;  // the last sample of the previous second
  for (size_t i = 0; i < samples.size(); ++i) {
    const CapacitySample& last = samples[i];
    const auto second = static_cast<int64_t>(last.seconds);
    if (i + 1 < samples.size() && static_cast<int64_t>(samples[i + 1].seconds) == second) {
      continue;  // not the last sample of its second
    }
    if (before != nullptr && last.seconds > before->seconds) {
      const double span = last.seconds - before->seconds;
      metrics.push_back({"input_tps", (last.log_end - before->log_end) / span, second});
      metrics.push_back({"processed_tps", (last.committed - before->committed) / span, second});
    }
    metrics.push_back({"lag", static_cast<double>(last.lag), second});
    before = &last;
  }
  return metrics;
}

absl::StatusOr<RunInfo> TrackCapacityRun(Tracking& tracking, const std::string& experiment,
                                         const CapacityOptions& options,
                                         const CapacityResult& result,
                                         const std::string& report_dir) {
  ASSIGN_OR_RETURN(RunInfo run, tracking.CreateRun(experiment, "capacity " + result.group));
  RETURN_IF_ERROR(
      tracking.LogParams(run.run_id, {{"group", result.group},
                                      {"topic", result.topic},
                                      {"partitions", std::to_string(result.partitions)},
                                      {"data", options.data_path},
                                      {"start", fmt::format("{}", options.start)},
                                      {"factor", fmt::format("{}", options.factor)},
                                      {"max", fmt::format("{}", options.max)},
                                      {"step_seconds", fmt::format("{}", options.step_seconds)},
                                      {"precision", fmt::format("{}", options.precision)}}));
  std::vector<Metric> metrics = PerSecondMetrics(result.samples);
  metrics.push_back({"critical_tps", result.critical_tps});
  metrics.push_back({"first_failing_tps", result.first_failing_tps});
  RETURN_IF_ERROR(tracking.LogMetrics(run.run_id, metrics));
  if (!report_dir.empty()) {
    RETURN_IF_ERROR(tracking.LogArtifactDir(run.run_id, report_dir, "report").status());
  }
  RETURN_IF_ERROR(tracking.EndRun(run.run_id, RunStatus::kFinished));
  return run;
}

}  // namespace fraud
