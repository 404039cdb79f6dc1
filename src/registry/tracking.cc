#include "registry/tracking.h"

#include <algorithm>
#include <cmath>

#include "core/status.h"
#include "fmt/format.h"

namespace fraud {
namespace {

constexpr char kRunColumns[] =
    "SELECT r.run_id, r.experiment_id, e.name, r.name, r.status, r.start_time, r.end_time, "
    "r.artifact_uri FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id ";

RunInfo InfoOfRow(const SqlRow& row) {
  RunInfo info;
  info.run_id = row.Text(0);
  info.experiment_id = row.Int(1);
  info.experiment_name = row.Text(2);
  info.name = row.Text(3);
  info.status = row.Text(4);
  info.start_time = row.Int(5);
  if (!row.IsNull(6)) info.end_time = row.Int(6);
  info.artifact_uri = row.Text(7);
  return info;
}

absl::StatusOr<Experiment> FindExperiment(Sql& sql, const std::string& name) {
  ASSIGN_OR_RETURN(const std::vector<SqlRow> rows,
                   sql.Query("SELECT experiment_id, name, artifact_location, creation_time "
                             "FROM experiments WHERE name = ?",
                             {name}));
  if (rows.empty()) return absl::NotFoundError(fmt::format("no experiment named '{}'", name));
  return Experiment{.experiment_id = rows[0].Int(0),
                    .name = rows[0].Text(1),
                    .artifact_location = rows[0].Text(2),
                    .creation_time = rows[0].Int(3)};
}

// Params, tags and metrics of a run whose info is known.
absl::StatusOr<Run> LoadRun(Sql& sql, RunInfo info) {
  Run run;
  run.info = std::move(info);
  const std::string& id = run.info.run_id;
  ASSIGN_OR_RETURN(auto params, sql.Query("SELECT key, value FROM params WHERE run_id = ?", {id}));
  for (const SqlRow& row : params) run.params[row.Text(0)] = row.Text(1);
  ASSIGN_OR_RETURN(auto tags, sql.Query("SELECT key, value FROM tags WHERE run_id = ?", {id}));
  for (const SqlRow& row : tags) run.tags[row.Text(0)] = row.Text(1);
  ASSIGN_OR_RETURN(auto metrics,
                   sql.Query("SELECT key, value, step, timestamp FROM metrics WHERE run_id = ? "
                             "ORDER BY key, step, timestamp",
                             {id}));
  for (const SqlRow& row : metrics) {
    run.metric_history.push_back(
        {.key = row.Text(0), .value = row.Double(1), .step = row.Int(2), .timestamp = row.Int(3)});
    run.metrics[row.Text(0)] = row.Double(1);  // ordered: the last one is the latest
  }
  return run;
}

}  // namespace

std::string_view RunStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning:
      return "RUNNING";
    case RunStatus::kFinished:
      return "FINISHED";
    case RunStatus::kFailed:
      return "FAILED";
    case RunStatus::kKilled:
      return "KILLED";
  }
  return "UNKNOWN";
}

nlohmann::ordered_json Run::ToJson() const {
  nlohmann::ordered_json out;
  out["run_id"] = info.run_id;
  out["run_name"] = info.name;
  out["experiment_id"] = info.experiment_id;
  out["experiment_name"] = info.experiment_name;
  out["status"] = info.status;
  out["start_time"] = info.start_time;
  out["start"] = FormatMillis(info.start_time);
  out["end_time"] = info.end_time ? nlohmann::ordered_json(*info.end_time) : nullptr;
  out["artifact_uri"] = info.artifact_uri;
  out["params"] = params;
  out["metrics"] = metrics;
  out["tags"] = tags;
  nlohmann::ordered_json history = nlohmann::ordered_json::array();
  for (const Metric& m : metric_history) {
    history.push_back(
        {{"key", m.key}, {"value", m.value}, {"step", m.step}, {"timestamp", m.timestamp}});
  }
  out["metric_history"] = history;
  return out;
}

absl::StatusOr<Experiment> Tracking::GetOrCreateExperiment(const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError("an experiment needs a name");
  Experiment experiment;
  RETURN_IF_ERROR(store_.db().Write([&](Sql& sql) -> absl::Status {
    auto found = FindExperiment(sql, name);
    if (found.ok()) {
      experiment = *found;
      return absl::OkStatus();
    }
    if (!absl::IsNotFound(found.status())) return found.status();
    ASSIGN_OR_RETURN(auto rows,
                     sql.Query("SELECT COALESCE(MAX(experiment_id), -1) + 1 FROM experiments", {}));
    experiment.experiment_id = rows.at(0).Int(0);
    experiment.name = name;
    experiment.artifact_location =
        ArtifactUriOf(fmt::format("{}/{}", store_.artifact_root(), experiment.experiment_id));
    experiment.creation_time = Store::NowMillis();
    return sql.Exec(
        "INSERT INTO experiments (experiment_id, name, artifact_location, creation_time) "
        "VALUES (?, ?, ?, ?)",
        {experiment.experiment_id, name, experiment.artifact_location, experiment.creation_time});
  }));
  return experiment;
}

absl::StatusOr<std::vector<Experiment>> Tracking::ListExperiments() {
  std::vector<Experiment> out;
  RETURN_IF_ERROR(store_.db().Read([&](Sql& sql) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows, sql.Query("SELECT experiment_id, name, artifact_location, "
                                          "creation_time FROM experiments ORDER BY experiment_id",
                                          {}));
    for (const SqlRow& row : rows) {
      out.push_back({row.Int(0), row.Text(1), row.Text(2), row.Int(3)});
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<RunInfo> Tracking::CreateRun(const std::string& experiment,
                                            const std::string& run_name,
                                            const std::map<std::string, std::string>& tags) {
  ASSIGN_OR_RETURN(const Experiment exp, GetOrCreateExperiment(experiment));
  RunInfo info;
  info.run_id = Store::NewId();
  info.experiment_id = exp.experiment_id;
  info.experiment_name = exp.name;
  info.name = run_name.empty() ? info.run_id.substr(0, 8) : run_name;
  info.status = std::string(RunStatusName(RunStatus::kRunning));
  info.start_time = Store::NowMillis();
  info.artifact_uri = fmt::format("{}/{}/artifacts", exp.artifact_location, info.run_id);
  RETURN_IF_ERROR(store_.db().Write([&](Sql& sql) -> absl::Status {
    RETURN_IF_ERROR(sql.Exec(
        "INSERT INTO runs (run_id, experiment_id, name, status, start_time, end_time, "
        "artifact_uri) VALUES (?, ?, ?, ?, ?, NULL, ?)",
        {info.run_id, info.experiment_id, info.name, info.status, info.start_time,
         info.artifact_uri}));
    for (const auto& [key, value] : tags) {
      RETURN_IF_ERROR(
          sql.Exec("INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)", {info.run_id, key, value}));
    }
    return absl::OkStatus();
  }));
  return info;
}

absl::StatusOr<RunInfo> Tracking::Info(Sql& sql, const std::string& run_id) {
  const bool hex = run_id.size() >= 4 && std::all_of(run_id.begin(), run_id.end(), [](char c) {
                     return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                   });
  if (!hex) {
    return absl::NotFoundError(fmt::format(
        "no run '{}': a run id is 32 hex digits (a unique prefix of 4 or more will do)", run_id));
  }
  ASSIGN_OR_RETURN(const std::vector<SqlRow> rows,
                   sql.Query(std::string(kRunColumns) + "WHERE r.run_id LIKE ? LIMIT 2",
                             {run_id + "%"}));
  if (rows.empty()) {
    return absl::NotFoundError(
        fmt::format("no run '{}' (see 'fraudstream runs list')", run_id));
  }
  if (rows.size() > 1) {
    return absl::NotFoundError(
        fmt::format("run id prefix '{}' is ambiguous: give more digits", run_id));
  }
  return InfoOfRow(rows[0]);
}

absl::Status Tracking::LogParams(const std::string& run_id,
                                 const std::map<std::string, std::string>& params) {
  return store_.db().Write([&](Sql& sql) -> absl::Status {
    ASSIGN_OR_RETURN(const RunInfo info, Info(sql, run_id));
    for (const auto& [key, value] : params) {
      ASSIGN_OR_RETURN(auto rows, sql.Query("SELECT value FROM params WHERE run_id = ? AND key = ?",
                                            {info.run_id, key}));
      if (!rows.empty()) {
        if (rows[0].Text(0) == value) continue;
        return absl::InvalidArgumentError(fmt::format(
            "param '{}' of run {} is already '{}'; params are write-once (log a new run)", key,
            info.run_id, rows[0].Text(0)));
      }
      RETURN_IF_ERROR(sql.Exec("INSERT INTO params (run_id, key, value) VALUES (?, ?, ?)",
                               {info.run_id, key, value}));
    }
    return absl::OkStatus();
  });
}

absl::Status Tracking::LogMetrics(const std::string& run_id, const std::vector<Metric>& metrics) {
  const int64_t now = Store::NowMillis();
  for (const Metric& m : metrics) {
    if (!std::isfinite(m.value)) {
      return absl::InvalidArgumentError(
          fmt::format("metric '{}' is not a finite number ({})", m.key, m.value));
    }
  }
  return store_.db().Write([&](Sql& sql) -> absl::Status {
    ASSIGN_OR_RETURN(const RunInfo info, Info(sql, run_id));
    for (const Metric& m : metrics) {
      RETURN_IF_ERROR(sql.Exec(
          "INSERT INTO metrics (run_id, key, value, step, timestamp) VALUES (?, ?, ?, ?, ?)",
          {info.run_id, m.key, m.value, m.step, m.timestamp != 0 ? m.timestamp : now}));
    }
    return absl::OkStatus();
  });
}

absl::Status Tracking::SetTags(const std::string& run_id,
                               const std::map<std::string, std::string>& tags) {
  return store_.db().Write([&](Sql& sql) -> absl::Status {
    ASSIGN_OR_RETURN(const RunInfo info, Info(sql, run_id));
    for (const auto& [key, value] : tags) {
      RETURN_IF_ERROR(
          sql.Exec("DELETE FROM tags WHERE run_id = ? AND key = ?", {info.run_id, key}));
      RETURN_IF_ERROR(sql.Exec("INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)",
                               {info.run_id, key, value}));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::string> Tracking::LogArtifactDir(const std::string& run_id,
                                                     const std::string& dir,
                                                     const std::string& artifact_path) {
  RunInfo info;
  RETURN_IF_ERROR(store_.db().Read([&](Sql& sql) -> absl::Status {
    ASSIGN_OR_RETURN(info, Info(sql, run_id));
    return absl::OkStatus();
  }));
  ASSIGN_OR_RETURN(const std::string root, PathOfArtifactUri(info.artifact_uri));
  const std::string target = root + "/" + artifact_path;
  RETURN_IF_ERROR(CopyDirectoryAtomically(dir, target));
  return target;
}

absl::Status Tracking::EndRun(const std::string& run_id, RunStatus status) {
  return store_.db().Write([&](Sql& sql) -> absl::Status {
    ASSIGN_OR_RETURN(const RunInfo info, Info(sql, run_id));
    return sql.Exec("UPDATE runs SET status = ?, end_time = ? WHERE run_id = ?",
                    {std::string(RunStatusName(status)), Store::NowMillis(), info.run_id});
  });
}

absl::StatusOr<Run> Tracking::GetRun(const std::string& run_id) {
  Run run;
  RETURN_IF_ERROR(store_.db().Read([&](Sql& sql) -> absl::Status {
    ASSIGN_OR_RETURN(RunInfo info, Info(sql, run_id));
    ASSIGN_OR_RETURN(run, LoadRun(sql, std::move(info)));
    return absl::OkStatus();
  }));
  return run;
}

absl::StatusOr<std::vector<Run>> Tracking::ListRuns(const std::string& experiment, int limit) {
  std::vector<Run> runs;
  RETURN_IF_ERROR(store_.db().Read([&](Sql& sql) -> absl::Status {
    std::string query = kRunColumns;
    std::vector<SqlParam> params;
    if (!experiment.empty()) {
      RETURN_IF_ERROR(FindExperiment(sql, experiment).status());
      query += "WHERE e.name = ? ";
      params.emplace_back(experiment);
    }
    query += "ORDER BY r.start_time DESC, r.run_id";
    if (limit > 0) query += fmt::format(" LIMIT {}", limit);
    ASSIGN_OR_RETURN(const std::vector<SqlRow> rows, sql.Query(query, params));
    for (const SqlRow& row : rows) {
      ASSIGN_OR_RETURN(Run run, LoadRun(sql, InfoOfRow(row)));
      runs.push_back(std::move(run));
    }
    return absl::OkStatus();
  }));
  return runs;
}

}  // namespace fraud
