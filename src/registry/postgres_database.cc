#include "registry/postgres_database.h"

#include <libpq-fe.h>

#include "core/status.h"
#include "fmt/format.h"

namespace fraud {
namespace {

// Every writer of a fraudstream registry takes this lock first (any 64-bit constant works; this
// one spells "fraudreg").
constexpr int64_t kWriterLock = 0x6672617564726567;

struct FinishConn {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct ClearResult {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ConnHandle = std::unique_ptr<PGconn, FinishConn>;
using ResultHandle = std::unique_ptr<PGresult, ClearResult>;

// The URI without its password, for messages.
std::string Redacted(const std::string& uri) {
  const size_t scheme = uri.find("://");
  const size_t at = uri.find('@');
  if (scheme == std::string::npos || at == std::string::npos) return uri;
  const size_t colon = uri.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return uri;
  return uri.substr(0, colon) + ":***" + uri.substr(at);
}

// libpq's last error as one line.
std::string ConnError(PGconn* conn) {
  std::string message = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  for (char& c : message) {
    if (c == '\n') c = ' ';
  }
  return message;
}

class PostgresDatabase final : public Database {
 public:
  PostgresDatabase(ConnHandle conn, std::string uri)
      : conn_(std::move(conn)), uri_(std::move(uri)) {}

  absl::Status ExecScript(std::string_view script) override {
    ResultHandle result(PQexec(conn_.get(), std::string(script).c_str()));
    return Check(result.get(), script);
  }

  std::string_view backend() const override { return "postgresql"; }

 protected:
  std::string BeginWrite() const override {
    return fmt::format("BEGIN; SELECT pg_advisory_xact_lock({})", kWriterLock);
  }
  std::string BeginRead() const override {
    return "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
  }

 private:

  absl::Status Check(PGresult* result, std::string_view statement) const {
    const ExecStatusType code = PQresultStatus(result);
    if (code == PGRES_COMMAND_OK || code == PGRES_TUPLES_OK) return absl::OkStatus();
    const std::string message = ConnError(conn_.get());
    const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    const std::string text =
        fmt::format("registry database {}: {} in: {}", Redacted(uri_), message, statement);
    if (PQstatus(conn_.get()) != CONNECTION_OK) return absl::UnavailableError(text);
    if (state != nullptr && std::string_view(state) == "23505") {
      return absl::AlreadyExistsError(text);  // unique_violation
    }
    return absl::InternalError(text);
  }

  absl::Status Run(std::string_view statement, const std::vector<SqlParam>& params,
                   std::vector<SqlRow>* rows) override {
    const std::string numbered = NumberPlaceholders(statement);
    std::vector<std::string> values(params.size());
    std::vector<const char*> pointers(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      const SqlParam& p = params[i];
      if (std::holds_alternative<std::nullptr_t>(p)) continue;
      if (const auto* v = std::get_if<int64_t>(&p)) {
        values[i] = std::to_string(*v);
      } else if (const auto* d = std::get_if<double>(&p)) {
        values[i] = fmt::format("{}", *d);
      } else {
        values[i] = std::get<std::string>(p);
      }
      pointers[i] = values[i].c_str();
    }
    ResultHandle result(PQexecParams(conn_.get(), numbered.c_str(),
                                     static_cast<int>(params.size()), nullptr, pointers.data(),
                                     nullptr, nullptr, 0));
    RETURN_IF_ERROR(Check(result.get(), statement));
    if (rows == nullptr) return absl::OkStatus();
    const int n = PQntuples(result.get());
    const int cols = PQnfields(result.get());
    rows->reserve(static_cast<size_t>(n));
    for (int r = 0; r < n; ++r) {
      SqlRow row;
      for (int c = 0; c < cols; ++c) {
        if (PQgetisnull(result.get(), r, c)) {
          row.columns.emplace_back();
        } else {
          row.columns.emplace_back(std::string(PQgetvalue(result.get(), r, c),
                                               static_cast<size_t>(PQgetlength(result.get(), r, c))));
        }
      }
      rows->push_back(std::move(row));
    }
    return absl::OkStatus();
  }

  ConnHandle conn_;
  std::string uri_;
};

}  // namespace

std::string NumberPlaceholders(std::string_view statement) {
  std::string out;
  out.reserve(statement.size() + 16);
  int next = 1;
  char quote = 0;
  for (const char c : statement) {
    if (quote != 0) {
      if (c == quote) quote = 0;
      out += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      out += c;
    } else if (c == '?') {
      out += '$' + std::to_string(next++);
    } else {
      out += c;
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Database>> OpenPostgresDatabase(const std::string& uri) {
  ConnHandle conn(PQconnectdb(uri.c_str()));
  if (conn == nullptr || PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(fmt::format("cannot connect to the registry database {}: {}",
                                              Redacted(uri), ConnError(conn.get())));
  }
  auto database = std::make_unique<PostgresDatabase>(std::move(conn), uri);
  // Notices (e.g. "relation already exists, skipping") would go to stderr: keep them quiet.
  RETURN_IF_ERROR(database->ExecScript("SET client_min_messages = WARNING"));
  return std::unique_ptr<Database>(std::move(database));
}

}  // namespace fraud
