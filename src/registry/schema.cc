#include "registry/schema.h"

#include <array>

#include "core/status.h"
#include "fmt/format.h"

namespace fraud {
namespace {

// Portable SQL (SQLite 3.40 and PostgreSQL 15 both run it). Times are milliseconds since the
// Unix epoch, as MLflow stores them. Migration N takes the schema from version N-1 to N.
constexpr std::array<const char*, kSchemaVersion> kMigrations = {
    R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE experiments (
  experiment_id BIGINT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  artifact_location TEXT NOT NULL,
  creation_time BIGINT NOT NULL);
CREATE TABLE runs (
  run_id TEXT PRIMARY KEY,
  experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  start_time BIGINT NOT NULL,
  end_time BIGINT,
  artifact_uri TEXT NOT NULL);
CREATE INDEX runs_by_experiment ON runs (experiment_id, start_time);
CREATE TABLE params (
  run_id TEXT NOT NULL REFERENCES runs (run_id),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (run_id, key));
CREATE TABLE tags (
  run_id TEXT NOT NULL REFERENCES runs (run_id),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (run_id, key));
CREATE TABLE metrics (
  run_id TEXT NOT NULL REFERENCES runs (run_id),
  key TEXT NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  step BIGINT NOT NULL,
  timestamp BIGINT NOT NULL);
CREATE INDEX metrics_by_run ON metrics (run_id, key, step);
CREATE TABLE registered_models (
  name TEXT PRIMARY KEY,
  creation_time BIGINT NOT NULL,
  last_updated_time BIGINT NOT NULL,
  description TEXT NOT NULL);
CREATE TABLE model_versions (
  name TEXT NOT NULL REFERENCES registered_models (name),
  version BIGINT NOT NULL,
  creation_time BIGINT NOT NULL,
  run_id TEXT,
  source TEXT NOT NULL,
  storage_location TEXT NOT NULL,
  status TEXT NOT NULL,
  PRIMARY KEY (name, version));
CREATE TABLE model_aliases (
  name TEXT NOT NULL,
  alias TEXT NOT NULL,
  version BIGINT NOT NULL,
  PRIMARY KEY (name, alias),
  FOREIGN KEY (name, version) REFERENCES model_versions (name, version));
CREATE TABLE data_files (
  fingerprint TEXT PRIMARY KEY,
  path TEXT NOT NULL,
  run_id TEXT NOT NULL,
  creation_time BIGINT NOT NULL);
INSERT INTO schema_version (version) VALUES (0);
)sql",
};

absl::StatusOr<bool> HasSchemaTable(Sql& sql, std::string_view backend) {
  const char* query =
      backend == "sqlite"
          ? "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
          : "SELECT 1 FROM information_schema.tables WHERE table_name = 'schema_version' "
            "AND table_schema = current_schema()";
  ASSIGN_OR_RETURN(const std::vector<SqlRow> rows, sql.Query(query, {}));
  return !rows.empty();
}

absl::StatusOr<int> VersionIn(Sql& sql, std::string_view backend) {
  ASSIGN_OR_RETURN(const bool exists, HasSchemaTable(sql, backend));
  if (!exists) return 0;
  ASSIGN_OR_RETURN(const std::vector<SqlRow> rows,
                   sql.Query("SELECT MAX(version) FROM schema_version", {}));
  return rows.empty() ? 0 : static_cast<int>(rows[0].Int(0));
}

absl::Status CheckNotNewer(int version) {
  if (version <= kSchemaVersion) return absl::OkStatus();
  return absl::FailedPreconditionError(fmt::format(
      "the registry database has schema version {}, newer than this fraudstream knows ({}): "
      "upgrade fraudstream; nothing was changed",
      version, kSchemaVersion));
}

}  // namespace

absl::StatusOr<int> SchemaVersionOf(Database& db) {
  int version = 0;
  RETURN_IF_ERROR(db.Read([&](Sql& sql) -> absl::Status {
    ASSIGN_OR_RETURN(version, VersionIn(sql, db.backend()));
    return absl::OkStatus();
  }));
  return version;
}

absl::Status Migrate(Database& db) {
  ASSIGN_OR_RETURN(const int found, SchemaVersionOf(db));
  RETURN_IF_ERROR(CheckNotNewer(found));
  if (found == kSchemaVersion) return absl::OkStatus();
  // Another process may be migrating too: each step re-reads the version under the writer
  // lock and applies only what is still missing.
  for (int target = found + 1; target <= kSchemaVersion; ++target) {
    RETURN_IF_ERROR(db.Write([&](Sql& sql) -> absl::Status {
      ASSIGN_OR_RETURN(const int current, VersionIn(sql, db.backend()));
      RETURN_IF_ERROR(CheckNotNewer(current));
      if (current >= target) return absl::OkStatus();
      RETURN_IF_ERROR(sql.ExecScript(kMigrations[target - 1]));
      return sql.Exec("UPDATE schema_version SET version = ?", {int64_t{target}});
    }));
  }
  return absl::OkStatus();
}

}  // namespace fraud
