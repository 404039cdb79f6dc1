#include "registry/database.h"

#include <cstdlib>

#include "registry/postgres_database.h"
#include "registry/sqlite_database.h"

namespace fraud {

const std::string& SqlRow::Text(size_t i) const {
  static const std::string kEmpty;
  const auto& column = columns.at(i);
  return column ? *column : kEmpty;
}

int64_t SqlRow::Int(size_t i) const {
  const auto& column = columns.at(i);
  return column ? std::strtoll(column->c_str(), nullptr, 10) : 0;
}

double SqlRow::Double(size_t i) const {
  const auto& column = columns.at(i);
  return column ? std::strtod(column->c_str(), nullptr) : 0.0;
}

absl::Status Database::InTransaction(const std::string& begin, const Body& body) {
  if (absl::Status status = ExecScript(begin); !status.ok()) return status;
  absl::Status status = body(*this);
  if (status.ok()) status = ExecScript("COMMIT");
  if (!status.ok()) (void)ExecScript("ROLLBACK");
  return status;
}

bool IsPostgresUri(std::string_view uri) {
  return uri.starts_with("postgresql://") || uri.starts_with("postgres://");
}

std::optional<std::string> SqlitePathOf(const std::string& uri) {
  if (IsPostgresUri(uri)) return std::nullopt;
  constexpr std::string_view kScheme = "sqlite://";
  // sqlite:///abs/path (three slashes: absolute), sqlite://rel/path, or a plain path.
  if (uri.starts_with(kScheme)) return uri.substr(kScheme.size());
  return uri;
}

absl::StatusOr<std::unique_ptr<Database>> OpenDatabase(const std::string& uri) {
  if (IsPostgresUri(uri)) return OpenPostgresDatabase(uri);
  const std::string path = *SqlitePathOf(uri);
  if (path.empty()) return absl::InvalidArgumentError("the registry URI names no file: " + uri);
  if (path.find("://") != std::string::npos) {
    return absl::InvalidArgumentError(
        "unsupported registry URI '" + uri +
        "': use a file path, sqlite:///path/to/registry.db or postgresql://user@host/db");
  }
  return OpenSqliteDatabase(path);
}

}  // namespace fraud
