// fraudstream runs list [--experiment NAME] [--limit N] [--json]
// fraudstream runs show RUN_ID [--json]
// fraudstream runs compare RUN_ID RUN_ID... [--json]

#include <cstdio>
#include <memory>
#include <set>

#include "cli/commands.h"
#include "cli/registry_common.h"
#include "core/status.h"
#include "fmt/format.h"
#include "registry/tracking.h"

namespace fraud::cli {
namespace {

struct RunsFlags {
  RegistryFlags registry;
  std::string experiment;
  int limit = 50;
  std::vector<std::string> run_ids;
  bool json = false;
};

std::string Duration(const RunInfo& info) {
  if (!info.end_time) return "-";
  return fmt::format("{:.1f}s", (*info.end_time - info.start_time) / 1000.0);
}

absl::Status RunList(const RunsFlags& flags) {
  ASSIGN_OR_RETURN(auto store, flags.registry.Open());
  ASSIGN_OR_RETURN(const std::vector<Run> runs,
                   Tracking(*store).ListRuns(flags.experiment, flags.limit));
  if (flags.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const Run& run : runs) out.push_back(run.ToJson());
    std::puts(out.dump(2).c_str());
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows;
  for (const Run& run : runs) {
    const auto decision = run.tags.find("decision");
    rows.push_back({run.info.run_id, run.info.experiment_name, run.info.name, run.info.status,
                    FormatMillis(run.info.start_time), Duration(run.info),
                    FormatMetric(run.metrics, "test_roc_auc"),
                    decision == run.tags.end() ? "-" : decision->second});
  }
  std::fputs(Table({"RUN_ID", "EXPERIMENT", "NAME", "STATUS", "START", "DURATION",
                    "TEST_ROC_AUC", "DECISION"},
                   rows)
                 .c_str(),
             stdout);
  if (runs.empty()) std::puts("(no runs)");
  return absl::OkStatus();
}

absl::Status RunShow(const RunsFlags& flags) {
  ASSIGN_OR_RETURN(auto store, flags.registry.Open());
  ASSIGN_OR_RETURN(const Run run, Tracking(*store).GetRun(flags.run_ids.at(0)));
  if (flags.json) {
    std::puts(run.ToJson().dump(2).c_str());
    return absl::OkStatus();
  }
  std::printf("run %s (%s) in experiment %s\n", run.info.run_id.c_str(), run.info.name.c_str(),
              run.info.experiment_name.c_str());
  std::printf("  status %s, started %s, duration %s\n", run.info.status.c_str(),
              FormatMillis(run.info.start_time).c_str(), Duration(run.info).c_str());
  std::printf("  artifacts %s\n", run.info.artifact_uri.c_str());
  std::map<std::string, int> steps;
  for (const Metric& m : run.metric_history) ++steps[m.key];
  const auto section = [](const char* title, const std::vector<std::vector<std::string>>& rows,
                          const std::vector<std::string>& header) {
    std::printf("%s\n", title);
    if (rows.empty()) {
      std::puts("  (none)");
      return;
    }
    std::string table = Table(header, rows);
    size_t pos = 0;
    while (pos < table.size()) {
      const size_t end = table.find('\n', pos);
      std::printf("  %s\n", table.substr(pos, end - pos).c_str());
      pos = end + 1;
    }
  };
  std::vector<std::vector<std::string>> rows;
  for (const auto& [key, value] : run.params) rows.push_back({key, value});
  section("params", rows, {"KEY", "VALUE"});
  rows.clear();
  for (const auto& [key, value] : run.metrics) {
    rows.push_back({key, fmt::format("{}", value), std::to_string(steps[key])});
  }
  section("metrics (latest value)", rows, {"KEY", "VALUE", "VALUES_LOGGED"});
  rows.clear();
  for (const auto& [key, value] : run.tags) rows.push_back({key, value});
  section("tags", rows, {"KEY", "VALUE"});
  return absl::OkStatus();
}

absl::Status RunCompare(const RunsFlags& flags) {
  ASSIGN_OR_RETURN(auto store, flags.registry.Open());
  Tracking tracking(*store);
  std::vector<Run> runs;
  for (const std::string& id : flags.run_ids) {
    ASSIGN_OR_RETURN(Run run, tracking.GetRun(id));
    runs.push_back(std::move(run));
  }
  std::set<std::string> param_keys, metric_keys;
  for (const Run& run : runs) {
    for (const auto& [key, value] : run.params) param_keys.insert(key);
    for (const auto& [key, value] : run.metrics) metric_keys.insert(key);
  }
  if (flags.json) {
    nlohmann::ordered_json out;
    out["runs"] = nlohmann::ordered_json::array();
    for (const Run& run : runs) out["runs"].push_back(run.info.run_id);
    for (const std::string& key : param_keys) {
      for (const Run& run : runs) {
        const auto it = run.params.find(key);
        out["params"][key][run.info.run_id] =
            it == run.params.end() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(it->second);
      }
    }
    for (const std::string& key : metric_keys) {
      for (const Run& run : runs) {
        const auto it = run.metrics.find(key);
        out["metrics"][key][run.info.run_id] =
            it == run.metrics.end() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(it->second);
      }
    }
    std::puts(out.dump(2).c_str());
    return absl::OkStatus();
  }
  std::vector<std::string> header = {"KEY"};
  for (const Run& run : runs) header.push_back(run.info.run_id.substr(0, 12));
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"name"});
  rows.push_back({"status"});
  for (const Run& run : runs) {
    rows[0].push_back(run.info.name);
    rows[1].push_back(run.info.status);
  }
  for (const std::string& key : param_keys) {
    std::vector<std::string> row = {"param " + key};
    for (const Run& run : runs) {
      const auto it = run.params.find(key);
      row.push_back(it == run.params.end() ? "-" : it->second);
    }
    rows.push_back(std::move(row));
  }
  for (const std::string& key : metric_keys) {
    std::vector<std::string> row = {"metric " + key};
    for (const Run& run : runs) row.push_back(FormatMetric(run.metrics, key));
    rows.push_back(std::move(row));
  }
  std::fputs(Table(header, rows).c_str(), stdout);
  return absl::OkStatus();
}

}  // namespace

void AddRunsCommand(CLI::App& app, Action* action) {
  auto flags = std::make_shared<RunsFlags>();
  CLI::App* cmd = app.add_subcommand(
      "runs", "Tracked runs (MLflow semantics): list, show one, compare several.");
  cmd->require_subcommand(1);
  CLI::App* list = cmd->add_subcommand("list", "List runs, newest first.");
  flags->registry.AddTo(list);
  list->add_option("--experiment", flags->experiment, "only this experiment");
  list->add_option("--limit", flags->limit, "at most this many runs (0: all)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  list->add_flag("--json", flags->json, "print JSON");
  list->callback([flags, action] { *action = [flags] { return RunList(*flags); }; });

  CLI::App* show = cmd->add_subcommand("show", "Show a run: params, metrics, tags, artifacts.");
  flags->registry.AddTo(show);
  show->add_option("run_id", flags->run_ids, "run id (or a unique prefix)")->required()->expected(1);
  show->add_flag("--json", flags->json, "print JSON (with the full metric history)");
  show->callback([flags, action] { *action = [flags] { return RunShow(*flags); }; });

  CLI::App* compare = cmd->add_subcommand("compare", "Params and metrics of runs side by side.");
  flags->registry.AddTo(compare);
  compare->add_option("run_ids", flags->run_ids, "two or more run ids (or unique prefixes)")
      ->required()
      ->expected(2, 1000);
  compare->add_flag("--json", flags->json, "print JSON");
  compare->callback([flags, action] { *action = [flags] { return RunCompare(*flags); }; });
}

}  // namespace fraud::cli
