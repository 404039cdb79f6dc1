#include "registry/sqlite_database.h"

#include <sqlite3.h>

#include <filesystem>

#include "core/status.h"
#include "fmt/format.h"

namespace fraud {
namespace {

constexpr int kBusyTimeoutMs = 60'000;

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct FinalizeStmt {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using DbHandle = std::unique_ptr<sqlite3, CloseDb>;
using StmtHandle = std::unique_ptr<sqlite3_stmt, FinalizeStmt>;

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(DbHandle db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}

  absl::Status ExecScript(std::string_view script) override {
    char* message = nullptr;
    const int rc = sqlite3_exec(db_.get(), std::string(script).c_str(), nullptr, nullptr, &message);
    if (rc == SQLITE_OK) return absl::OkStatus();
    const std::string text = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    return Error(rc, text);
  }

  std::string_view backend() const override { return "sqlite"; }

 protected:
  std::string BeginWrite() const override { return "BEGIN IMMEDIATE"; }
  std::string BeginRead() const override { return "BEGIN DEFERRED"; }

 private:

  absl::Status Error(int rc, std::string_view what) const {
    const std::string message = fmt::format("registry database {}: {}", path_, what);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_CANTOPEN || rc == SQLITE_IOERR ||
        rc == SQLITE_READONLY || rc == SQLITE_FULL) {
      return absl::UnavailableError(message);
    }
    if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) return absl::DataLossError(message);
    if (rc == SQLITE_CONSTRAINT) return absl::AlreadyExistsError(message);
    return absl::InternalError(message);
  }

  absl::Status Run(std::string_view statement, const std::vector<SqlParam>& params,
                   std::vector<SqlRow>* rows) override {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db_.get(), statement.data(), static_cast<int>(statement.size()),
                                &raw, nullptr);
    StmtHandle stmt(raw);
    if (rc != SQLITE_OK) {
      return Error(rc, fmt::format("{} in: {}", sqlite3_errmsg(db_.get()), statement));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      const SqlParam& p = params[i];
      if (std::holds_alternative<std::nullptr_t>(p)) {
        rc = sqlite3_bind_null(stmt.get(), index);
      } else if (const auto* v = std::get_if<int64_t>(&p)) {
        rc = sqlite3_bind_int64(stmt.get(), index, *v);
      } else if (const auto* d = std::get_if<double>(&p)) {
        rc = sqlite3_bind_double(stmt.get(), index, *d);
      } else {
        const std::string& s = std::get<std::string>(p);
        rc = sqlite3_bind_text(stmt.get(), index, s.data(), static_cast<int>(s.size()),
                               SQLITE_TRANSIENT);
      }
      if (rc != SQLITE_OK) return Error(rc, sqlite3_errmsg(db_.get()));
    }
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      if (rows == nullptr) continue;
      SqlRow row;
      const int cols = sqlite3_column_count(stmt.get());
      for (int c = 0; c < cols; ++c) {
        switch (sqlite3_column_type(stmt.get(), c)) {
          case SQLITE_NULL:
            row.columns.emplace_back();
            break;
          case SQLITE_FLOAT:  // shortest text that reads back as the same double
            row.columns.emplace_back(fmt::format("{}", sqlite3_column_double(stmt.get(), c)));
            break;
          default: {
            const auto* text =
                reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), c));
            row.columns.emplace_back(
                std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt.get(), c))));
          }
        }
      }
      rows->push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) {
      return Error(rc, fmt::format("{} in: {}", sqlite3_errmsg(db_.get()), statement));
    }
    return absl::OkStatus();
  }

  DbHandle db_;
  std::string path_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Database>> OpenSqliteDatabase(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return absl::UnavailableError(
          fmt::format("cannot create the registry directory {}: {}", parent.string(), ec.message()));
    }
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  DbHandle db(raw);
  if (rc != SQLITE_OK) {
    return absl::UnavailableError(fmt::format("cannot open the registry database {}: {}", path,
                                              db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  auto database = std::make_unique<SqliteDatabase>(std::move(db), path);
  // WAL: readers see the last commit while a writer works; NORMAL sync is durable in WAL mode
  // up to the last checkpointed commit and never corrupts.
  RETURN_IF_ERROR(database->ExecScript(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
  return std::unique_ptr<Database>(std::move(database));
}

}  // namespace fraud
