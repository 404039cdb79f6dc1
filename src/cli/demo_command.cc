// fraudstream demo: the whole loop on embedded defaults, one command (issue 9; `make demo`).
//
// Every part is this binary's own subcommand in a child process (cli/subprocess.h), as a user
// would run them: generate -> clean -> train (registered) -> promote to @Production through the
// gate -> the embedded broker, two stream workers and the REST API -> replay two weeks of
// transactions as a ramp (50, 100, 200, 400 TPS) and then as fast as possible, while the
// monitor watches the group -> requests to the REST API -> a short capacity test. The
// dashboard (src/dashboard) runs inside the demo and serves its page all along. The summary
// and the report directory (DIR/report/index.html) come from what the parts wrote and what
// the dashboard saw. Ctrl-C (SIGINT or SIGTERM) stops the running stage and every service,
// in order. The stages and their figures: README.md, "What the demo shows".

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "cli/commands.h"
#include "cli/demo_report.h"
#include "cli/kafka_flags.h"
#include "cli/registry_common.h"
#include "cli/subprocess.h"
#include "core/file.h"
#include "core/status.h"
#include "core/time.h"
#include "core/transaction.h"
#include "dashboard/dashboard.h"
#include "dashboard/page.h"
#include "data/layout.h"
#include "data/row_parser.h"
#include "data/row_writer.h"
#include "fmt/format.h"
#include "metrics/metrics_server.h"
#include "monitor/lag_monitor.h"
#include "nlohmann/json.hpp"

namespace fraud::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct DemoFlags {
  std::string out = "demo-out";
  bool quick = false;
  bool hold = false;
  int dashboard_port = 8090;
  int serve_port = 0;
  int partitions = 12;
  int seed = 0;
};

// The sizes of a run: the default one (handbook-sized data, under 5 minutes on 2 cores) and
// --quick (small data, short steps: the test's).
struct Sizes {
  std::vector<std::string> generate;  // extra generate flags
  double ramp_step_seconds;
  int rest_requests;
  std::vector<std::string> capacity;  // capacity's rates and steps
};

Sizes SizesFor(bool quick) {
  if (quick) {
    return {{"--customers", "300", "--terminals", "600"},
            4,
            200,
            {"--start", "1000", "--factor", "4", "--max", "16000", "--step-seconds", "4",
             "--drain-seconds", "5"}};
  }
  return {{},
          10,
          2000,
          {"--start", "10000", "--factor", "2", "--max", "160000", "--step-seconds", "4",
           "--drain-seconds", "10"}};
}

constexpr int kStages = 9;
constexpr double kRamp[] = {50, 100, 200, 400};

int64_t WallMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::Status Stopped() { return absl::CancelledError("stopped (Ctrl-C): every part was stopped"); }

// The rows of an Otus-format file split by event time: history before `cutoff` (a date),
// the live rows from it on (ramp: the first `ramp_rows` of them, rest: the others).
struct Split {
  int64_t history = 0, ramp = 0, rest = 0;
  std::string first_live_day, last_day;
};

absl::StatusOr<Split> SplitLive(const std::string& path, int live_days, int64_t ramp_rows,
                                const std::string& dir) {
  ASSIGN_OR_RETURN(const std::string text, ReadFile(path));
  // The date of the last row: a line is "id,YYYY-MM-DD HH:MM:SS,...".
  const size_t last_start = text.rfind('\n', text.size() - 2) + 1;
  const size_t comma = text.find(',', last_start);
  if (comma == std::string::npos || text.size() < comma + 11) {
    return absl::InvalidArgumentError(fmt::format("{}: not in the Otus format", path));
  }
  Split split;
  split.last_day = text.substr(comma + 1, 10);
  const std::optional<int64_t> last = ParseDate(split.last_day);
  if (!last) return absl::InvalidArgumentError(fmt::format("{}: no date in its last row", path));
  split.first_live_day = FormatDate(*last - int64_t{live_days - 1} * kSecondsPerDay);
  std::ofstream history(dir + "/history.txt"), ramp(dir + "/ramp.txt"), rest(dir + "/rest.txt"),
      live(dir + "/live.txt");
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + at, end - at + (end < text.size()));
    at = end + 1;
    if (line.empty() || line[0] == '#') {
      history << line;  // the header
      continue;
    }
    const size_t c = line.find(',');
    const bool is_live =
        c != std::string_view::npos && line.substr(c + 1, 10) >= split.first_live_day;
    if (!is_live) {
      history << line, ++split.history;
    } else if (split.ramp < ramp_rows) {
      ramp << line, live << line, ++split.ramp;
    } else {
      rest << line, live << line, ++split.rest;
    }
  }
  if (!history || !ramp || !rest || !live) {
    return absl::UnavailableError(fmt::format("cannot write the split files in {}", dir));
  }
  return split;
}

class Demo {
 public:
  Demo(DemoFlags flags, std::string self)
      : flags_(std::move(flags)), self_(std::move(self)), sizes_(SizesFor(flags_.quick)) {}

  absl::Status Run();
  // Stops every service still running, the last started first; the broker last of all.
  void StopServices();

 private:
  std::string Path(const std::string& name) const { return flags_.out + "/" + name; }
  void Stage(int n, const std::string& title);
  // A foreground command (its output on the terminal); an error with its exit code.
  absl::Status Command(const std::string& name, std::vector<std::string> args,
                       const std::string& stdout_path = "");
  absl::StatusOr<Subprocess*> Service(const std::string& name, std::vector<std::string> args,
                                      const std::string& stdout_path = "");
  // Waits until the service's log has a line starting with `prefix`; that line.
  absl::StatusOr<std::string> AwaitLine(Subprocess& service, const std::string& prefix,
                                        seconds timeout);
  absl::Status Sleep(milliseconds how_long);
  // Until the group has committed everything the input topic holds.
  absl::StatusOr<LagReport> AwaitCaughtUp(seconds timeout, int64_t* max_lag);
  absl::Status StartServices();
  absl::Status Replay();
  absl::Status Rest();
  nlohmann::json ReadJson(const std::string& name) const;
  int64_t Predictions() const { return dashboard_->state().predictions(); }

  const DemoFlags flags_;
  const std::string self_;
  const Sizes sizes_;
  const Clock::time_point start_ = Clock::now();
  std::string registry_, brokers_;
  Split split_;
  std::deque<Subprocess> services_;  // a deque: pointers to its elements stay valid
  std::unique_ptr<LiveDashboard> dashboard_;
  MetricsRegistry dashboard_metrics_;  // the dashboard's /metrics: the demo process itself
  std::unique_ptr<MetricsServer> dashboard_server_;
  std::unique_ptr<LagMonitor> lag_;
  DemoResults results_;
};

void Demo::Stage(int n, const std::string& title) {
  const double t = std::chrono::duration<double>(Clock::now() - start_).count();
  std::fprintf(stderr, "\n== %d/%d %s   [%.0f s]\n", n, kStages, title.c_str(), t);
}

absl::Status Demo::Command(const std::string& name, std::vector<std::string> args,
                           const std::string& stdout_path) {
  args.insert(args.begin(), self_);
  ASSIGN_OR_RETURN(Subprocess child, Subprocess::Start(name, args, "", stdout_path));
  while (!child.Poll()) {
    if (g_stop.load()) {
      child.Stop(seconds(10));
      return Stopped();
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  if (*child.Poll() != 0) {
    return absl::InternalError(fmt::format("{} failed (exit code {})", name, *child.Poll()));
  }
  return absl::OkStatus();
}

absl::StatusOr<Subprocess*> Demo::Service(const std::string& name, std::vector<std::string> args,
                                          const std::string& stdout_path) {
  args.insert(args.begin(), self_);
  ASSIGN_OR_RETURN(Subprocess child,
                   Subprocess::Start(name, args, Path("logs/" + name + ".log"), stdout_path));
  services_.push_back(std::move(child));
  return &services_.back();
}

absl::StatusOr<std::string> Demo::AwaitLine(Subprocess& service, const std::string& prefix,
                                            seconds timeout) {
  const std::string log = Path("logs/" + service.name() + ".log");
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (g_stop.load()) return Stopped();
    std::ifstream in(log);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(prefix, 0) == 0) return line;
    }
    if (const std::optional<int> code = service.Poll()) {
      return absl::InternalError(
          fmt::format("{} exited with code {} (see {})", service.name(), *code, log));
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  return absl::DeadlineExceededError(
      fmt::format("{} not ready after {} s (see {})", service.name(), timeout.count(), log));
}

absl::Status Demo::Sleep(milliseconds how_long) {
  const auto until = Clock::now() + how_long;
  while (Clock::now() < until) {
    if (g_stop.load()) return Stopped();
    std::this_thread::sleep_for(milliseconds(20));
  }
  return absl::OkStatus();
}

absl::StatusOr<LagReport> Demo::AwaitCaughtUp(seconds timeout, int64_t* max_lag) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (g_stop.load()) return Stopped();
    ASSIGN_OR_RETURN(LagReport report, lag_->Sample());
    if (max_lag != nullptr) *max_lag = std::max(*max_lag, report.lag);
    if (report.lag == 0 && report.log_end > 0) return report;
    if (Clock::now() >= deadline) {
      return absl::DeadlineExceededError(fmt::format(
          "the workers did not catch up within {} s (lag {})", timeout.count(), report.lag));
    }
    for (Subprocess& s : services_) {
      if (const std::optional<int> code = s.Poll()) {
        return absl::InternalError(fmt::format("{} exited with code {} (see {})", s.name(), *code,
                                               Path("logs/" + s.name() + ".log")));
      }
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
}

nlohmann::json Demo::ReadJson(const std::string& name) const {
  const absl::StatusOr<std::string> text = ReadFile(Path(name));
  if (!text.ok()) return nullptr;
  nlohmann::json json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    // The last line (stream --json prints its summary after any other output).
    const std::string_view t = *text;
    const size_t end = t.find_last_not_of("\n ");
    const size_t begin = end == std::string_view::npos ? 0 : t.rfind('\n', end);
    json = nlohmann::json::parse(t.substr(begin == std::string_view::npos ? 0 : begin + 1), nullptr,
                                 /*allow_exceptions=*/false);
  }
  return json.is_discarded() ? nlohmann::json() : json;
}

absl::Status Demo::StartServices() {
  const std::string bootstrap = Path("run/bootstrap");
  fs::remove(bootstrap);
  ASSIGN_OR_RETURN(Subprocess * broker,
                   Service("broker", {"broker", "--partitions", std::to_string(flags_.partitions),
                                      "--bootstrap-file", bootstrap}));
  RETURN_IF_ERROR(AwaitLine(*broker, "fraudstream broker:", seconds(30)).status());
  ASSIGN_OR_RETURN(const std::string address, ReadFile(bootstrap));
  brokers_ = std::string(address.substr(0, address.find_first_of("\r\n")));
  std::fprintf(stderr, "broker: %s (librdkafka's mock cluster, %d partitions a topic)\n",
               brokers_.c_str(), flags_.partitions);

  // The dashboard first: it watches from the start.
  DashboardOptions options{.brokers = brokers_, .history_points = 3600};
  ASSIGN_OR_RETURN(std::shared_ptr<LiveModel> model,
                   OpenLiveModel("fraud@Production", RegistryFlags{.uri = registry_}, 0));
  ASSIGN_OR_RETURN(dashboard_, LiveDashboard::Start(options, std::move(model)));
  ASSIGN_OR_RETURN(dashboard_server_,
                   MetricsServer::Start("127.0.0.1", flags_.dashboard_port, dashboard_metrics_,
                                        DashboardRoutes(*dashboard_)));
  results_.dashboard_url = fmt::format("http://127.0.0.1:{}/", dashboard_server_->port());
  std::fprintf(stderr, "dashboard: %s  <- open it now: it follows the run live\n",
               results_.dashboard_url.c_str());

  const std::vector<std::string> model_flags = {
      "--model", "fraud@Production", "--registry", registry_, "--warm-up", Path("run/history.txt")};
  std::vector<Subprocess*> workers;
  for (int w = 1; w <= 2; ++w) {
    std::vector<std::string> args = {"stream",         "--brokers", brokers_,
                                     "--metrics-port", "0",         "--json"};
    args.insert(args.end(), model_flags.begin(), model_flags.end());
    ASSIGN_OR_RETURN(Subprocess * worker, Service(fmt::format("stream-{}", w), args,
                                                  Path(fmt::format("stream-{}.json", w))));
    workers.push_back(worker);
  }
  std::vector<std::string> serve = {"serve", "--host", "127.0.0.1", "--port",
                                    std::to_string(flags_.serve_port)};
  serve.insert(serve.end(), model_flags.begin(), model_flags.end());
  ASSIGN_OR_RETURN(Subprocess * server, Service("serve", serve));
  ASSIGN_OR_RETURN(
      Subprocess * monitor,
      Service("monitor", {"monitor", "--brokers", brokers_, "--json"}, Path("monitor.jsonl")));
  (void)monitor;
  for (Subprocess* worker : workers) {
    ASSIGN_OR_RETURN(const std::string line,
                     AwaitLine(*worker, "fraudstream stream:", seconds(300)));
    std::fprintf(stderr, "%s: %s\n", worker->name().c_str(), line.c_str());
  }
  ASSIGN_OR_RETURN(const std::string ready,
                   AwaitLine(*server, "fraudstream serve: ready on", seconds(300)));
  std::fprintf(stderr, "serve: %s\n", ready.c_str());
  const size_t colon = ready.find(':', ready.find("ready on"));
  results_.serve_port = std::atoi(ready.c_str() + colon + 1);
  std::fprintf(stderr, "monitor: sampling the group's lag every second into %s\n",
               Path("monitor.jsonl").c_str());
  ASSIGN_OR_RETURN(lag_, LagMonitor::Create({.brokers = brokers_}));
  // A new group's first join takes ~3 s on the mock; traffic before that would only wait.
  return Sleep(milliseconds(4000));
}

absl::Status Demo::Replay() {
  Stage(6, fmt::format("replay {} to {}: a ramp of {} s steps at 50, 100, 200, 400 TPS",
                       split_.first_live_day, split_.last_day, sizes_.ramp_step_seconds));
  const int64_t ramp_start = WallMs();
  RETURN_IF_ERROR(Command(
      "replay", {"replay", Path("run/ramp.txt"), "--brokers", brokers_, "--ramp", "50,100,200,400",
                 "--step-seconds", fmt::format("{}", sizes_.ramp_step_seconds)}));
  results_.steps_ms.clear();
  for (size_t i = 0; i < std::size(kRamp); ++i) {
    const int64_t from = ramp_start + static_cast<int64_t>(i * sizes_.ramp_step_seconds * 1000);
    results_.steps_ms.push_back(
        {kRamp[i], from, from + static_cast<int64_t>(sizes_.ramp_step_seconds * 1000)});
  }
  RETURN_IF_ERROR(AwaitCaughtUp(seconds(60), nullptr).status());

  Stage(7, fmt::format("replay the other {} transactions as fast as the broker takes them",
                       split_.rest));
  // End to end: from the replay's start until the dashboard has read a prediction for every
  // row from the predictions topic (so each was consumed, scored, produced and acknowledged).
  const int64_t before = Predictions();
  const auto t0 = Clock::now();
  results_.max_start_ms = WallMs();
  RETURN_IF_ERROR(Command(
      "replay", {"replay", Path("run/rest.txt"), "--brokers", brokers_, "--rate", "max", "-q"}));
  while (Predictions() < before + split_.rest) {
    if (g_stop.load()) return Stopped();
    if (Clock::now() - t0 > seconds(300)) {
      return absl::DeadlineExceededError(
          fmt::format("{} predictions of {} after 300 s", Predictions() - before, split_.rest));
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  results_.max_end_ms = WallMs();
  results_.max_rows = split_.rest;
  results_.max_tps = split_.rest / std::chrono::duration<double>(Clock::now() - t0).count();
  // Offsets are committed every few seconds: the lag reaches 0 a little later.
  ASSIGN_OR_RETURN(const LagReport caught_up, AwaitCaughtUp(seconds(300), &results_.max_lag));
  std::fprintf(stderr,
               "scored all %lld: %.0f transactions per second end to end (sent, consumed, scored, "
               "prediction acknowledged and read back); highest lag %lld; lag now %lld\n",
               static_cast<long long>(split_.rest), results_.max_tps,
               static_cast<long long>(results_.max_lag), static_cast<long long>(caught_up.lag));
  return absl::OkStatus();
}

// POST /v1/predict, one transaction a request, the first rows of the live days, in order.
absl::Status Demo::Rest() {
  Stage(8, fmt::format("REST: {} transactions, one POST /v1/predict each, to the API on port {}",
                       sizes_.rest_requests, results_.serve_port));
  std::ifstream in(Path("run/live.txt"));
  httplib::Client client("127.0.0.1", results_.serve_port);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);  // else Nagle and the delayed ACK add 40 ms to each request
  std::vector<double> ms;
  std::string line, example;
  int flagged = 0;
  RowParser parser(Layout::Otus(false), kAbsent);
  while (static_cast<int>(ms.size()) < sizes_.rest_requests && std::getline(in, line)) {
    if (g_stop.load()) return Stopped();
    // The request is the transaction as a JSON line, without what a client would not know.
    Transaction tx;
    if (parser.Parse(line, &tx) != Fault::kNone) continue;
    tx.tx_time_seconds = tx.tx_time_days = kAbsent;
    tx.tx_fraud = tx.tx_fraud_scenario = kAbsentLabel;
    std::string body;
    AppendRow(Format::kJsonLines, tx, &body);
    body.pop_back();  // its newline
    const auto t = Clock::now();
    const httplib::Result r = client.Post("/v1/predict", body, "application/json");
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
    if (!r || r->status != 200) {
      return absl::InternalError(fmt::format("POST /v1/predict: {}", r ? r->body : "no answer"));
    }
    const nlohmann::json answer = nlohmann::json::parse(r->body, nullptr, false);
    if (answer.value("is_fraud", false)) {
      ++flagged;
      if (example.empty()) example = body + "\n  -> " + r->body;
    }
  }
  std::sort(ms.begin(), ms.end());
  results_.rest_requests = static_cast<int>(ms.size());
  results_.rest_flagged = flagged;
  results_.rest_p50_ms = ms.empty() ? 0 : ms[ms.size() / 2];
  results_.rest_p99_ms = ms.empty() ? 0 : ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  std::fprintf(stderr, "%d answered, %d flagged as fraud; latency p50 %.2f ms, p99 %.2f ms\n",
               results_.rest_requests, flagged, results_.rest_p50_ms, results_.rest_p99_ms);
  if (!example.empty()) std::fprintf(stderr, "a flagged one:\n  %s\n", example.c_str());
  return absl::OkStatus();
}

absl::Status Demo::Run() {
  fs::create_directories(Path("logs"));
  fs::create_directories(Path("run"));
  fs::remove_all(Path("registry"));
  fs::remove_all(Path("model"));
  fs::remove_all(Path("capacity"));
  registry_ = Path("registry/registry.db");
  std::fprintf(stderr,
               "fraudstream demo: the whole loop on embedded defaults, outputs in %s/ (logs of "
               "the services in %s/logs/)%s\n",
               flags_.out.c_str(), flags_.out.c_str(), flags_.quick ? " [--quick]" : "");

  Stage(1, "generate: a handbook-sized data set (Le Borgne et al.) with 0.1 % dirty rows");
  std::vector<std::string> generate = {"generate",
                                       "--format",
                                       "otus",
                                       "--dirty",
                                       "0.001",
                                       "--seed",
                                       std::to_string(flags_.seed),
                                       "--out",
                                       Path("transactions.txt")};
  generate.insert(generate.end(), sizes_.generate.begin(), sizes_.generate.end());
  RETURN_IF_ERROR(Command("generate", generate));

  Stage(2, "clean: the rules of DESIGN §1; rejected rows kept with their reason");
  RETURN_IF_ERROR(
      Command("clean", {"clean", Path("transactions.txt"), "--out", Path("transactions.clean.txt"),
                        "--quarantine", Path("rejected.tsv"), "--report", Path("quality.json")}));

  Stage(3, "train: features, the handbook split, XGBoost; registered as model 'fraud'");
  RETURN_IF_ERROR(
      Command("train", {"train", "--data", Path("transactions.clean.txt"), "--out", Path("model"),
                        "--registry", registry_, "--register", "fraud"}));

  Stage(4, "promote: fraud version 1 -> @Production through the validation gate");
  RETURN_IF_ERROR(Command(
      "promote", {"promote", "--registry", registry_, "--model", "fraud", "--challenger", "1"}));

  Stage(5, "start: embedded broker, dashboard, two stream workers, the REST API, the monitor");
  int64_t ramp_rows = 0;
  for (double rate : kRamp) ramp_rows += static_cast<int64_t>(rate * sizes_.ramp_step_seconds);
  ASSIGN_OR_RETURN(split_, SplitLive(Path("transactions.clean.txt"), 14, ramp_rows, Path("run")));
  std::fprintf(stderr, "history before %s: %lld transactions (the services' warm-up); live: %lld\n",
               split_.first_live_day.c_str(), static_cast<long long>(split_.history),
               static_cast<long long>(split_.ramp + split_.rest));
  RETURN_IF_ERROR(StartServices());

  RETURN_IF_ERROR(Replay());
  RETURN_IF_ERROR(Rest());

  Stage(9, "capacity: the rate where the two workers' lag starts to grow");
  std::vector<std::string> capacity = {"capacity",           "--brokers", brokers_,        "--data",
                                       Path("run/live.txt"), "--report",  Path("capacity")};
  capacity.insert(capacity.end(), sizes_.capacity.begin(), sizes_.capacity.end());
  RETURN_IF_ERROR(Command("capacity", capacity));
  RETURN_IF_ERROR(AwaitCaughtUp(seconds(300), nullptr).status());
  RETURN_IF_ERROR(Sleep(milliseconds(1500)));  // a last dashboard point with the lag at 0

  results_.dashboard = dashboard_->state().Snapshot(WallMs());
  if (flags_.hold) {
    std::fprintf(stderr,
                 "\n--hold: everything keeps running; the dashboard is at %s. Ctrl-C "
                 "stops it all.\n",
                 results_.dashboard_url.c_str());
    while (!g_stop.load()) std::this_thread::sleep_for(milliseconds(100));
    g_stop = false;  // a requested stop, not an interruption
  }
  std::fprintf(stderr, "\nstopping the services (workers flush, commit and print a summary)\n");
  StopServices();
  results_.quality = ReadJson("quality.json");
  results_.metrics = ReadJson("model/metrics.json");
  results_.capacity = ReadJson("capacity/summary.json");
  for (int w = 1; w <= 2; ++w)
    results_.workers.push_back(ReadJson(fmt::format("stream-{}.json", w)));
  results_.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  RETURN_IF_ERROR(WriteDemoReport(flags_.out, results_));
  std::fprintf(stderr, "\n%s", DemoSummary(flags_.out, results_).c_str());
  return absl::OkStatus();
}

void Demo::StopServices() {
  lag_.reset();
  // Services in reverse order of their start: the monitor, the API, the workers; then the
  // dashboard; the broker last, once nothing uses it.
  for (auto it = services_.rbegin(); it != services_.rend(); ++it) {
    if (it->name() == "broker" || it->Poll()) continue;
    const int code = it->Stop(seconds(30));
    if (code != 0) {
      std::fprintf(stderr, "%s exited with code %d (see %s)\n", it->name().c_str(), code,
                   Path("logs/" + it->name() + ".log").c_str());
    }
  }
  dashboard_server_.reset();
  dashboard_.reset();
  for (Subprocess& s : services_) s.Stop(seconds(10));
  services_.clear();
}

absl::Status RunDemo(const DemoFlags& flags) {
  InstallStopHandlers();
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (error) return absl::InternalError("cannot find this binary (/proc/self/exe)");
  Demo demo(flags, self.string());
  const absl::Status status = demo.Run();
  demo.StopServices();
  return g_stop.load() ? Stopped() : status;
}

}  // namespace

void AddDemoCommand(CLI::App& app, Action* action) {
  auto flags = std::make_shared<DemoFlags>();
  CLI::App* cmd = app.add_subcommand(
      "demo",
      "The whole loop on embedded defaults, in about 3 minutes on 2 cores: generate (with dirt), "
      "clean, train and register, promote to @Production, then the embedded broker, two stream "
      "workers, the REST API, the monitor and the live dashboard; two weeks replayed as a ramp "
      "(50, 100, 200, 400 TPS) and then at full speed; REST requests; a short capacity test; a "
      "summary and DIR/report/index.html. Ctrl-C stops every part.");
  cmd->add_option("--out", flags->out, "output directory")->capture_default_str();
  cmd->add_flag("--quick", flags->quick,
                "small data and short steps (about a minute; what the tests run)");
  cmd->add_flag("--hold", flags->hold,
                "keep the services and the dashboard running after the capacity test, until "
                "Ctrl-C");
  cmd->add_option("--dashboard-port", flags->dashboard_port, "the dashboard's port (0: any free)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--serve-port", flags->serve_port, "the REST API's port (0: any free)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--partitions", flags->partitions, "partitions per topic")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--seed", flags->seed, "the data's seed")->capture_default_str();
  cmd->callback([flags, action] { *action = [flags] { return RunDemo(*flags); }; });
}

}  // namespace fraud::cli
