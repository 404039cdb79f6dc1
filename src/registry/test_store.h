#pragma once

// For tests only: a fresh, empty store on either backend.
//   sqlite:     a file in a temporary directory
//   postgresql: a new database on the server named by $FRAUDSTREAM_TEST_PG (a libpq URI such
//               as postgresql://postgres@127.0.0.1:54329/postgres; scripts/start-postgres.sh
//               starts one and `make check` sets it), dropped again at the end.
// Without $FRAUDSTREAM_TEST_PG a PostgreSQL test fails, saying how to start the server: the
// PostgreSQL tests never skip silently.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/testing.h"
#include "registry/store.h"

namespace fraud {

inline constexpr char kTestPostgresEnv[] = "FRAUDSTREAM_TEST_PG";

class TestStore {
 public:
  // backend: "sqlite" or "postgresql".
  static absl::StatusOr<std::unique_ptr<TestStore>> Create(const std::string& backend);
  ~TestStore();

  const StoreOptions& options() const { return options_; }
  // Opens a new connection (one per process or thread).
  absl::StatusOr<std::unique_ptr<Store>> Open() const { return Store::Open(options_); }
  const ScopedTempDir& dir() const { return dir_; }

 private:
  TestStore() = default;
  ScopedTempDir dir_;
  StoreOptions options_;
  std::string admin_uri_;  // PostgreSQL: where the test database was created from
  std::string database_;   // PostgreSQL: the test database's name
};

// A loadable model artifact under `dir` (ModelArtifact::Load checks the manifest and the
// booster checksum; the registry never parses the booster), different per `tag`, with
// `pad_bytes` of padding in the booster. Returns its path, or "" if it could not be written.
std::string WriteFakeArtifact(const ScopedTempDir& dir, const std::string& tag,
                              size_t pad_bytes = 0);

// `uri` with its database name replaced.
std::string WithDatabase(const std::string& uri, const std::string& database);

}  // namespace fraud
