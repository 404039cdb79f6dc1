#pragma once

// The SQLite driver of registry/database.h: one file, WAL journal (readers never block the
// writer and see the last committed state), a 60 s busy timeout so concurrent writers wait
// for each other instead of failing, write transactions as BEGIN IMMEDIATE.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "registry/database.h"

namespace fraud {

// Opens (creating the file and its directory if needed) the SQLite database at `path`.
absl::StatusOr<std::unique_ptr<Database>> OpenSqliteDatabase(const std::string& path);

}  // namespace fraud
