#pragma once

// The registry's schema and its versioned migrations. The database records the version it is
// at (table schema_version); Migrate() brings an older one up to kSchemaVersion, one
// migration per version, each in its own write transaction, and refuses a database written
// by a newer fraudstream (FailedPrecondition, nothing changed).

#include "absl/status/status.h"
#include "registry/database.h"

namespace fraud {

inline constexpr int kSchemaVersion = 1;

absl::Status Migrate(Database& db);

// The version recorded in the database, 0 for an empty one.
absl::StatusOr<int> SchemaVersionOf(Database& db);

}  // namespace fraud
