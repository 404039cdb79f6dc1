#pragma once

// The SQL store under tracking and the registry: one small interface, two drivers (SQLite
// for the embedded default, PostgreSQL for many nodes). Tracking and registry logic is
// written once, in portable SQL, against this interface, so both backends have the same
// semantics and run the same tests.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Database> db, OpenDatabase("sqlite:///tmp/r.db"));
//   RETURN_IF_ERROR(db->Write([&](Sql& sql) -> absl::Status {
//     RETURN_IF_ERROR(sql.Exec("INSERT INTO tags VALUES (?, ?)", {"k", "v"}));
//     return absl::OkStatus();
//   }));
//
// Statements use `?` placeholders (the PostgreSQL driver numbers them). Write() runs its
// function in a transaction that is serialised with every other writer of the same store, in
// any process (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock), and
// commits only when the function returns OK; otherwise it rolls back and nothing is changed.
// Read() runs in a read-only snapshot: it sees whole committed transactions, never a part of
// one. A Database object is one connection: not thread-safe; open one per thread or process.
//
// Errors: kUnavailable when the database cannot be reached or opened, kInternal for an SQL
// error of ours, and whatever the function passed to Write()/Read() returns.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace fraud {

// A bound parameter: NULL, integer, double or text.
using SqlParam = std::variant<std::nullptr_t, int64_t, double, std::string>;

// One result row: every column as text (NULL as nullopt). Doubles are written so that they
// read back exactly.
struct SqlRow {
  std::vector<std::optional<std::string>> columns;

  bool IsNull(size_t i) const { return !columns.at(i).has_value(); }
  const std::string& Text(size_t i) const;  // "" for NULL
  int64_t Int(size_t i) const;              // 0 for NULL
  double Double(size_t i) const;            // 0 for NULL
};

class Sql {
 public:
  virtual ~Sql() = default;
  absl::Status Exec(std::string_view statement, const std::vector<SqlParam>& params) {
    return Run(statement, params, nullptr);
  }
  absl::StatusOr<std::vector<SqlRow>> Query(std::string_view statement,
                                            const std::vector<SqlParam>& params) {
    std::vector<SqlRow> rows;
    if (absl::Status status = Run(statement, params, &rows); !status.ok()) return status;
    return rows;
  }
  // Runs a script of several statements without parameters (schema migrations).
  virtual absl::Status ExecScript(std::string_view script) = 0;

 protected:
  // One statement; its result rows go to *rows unless that is null.
  virtual absl::Status Run(std::string_view statement, const std::vector<SqlParam>& params,
                           std::vector<SqlRow>* rows) = 0;
};

class Database : public Sql {
 public:
  using Body = std::function<absl::Status(Sql&)>;

  absl::Status Write(const Body& body) { return InTransaction(BeginWrite(), body); }
  absl::Status Read(const Body& body) { return InTransaction(BeginRead(), body); }
  // "sqlite" or "postgresql".
  virtual std::string_view backend() const = 0;

 protected:
  // The statements that open a serialised write transaction and a read snapshot.
  virtual std::string BeginWrite() const = 0;
  virtual std::string BeginRead() const = 0;

 private:
  absl::Status InTransaction(const std::string& begin, const Body& body);
};

// "sqlite:///abs/path.db", "sqlite://relative.db", a plain path (SQLite), or
// "postgresql://user@host:port/db?..." / "postgres://..." (PostgreSQL).
absl::StatusOr<std::unique_ptr<Database>> OpenDatabase(const std::string& uri);

// The SQLite file of a sqlite URI or path; nullopt for PostgreSQL.
std::optional<std::string> SqlitePathOf(const std::string& uri);

bool IsPostgresUri(std::string_view uri);

}  // namespace fraud
