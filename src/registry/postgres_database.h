#pragma once

// The PostgreSQL driver of registry/database.h, on libpq (Debian libpq-dev). `?` placeholders
// become $1, $2, ...; writers serialise on a transaction-scoped advisory lock (the same
// one-writer-at-a-time model as SQLite, across every node that shares the database); readers
// run REPEATABLE READ READ ONLY so a read sees one committed snapshot.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "registry/database.h"

namespace fraud {

// `uri` is a libpq connection URI (postgresql://user:password@host:port/dbname?...).
absl::StatusOr<std::unique_ptr<Database>> OpenPostgresDatabase(const std::string& uri);

// "$1"-numbered placeholders for a statement written with `?` (outside quotes).
std::string NumberPlaceholders(std::string_view statement);

}  // namespace fraud
